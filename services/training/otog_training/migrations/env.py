from otog_shared.migrations import run_env

import otog_training.courses.models
import otog_training.enrollments.models
import otog_training.idempotency
import otog_training.sessions.models  # noqa: F401  (registers the tables on the metadata)
from otog_training.models import Base

run_env(Base.metadata)
