"""Request-scoped context shared by logging, errors and the HTTP client."""

from contextvars import ContextVar

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)
client_id_var: ContextVar[str | None] = ContextVar("client_id", default=None)
# The person behind the call when a token names one: "user:<id>" (an officer signed in
# through an app) or "worker:<id>" (a worker with the national digital ID); the client
# above is then the app. The audit trail records both.
person_var: ContextVar[str | None] = ContextVar("person", default=None)
