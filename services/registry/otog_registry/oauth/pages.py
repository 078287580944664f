"""The sign-in page: Thai and English texts, language choice, rendering, the CSRF
token and the headers that keep the page out of caches and frames."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from jinja2 import Environment, FileSystemLoader, select_autoescape

LANGUAGES = ("th", "en")

TEXTS: dict[str, dict[str, str]] = {
    "th": {
        "title": "เข้าสู่ระบบ — OTOG",
        "heading": "เข้าสู่ระบบ",
        "programme": "หนึ่งตำบล หนึ่งกลุ่มอาชีพอิสระ · กระทรวงแรงงาน",
        "app_asks": "แอป “%s” ขอเข้าถึงข้อมูลในนามของคุณ",
        "username": "ชื่อผู้ใช้",
        "password": "รหัสผ่าน",
        "submit": "เข้าสู่ระบบ",
        "switch": "English",
        "footer": "อย่าเปิดเผยรหัสผ่านแก่ผู้ใด เจ้าหน้าที่จะไม่ขอรหัสผ่านของคุณ",
        "invalid": "ชื่อผู้ใช้หรือรหัสผ่านไม่ถูกต้อง",
        "wait": "ลองผิดหลายครั้งเกินไป กรุณารอ %d วินาทีแล้วลองใหม่",
        "locked": "บัญชีถูกล็อกชั่วคราวเพราะใส่รหัสผ่านผิดหลายครั้ง ลองใหม่ในอีก %d นาที",
        "csrf": "แบบฟอร์มหมดอายุ กรุณาลองอีกครั้ง",
        "error_heading": "ไม่สามารถเข้าสู่ระบบได้",
        "error_advice": "กรุณากลับไปที่แอปแล้วเริ่มใหม่ หากยังไม่ได้ โปรดแจ้งผู้พัฒนาแอป",
        "missing_client": "คำขอไม่ระบุแอป (client_id)",
        "unknown_client": "ไม่รู้จักแอปนี้ หรือแอปถูกระงับ",
        "missing_redirect_uri": "คำขอไม่ระบุที่อยู่สำหรับส่งกลับ (redirect_uri)",
        "unregistered_redirect_uri": "ที่อยู่สำหรับส่งกลับ (redirect_uri) ไม่ได้ลงทะเบียนไว้กับแอปนี้",
    },
    "en": {
        "title": "Sign in — OTOG",
        "heading": "Sign in",
        "programme": "One Tambon, One Independent Occupation Group · Ministry of Labour",
        "app_asks": "The app “%s” asks to act on your behalf",
        "username": "Username",
        "password": "Password",
        "submit": "Sign in",
        "switch": "ภาษาไทย",
        "footer": "Never tell anyone your password. Staff will never ask for it.",
        "invalid": "The username or password is wrong.",
        "wait": "Too many failed attempts. Wait %d seconds and try again.",
        "locked": "The account is locked for a while after repeated failures. "
        "Try again in %d minutes.",
        "csrf": "The form expired. Please try again.",
        "error_heading": "Sign-in is not possible",
        "error_advice": "Go back to the app and start again. If it keeps happening, "
        "tell the app's developer.",
        "missing_client": "The request does not name an app (client_id).",
        "unknown_client": "This app is unknown or disabled.",
        "missing_redirect_uri": "The request does not say where to return (redirect_uri).",
        "unregistered_redirect_uri": "The return address (redirect_uri) is not registered "
        "for this app.",
    },
}

CSRF_COOKIE = "otog_signin_csrf"
CSRF_FIELD = "csrf_token"
# A page left open longer than this must be reloaded before it can be submitted.
CSRF_MAX_AGE_SECONDS = 3600

_templates = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html"]),
    auto_reload=False,
)


def choose_language(explicit: str | None, accept_language: str | None) -> str:
    """``lang`` from the switch link wins; otherwise the browser's preference between
    Thai and English (RFC 9110 q-values); Thai when it names neither."""
    if explicit in LANGUAGES:
        return str(explicit)
    best, best_q = "th", 0.0
    for part in (accept_language or "").split(","):
        tag, _, params = part.strip().partition(";")
        primary = tag.strip().lower().split("-")[0]
        if primary not in LANGUAGES:
            continue
        q = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if q > best_q:
            best, best_q = primary, q
    return best


class CsrfTokens:
    """Double submit with a signed token: the cookie holds a random value with its
    time; the form's hidden field holds its HMAC under a server key. A forged form
    from another site can neither read the cookie nor compute the field, and the
    cookie is SameSite=Strict besides."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    def new_cookie(self) -> str:
        return f"{int(time.time())}.{secrets.token_urlsafe(24)}"

    def field_for(self, cookie: str) -> str:
        mac = hmac.new(self._key, cookie.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()

    def check(self, cookie: str | None, field: str | None) -> bool:
        if not cookie or not field:
            return False
        issued, _, _ = cookie.partition(".")
        if not issued.isdigit() or time.time() - int(issued) > CSRF_MAX_AGE_SECONDS:
            return False
        return hmac.compare_digest(self.field_for(cookie), field)


def switch_url(path: str, params: list[tuple[str, str]], lang: str) -> str:
    other = "en" if lang == "th" else "th"
    kept = [(k, v) for k, v in params if k != "lang"]
    return path + "?" + urlencode([*kept, ("lang", other)])


def render(template: str, *, lang: str, nonce: str, **context: Any) -> str:
    return _templates.get_template(template).render(
        lang=lang,
        other_lang="en" if lang == "th" else "th",
        t=TEXTS[lang],
        nonce=nonce,
        **context,
    )


def security_headers(nonce: str, form_targets: list[str]) -> dict[str, str]:
    """No caching (the page holds a CSRF token), no framing (clickjacking), nothing
    loaded from elsewhere; the form may post here and its redirect reach the app."""
    csp = "; ".join(
        [
            "default-src 'none'",
            f"style-src 'nonce-{nonce}'",
            "form-action " + " ".join(["'self'", *form_targets]),
            "frame-ancestors 'none'",
            "base-uri 'none'",
        ]
    )
    return {
        "Cache-Control": "no-store",
        "Pragma": "no-cache",
        "X-Frame-Options": "DENY",
        "Content-Security-Policy": csp,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
    }
