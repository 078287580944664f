"""Client-chosen ids on creates: a resource an app names itself is made once.

An app that works offline names what it creates (a visit, a worker) with a UUID of
its own, so sending the create again after a lost answer cannot make a second one.
The ``Idempotency-Key`` table forgets after 30 days; an id is remembered as long as
the service keeps it (a row per created resource in ``created_resources``).
"""
