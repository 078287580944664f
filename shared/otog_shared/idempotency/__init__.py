"""``Idempotency-Key``: the same key and body give the first response again, once per client."""
