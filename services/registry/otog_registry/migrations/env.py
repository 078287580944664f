from otog_shared.migrations import run_env

from otog_registry.models import Base
from otog_registry.oauth import models as _oauth_models  # noqa: F401  (registers tables)

run_env(Base.metadata)
