"""Where webhooks may be sent: refusing targets inside our own network (SSRF).

A partner chooses the URL, so a URL naming an internal address would let anyone with a
token make the registry POST to the database host, the cloud metadata service
(169.254.169.254) or a service bound to loopback. Every address a host name resolves to
must be globally routable; loopback is allowed only when the deployment allows it (a
development stack), and plain ``http`` only to loopback. The check runs when a
subscription is written and again at every delivery, and the connection is made to an
address that was checked (:class:`otog_registry.webhooks.client.DeliveryClient`), so a
name that resolves differently between the check and the connection (DNS rebinding)
gains nothing.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

MAX_URL_LENGTH = 2000


class TargetRefused(Exception):
    """The target is not allowed (permanent until the subscription's URL changes)."""


class TargetUnresolvable(Exception):
    """The host name does not resolve right now (may be temporary)."""


@dataclass(frozen=True)
class TargetPolicy:
    allow_loopback: bool = False
    # Fixed answers for host names, consulted before DNS (lower-case names).
    resolve: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @classmethod
    def of(cls, allow_loopback: bool, resolve: Mapping[str, Iterable[str]]) -> TargetPolicy:
        return cls(allow_loopback, {k.lower(): tuple(v) for k, v in resolve.items()})


def address_refusal(ip: IPAddress, policy: TargetPolicy) -> str | None:
    """Why an address may not be a webhook target, or None when it may."""
    if isinstance(ip, ipaddress.IPv6Address):
        # Addresses that carry an IPv4 address can reach it through a translator;
        # refuse them whole rather than guess what the embedded address reaches.
        if ip.ipv4_mapped is not None:
            return f"{ip} is an IPv4-mapped IPv6 address"
        if ip.sixtofour is not None or ip.teredo is not None:
            return f"{ip} is a 6to4 or Teredo address"
        if ip in _NAT64:
            return f"{ip} is a NAT64 address"
    if ip.is_loopback:
        return None if policy.allow_loopback else f"{ip} is a loopback address"
    if ip.is_unspecified:
        return f"{ip} is the unspecified address"
    if ip.is_link_local:
        return f"{ip} is a link-local address (cloud metadata services live there)"
    if ip.is_multicast:
        return f"{ip} is a multicast address"
    if ip.is_private:
        return f"{ip} is a private address"
    if ip.is_reserved:
        return f"{ip} is a reserved address"
    if not ip.is_global:
        return f"{ip} is not globally routable"
    return None


_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def parse_target(url: str, policy: TargetPolicy) -> httpx.URL:
    """The URL's form: https (or http when loopback is allowed), a host, no credentials."""
    if len(url) > MAX_URL_LENGTH:
        raise TargetRefused(f"The URL is longer than {MAX_URL_LENGTH} characters.")
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError) as exc:
        raise TargetRefused("The URL is not valid.") from exc
    if parsed.scheme == "http":
        if not policy.allow_loopback:
            raise TargetRefused("The URL must use https.")
    elif parsed.scheme != "https":
        raise TargetRefused("The URL must use https.")
    if not parsed.host:
        raise TargetRefused("The URL has no host.")
    if parsed.userinfo:
        raise TargetRefused("The URL may not carry a user name or password.")
    if parsed.fragment:
        raise TargetRefused("The URL may not have a fragment.")
    return parsed


async def resolve(host: str, port: int, policy: TargetPolicy) -> list[IPAddress]:
    """Every address ``host`` stands for (an address literal stands for itself)."""
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    pinned = policy.resolve.get(host.lower().rstrip("."))
    if pinned is not None:
        return [ipaddress.ip_address(a) for a in pinned]
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(
            host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
        )
    except (socket.gaierror, UnicodeError) as exc:
        raise TargetUnresolvable(f"{host} does not resolve.") from exc
    addresses: list[IPAddress] = []
    for info in infos:
        ip = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if ip not in addresses:
            addresses.append(ip)
    if not addresses:
        raise TargetUnresolvable(f"{host} does not resolve.")
    return addresses


async def checked_addresses(
    host: str, port: int, policy: TargetPolicy, *, loopback_only: bool = False
) -> list[IPAddress]:
    """The addresses of ``host``, all of them allowed; else TargetRefused.

    Every address must pass, not just one: which of them a connection reaches is
    not ours to choose once the name has several.
    """
    addresses = await resolve(host, port, policy)
    for ip in addresses:
        reason = address_refusal(ip, policy)
        if reason is None and loopback_only and not ip.is_loopback:
            reason = f"{ip} is not a loopback address, and plain http goes only to loopback"
        if reason is not None:
            shown = "" if _is_literal(host) else f"{host} resolves to "
            raise TargetRefused(f"Refused target: {shown}{reason}.")
    return addresses


async def check_target(url: str, policy: TargetPolicy) -> httpx.URL:
    """Form and addresses: what a subscription is checked with and every delivery again."""
    parsed = parse_target(url, policy)
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    await checked_addresses(parsed.host, port, policy, loopback_only=parsed.scheme == "http")
    return parsed


def _is_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True
