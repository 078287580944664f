"""Which redirect URIs an app may register (RFC 8252 §7, RFC 9700 §4.1).

Claimed `https` URIs, loopback `http` URIs (127.0.0.1, [::1], localhost) and
private-use schemes in reverse-domain form (`th.go.mol.otog:/callback`). No
fragments, no wildcards: at the authorization endpoint the URI must equal a
registered one character for character.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

# As urlsplit reports them (brackets of an IPv6 address removed).
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})
PRIVATE_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*\.[a-z0-9+.-]+$")


def redirect_uri_problem(uri: str) -> str | None:
    """Why ``uri`` cannot be registered, or None when it can."""
    if len(uri) > 2000:
        return "longer than 2000 characters"
    try:
        parts = urlsplit(uri)
    except ValueError:
        return "not a URI"
    if parts.fragment or "#" in uri:
        return "must not have a fragment"
    scheme = parts.scheme.lower()
    if scheme == "https":
        return None if parts.hostname else "needs a host"
    if scheme == "http":
        if parts.hostname in LOOPBACK_HOSTS:
            return None
        return "plain http is allowed only to a loopback address"
    if PRIVATE_SCHEME.fullmatch(scheme):
        return None
    return "use https, a loopback http address or a reverse-domain private-use scheme"


def form_action_source(uri: str) -> str:
    """The CSP source that lets the sign-in form's redirect reach ``uri``."""
    parts = urlsplit(uri)
    if parts.scheme in ("http", "https"):
        return f"{parts.scheme}://{parts.netloc}"
    return f"{parts.scheme}:"
