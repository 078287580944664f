from otog_shared.db import new_metadata
from otog_shared.outbox import outbox_table
from otog_shared.sync.schema import sync_tables
from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    metadata = new_metadata()


outbox = outbox_table(Base.metadata)
sync_changes, sync_horizon = sync_tables(Base.metadata)
