"""The authorization endpoint: the sign-in page people see in their app's browser tab
(RFC 6749 §4.1.1, RFC 8252), and its form posting back to the same address."""

from __future__ import annotations

import ipaddress
import secrets
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from otog_shared.db import DbSession

from otog_registry.audit.service import AuditLog
from otog_registry.oauth.authorization import (
    AuthorizationRequest,
    AuthorizationService,
    NoSafeRedirect,
    RedirectError,
)
from otog_registry.oauth.pages import (
    CSRF_COOKIE,
    TEXTS,
    CsrfTokens,
    choose_language,
    render,
    security_headers,
    switch_url,
)
from otog_registry.oauth.redirects import form_action_source
from otog_registry.oauth.repository import ApiClientRepository, AuthorizationCodeRepository
from otog_registry.oauth.schemas import SignInForm
from otog_registry.settings import RegistrySettings
from otog_registry.users.repository import SignInAddressRepository, UserRepository
from otog_registry.users.service import SignInPolicy, SignInResult, UserService

router = APIRouter(prefix="/v1/oauth", tags=["auth"])

_QUERY_DOC = [
    {
        "name": name,
        "in": "query",
        "required": required,
        "schema": {"type": "string"},
        "description": doc,
    }
    for name, required, doc in [
        ("response_type", True, "`code`."),
        ("client_id", True, "The app's client id (a public client)."),
        ("redirect_uri", True, "One of the app's registered redirect URIs, exactly."),
        ("scope", False, "Space-separated scopes; default: all of the app's."),
        ("state", False, "Returned unchanged with the code (CSRF protection for the app)."),
        ("code_challenge", True, "BASE64URL(SHA-256(code_verifier)), 43 characters."),
        ("code_challenge_method", True, "`S256` (`plain` is refused)."),
        ("lang", False, "`th` or `en`; otherwise from `Accept-Language`."),
    ]
]

HTML_RESPONSES: dict[int | str, dict[str, object]] = {
    200: {"description": "The sign-in page.", "content": {"text/html": {}}},
    302: {"description": "Back to the app: `redirect_uri?code=…&state=…`, or `?error=…`."},
    400: {
        "description": "An error page: unknown app or unregistered redirect URI (never "
        "redirected to), or the form was refused.",
        "content": {"text/html": {}},
    },
    429: {
        "description": "The sign-in page again: too many failures, wait.",
        "content": {"text/html": {}},
    },
}


def client_address(request: Request, trusted_proxies: list[str]) -> str:
    """The browser's address: the peer, or behind the gateway the last address it
    appended to X-Forwarded-For (earlier entries are whatever the client sent)."""
    peer = request.client.host if request.client else "unknown"
    if peer in trusted_proxies:
        forwarded = request.headers.get("x-forwarded-for", "")
        last = forwarded.rsplit(",", 1)[-1].strip()
        try:
            return str(ipaddress.ip_address(last))
        except ValueError:
            return peer
    return peer


class SignInPage:
    """Per request: the services, the language and the page's nonce."""

    def __init__(self, request: Request, session: DbSession) -> None:
        self.request = request
        settings: RegistrySettings = request.app.state.settings
        self.settings = settings
        audit = AuditLog(session)
        self.authorization = AuthorizationService(
            ApiClientRepository(session),
            AuthorizationCodeRepository(session),
            audit,
            code_ttl_seconds=settings.authorization_code_ttl_seconds,
        )
        self.users = UserService(
            UserRepository(session),
            SignInAddressRepository(session),
            audit,
            request.app.state.passwords,
            SignInPolicy.from_settings(settings),
        )
        self.csrf: CsrfTokens = request.app.state.csrf_tokens
        self.params = list(request.query_params.multi_items())
        self.lang = choose_language(
            request.query_params.get("lang"), request.headers.get("accept-language")
        )
        self.nonce = secrets.token_urlsafe(16)

    def _page(
        self, template: str, status: int, form_targets: list[str], **context: object
    ) -> HTMLResponse:
        html = render(
            template,
            lang=self.lang,
            nonce=self.nonce,
            switch_url=switch_url(self.request.url.path, self.params, self.lang),
            **context,
        )
        return HTMLResponse(
            html, status_code=status, headers=security_headers(self.nonce, form_targets)
        )

    def error_page(self, reason: str) -> HTMLResponse:
        return self._page("error.html", 400, [], message=TEXTS[self.lang][reason])

    def sign_in_page(
        self,
        auth: AuthorizationRequest,
        *,
        status: int = 200,
        error: str | None = None,
        username: str = "",
        headers: dict[str, str] | None = None,
    ) -> HTMLResponse:
        cookie = self.csrf.new_cookie()
        query = self.request.url.query
        response = self._page(
            "signin.html",
            status,
            [form_action_source(auth.redirect_uri)],
            action=self.request.url.path + ("?" + query if query else ""),
            csrf_token=self.csrf.field_for(cookie),
            app_name=auth.client.name,
            scopes=auth.scopes,
            error=error,
            username=username,
        )
        response.headers.update(headers or {})
        response.set_cookie(
            CSRF_COOKIE,
            cookie,
            max_age=3600,
            path=self.request.url.path,
            secure=self.settings.public_base_url.startswith("https://"),
            httponly=True,
            samesite="strict",
        )
        return response


def _back_to_app(redirect_uri: str, params: dict[str, str]) -> RedirectResponse:
    separator = "&" if "?" in redirect_uri else "?"
    return RedirectResponse(
        redirect_uri + separator + urlencode(params),
        status_code=302,
        headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
    )


def _refusal(exc: RedirectError) -> RedirectResponse:
    params = {"error": exc.error, "error_description": exc.description}
    if exc.state is not None:
        params["state"] = exc.state
    return _back_to_app(exc.redirect_uri, params)


Page = Annotated[SignInPage, Depends(SignInPage)]


@router.get(
    "/authorize",
    summary="Sign-in page (authorization code + PKCE)",
    response_class=HTMLResponse,
    responses=HTML_RESPONSES,
    openapi_extra={"parameters": _QUERY_DOC},
)
async def authorize(page: Page) -> Response:
    """Shows the sign-in page (Thai or English) for an app's authorization request
    (RFC 6749 §4.1.1 with PKCE S256, RFC 7636). Open it in the system browser or an
    in-app browser tab, never in a web view the app controls (RFC 8252). After a
    successful sign-in the browser goes to `redirect_uri?code=…&state=…`."""
    try:
        auth = await page.authorization.validate(page.params)
    except NoSafeRedirect as exc:
        return page.error_page(exc.reason)
    except RedirectError as exc:
        return _refusal(exc)
    return page.sign_in_page(auth)


@router.post(
    "/authorize",
    summary="Submit the sign-in form",
    response_class=HTMLResponse,
    responses=HTML_RESPONSES,
    openapi_extra={"parameters": _QUERY_DOC},
)
async def authorize_submit(
    page: Page, request: Request, form: Annotated[SignInForm, Form()]
) -> Response:
    """The sign-in form posts here with the authorization request's query string.
    Failures re-show the page; repeated failures make the next attempt wait (per
    account and per client address), then lock the account for a while."""
    try:
        auth = await page.authorization.validate(page.params)
    except NoSafeRedirect as exc:
        return page.error_page(exc.reason)
    except RedirectError as exc:
        return _refusal(exc)
    username = (form.username or "")[:64]
    password = (form.password or "")[:1024]
    if not page.csrf.check(request.cookies.get(CSRF_COOKIE), form.csrf_token):
        return page.sign_in_page(auth, status=400, error=page_text(page, "csrf"), username=username)
    if not username or not password:
        return page.sign_in_page(
            auth, status=400, error=page_text(page, "invalid"), username=username
        )

    address = client_address(request, page.settings.trusted_proxies)
    outcome = await page.users.sign_in(
        username, password, address=address, app_client_id=auth.client.client_id
    )
    if outcome.result is SignInResult.SIGNED_IN:
        assert outcome.user is not None
        code = await page.authorization.issue_code(auth, outcome.user)
        params = {"code": code}
        if auth.state is not None:
            params["state"] = auth.state
        response = _back_to_app(auth.redirect_uri, params)
        response.delete_cookie(CSRF_COOKIE, path=request.url.path)
        return response
    if outcome.result is SignInResult.WAIT:
        return page.sign_in_page(
            auth,
            status=429,
            error=page_text(page, "wait") % outcome.retry_after,
            username=username,
            headers={"Retry-After": str(outcome.retry_after)},
        )
    if outcome.result is SignInResult.LOCKED:
        minutes = max(1, (outcome.retry_after + 59) // 60)
        return page.sign_in_page(
            auth,
            status=429,
            error=page_text(page, "locked") % minutes,
            username=username,
            headers={"Retry-After": str(outcome.retry_after)},
        )
    return page.sign_in_page(auth, status=400, error=page_text(page, "invalid"), username=username)


def page_text(page: SignInPage, key: str) -> str:
    return TEXTS[page.lang][key]
