"""Delta sync for apps that work offline: ``GET /v1/sync/{collection}``.

:mod:`~otog_shared.sync.schema` creates each service's change log and the triggers that
fill it, :mod:`~otog_shared.sync.service` reads pages of it and compacts it,
:mod:`~otog_shared.sync.http` adds one operation per collection to a service's router.
"""
