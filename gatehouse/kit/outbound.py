"""Every request Gatehouse makes to an address someone typed in (webhook deliveries, SPEC §11; an
identity provider, SPEC §16) goes through here: the SSRF guard, and one HTTP client (aiohttp).

The guard: https only, and every address a name resolves to, checked at each request (not only when
the address was saved), must be public. GATEHOUSE_WEBHOOK_ALLOW_PRIVATE=true (the demo and tests),
or a provider's allow_private, also allows private and loopback addresses and plain http, and
nothing more: link-local (cloud metadata), multicast, reserved and unspecified addresses stay
refused. The request then connects to the very address checked (no second lookup that could answer
differently), while TLS and the Host header still name the host (`pinned`)."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from typing import NamedTuple
from urllib.parse import urlsplit, urlunsplit

IP = ipaddress.IPv4Address | ipaddress.IPv6Address


class Refused(ValueError):
    pass


# The kinds GATEHOUSE_WEBHOOK_ALLOW_PRIVATE lets through; every other non-public kind stays refused.
PRIVATE_KINDS = frozenset({"loopback", "private"})


def _kind(ip: IP) -> tuple[str, str] | None:
    """(kind, why) for an address that is not public, or None. The order matters: 169.254/16 and
    fe80::/10 are also `is_private` in Python, and must be called link-local."""
    if isinstance(ip, ipaddress.IPv6Address):
        for embedded in (ip.ipv4_mapped, ip.sixtofour, ip.teredo[1] if ip.teredo else None):
            if embedded is not None:
                found = _kind(embedded)
                if found:
                    return found[0], f"{found[1]} (inside {ip})"
        if ip in ipaddress.IPv6Network("64:ff9b::/96"):  # NAT64 of an IPv4 address
            found = _kind(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
            if found:
                return found[0], f"{found[1]} (inside {ip})"
    for test, name in ((ip.is_loopback, "loopback"), (ip.is_link_local, "link-local"),
                       (ip.is_multicast, "multicast"), (ip.is_unspecified, "unspecified"),
                       (ip.is_reserved, "reserved"), (ip.is_private, "private")):
        if test:
            return name, f"{ip} is {'an' if name[0] in 'aeiou' else 'a'} {name} address"
    if not ip.is_global:
        return "other", f"{ip} is not a public address"
    return None


def forbidden_reason(ip: IP, *, allow_private: bool = False) -> str | None:
    """Why an address may not be a webhook target, or None if it may."""
    found = _kind(ip)
    if found is None or (allow_private and found[0] in PRIVATE_KINDS):
        return None
    return found[1]


def literal_ip(host: str) -> IP | None:
    """A host written as an address in any form a resolver accepts: 127.0.0.1, 2130706433, 0x7f.1,
    127.1, [::1], ::ffff:127.0.0.1."""
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        pass
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        return None


def check_url(url: str, *, allow_private: bool) -> str | None:
    """At creation/update: the scheme, a host, and a literal address's range. None when fine."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "is not a valid URL"
    if parts.scheme not in (("https", "http") if allow_private else ("https",)):
        return "must be an https URL" if not allow_private else "must be an http(s) URL"
    if not parts.hostname:
        return "must name a host"
    if parts.username or parts.password:
        return "must not carry credentials"
    _ = port
    ip = literal_ip(parts.hostname)
    if ip is not None:
        reason = forbidden_reason(ip, allow_private=allow_private)
        if reason:
            return f"must point to a public address: {reason}"
    return None


async def resolve(host: str, port: int, *, allow_private: bool) -> str:
    """At delivery: resolve now and refuse if ANY address is not public (a name that answers with
    one public and one private address is refused). Returns the address to connect to."""
    ip = literal_ip(host)
    if ip is not None:
        addresses = [ip]
    else:
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except socket.gaierror as exc:
            raise Refused(f"cannot resolve {host}: {exc.strerror}") from None
        addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
    if not addresses:
        raise Refused(f"{host} has no address")
    for address in addresses:
        reason = forbidden_reason(address, allow_private=allow_private)
        if reason:
            raise Refused(f"{host} resolves to a forbidden address: {reason}")
    return str(addresses[0])


class Pinned(NamedTuple):
    """A request's URL with the checked address in place of the name, the Host header that still
    names the host, and the name TLS must verify (None over plain http)."""

    url: str
    host: str
    server_hostname: str | None


async def pinned(url: str, *, allow_private: bool) -> Pinned:
    """`url` resolved and checked now (Refused if any address is not allowed)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    address = await resolve(host, parts.port or (443 if parts.scheme == "https" else 80), allow_private=allow_private)
    netloc = (f"[{address}]" if ":" in address else address) + (f":{parts.port}" if parts.port else "")
    return Pinned(urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, "")),
                  parts.netloc.rsplit("@", 1)[-1], host if parts.scheme == "https" else None)
