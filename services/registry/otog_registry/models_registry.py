"""Imports every domain's models so that ``Base.metadata`` is complete
(Alembic's env, tests that compare the schema with the migrations)."""

from __future__ import annotations


def register_all() -> None:
    from otog_registry import idempotency as _idempotency  # noqa: F401
    from otog_registry.audit import models as _audit  # noqa: F401
    from otog_registry.events import models as _events  # noqa: F401
    from otog_registry.expiry import models as _expiry  # noqa: F401
    from otog_registry.geography import models as _geography  # noqa: F401
    from otog_registry.groups import models as _groups  # noqa: F401
    from otog_registry.market import models as _market  # noqa: F401
    from otog_registry.oauth import models as _oauth  # noqa: F401
    from otog_registry.products import models as _products  # noqa: F401
    from otog_registry.stats import models as _stats  # noqa: F401
    from otog_registry.users import models as _users  # noqa: F401
    from otog_registry.visits import models as _visits  # noqa: F401
    from otog_registry.webhooks import models as _webhooks  # noqa: F401
    from otog_registry.workers import models as _workers  # noqa: F401
