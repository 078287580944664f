from otog_shared.migrations import run_env

from otog_training.models import Base

run_env(Base.metadata)
