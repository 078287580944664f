from otog_shared.migrations import run_env

from otog_registry.models import Base
from otog_registry.models_registry import register_all

register_all()
run_env(Base.metadata)
