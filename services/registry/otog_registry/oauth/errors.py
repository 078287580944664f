"""OAuth errors (RFC 6749 §5.2) as problem details: the body carries both forms,
`type`/`title`/`status`/`detail` and `error`/`error_description`, so OAuth client
libraries and problem+json readers both understand it."""

from __future__ import annotations

from typing import Any, ClassVar

from otog_shared.errors import ProblemError


class OAuthProblem(ProblemError):
    status, slug, title = 400, "invalid-request", "Invalid Request"
    error: ClassVar[str] = "invalid_request"

    def __init__(
        self,
        detail: str,
        *,
        keeps_changes: bool = False,
        error: str | None = None,
        **extra: Any,
    ) -> None:
        # ``error`` may be named by the caller, as the older classes required; it can only
        # repeat the class's own code.
        super().__init__(detail, error=error or self.error, error_description=detail, **extra)
        # The refusal itself changed something that must stay (a code now spent, a
        # token family revoked): the endpoint answers it without rolling back.
        self.keeps_changes = keeps_changes


class InvalidRequest(OAuthProblem):
    pass


class InvalidClient(OAuthProblem):
    status, slug, title = 401, "invalid-client", "Invalid Client"
    error = "invalid_client"


class InvalidGrant(OAuthProblem):
    status, slug, title = 400, "invalid-grant", "Invalid Grant"
    error = "invalid_grant"


class InvalidScope(OAuthProblem):
    status, slug, title = 400, "invalid-scope", "Invalid Scope"
    error = "invalid_scope"


class UnsupportedGrantType(OAuthProblem):
    status, slug, title = 400, "unsupported-grant-type", "Unsupported Grant Type"
    error = "unsupported_grant_type"
