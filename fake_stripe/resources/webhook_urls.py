"""What a webhook endpoint's URL may be: Stripe's rules for its shape (an `http` or `https`
scheme, a host, a port from 1 to 65535) and, on a server others can reach, public destinations
only.

A fake bound beyond loopback would otherwise let anyone who invents a key point an endpoint at a
service inside the network the fake runs in, and read that service's answer back from the
delivery journal (server-side request forgery). Such a server refuses a host that is, or
resolves to, a private, loopback, link-local or otherwise non-global address, unless it was
started with `--allow-private-webhooks`. Stripe refuses such URLs too. The check runs when the
endpoint is registered and again before every attempt, since a name can resolve differently
later (the attempt then connects to the very address it checked).
"""

from __future__ import annotations

import ipaddress
import socket
import threading
from urllib.parse import SplitResult, urlsplit

from ..core.errors import invalid_param

PORTS = (1, 65535)
# At registration a name is looked up for at most this long, by at most LOOKUPS threads at once
# (a resolver that never answers holds its thread until the system gives up); a name that does
# not resolve by then, or finds no thread free, is accepted and checked before every attempt.
LOOKUP_SECONDS = 1.0
LOOKUPS = 4
_lookups = threading.BoundedSemaphore(LOOKUPS)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_CONTROL = frozenset(map(chr, [*range(0x21), 0x7F]))  # controls and the space


def split(value: str) -> SplitResult:
    """The URL's parts, or a 400 naming `url` when Stripe would refuse its shape."""
    try:
        parts = urlsplit(value)
        hostname, port = parts.hostname, parts.port
    except ValueError as exc:  # an unbalanced IPv6 bracket, a port that is not a number
        if "port" in str(exc).lower():
            raise _bad_port() from None
        hostname = port = None
        parts = urlsplit("")
    if parts.scheme not in ("http", "https") or not hostname:
        raise invalid_param(
            "url", "Invalid URL: An explicit scheme (such as https) must be provided."
        )
    if port is not None and not PORTS[0] <= port <= PORTS[1]:
        raise _bad_port()
    if _CONTROL.intersection(value):
        # GUESS: Stripe's wording for a URL with spaces or control characters is not recorded.
        raise invalid_param("url", "Invalid URL: it contains spaces or control characters.")
    return parts


def _bad_port() -> Exception:
    # GUESS: Stripe's wording for a port out of range is not recorded.
    return invalid_param("url", f"Invalid URL: the port must be from {PORTS[0]} to {PORTS[1]}.")


def is_public(address: str) -> bool:
    """Whether an IP address is one the public internet routes to (IPv6 forms that carry an
    IPv4 address are judged by it)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if embedded is None and ip in _NAT64:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None:
            ip = embedded
    return ip.is_global and not ip.is_multicast


def private_refusal(host: str, addresses: list[str]) -> str | None:
    """Why a server open beyond loopback does not send to `host`, or None."""
    bad = next((a for a in addresses if not is_public(a)), None)
    if bad is None:
        return None
    shown = host if bad == host else f"{host} ({bad})"
    return (
        f"{shown} is a private, loopback or link-local address; this server sends webhooks to "
        "public addresses only (fake-stripe serve --allow-private-webhooks lifts this)"
    )


def check_public(parts: SplitResult) -> None:
    """At registration: a 400 naming `url` when its host is, or resolves to, an address that is
    not public (see the module's docstring). A name that does not resolve in time passes."""
    host = parts.hostname or ""
    try:
        addresses = [str(ipaddress.ip_address(host))]
    except ValueError:
        addresses = _lookup(host, parts.port or (443 if parts.scheme == "https" else 80))
    reason = private_refusal(host, addresses)
    if reason is not None:
        # GUESS: Stripe refuses loopback and private hosts; its exact wording is not recorded.
        raise invalid_param("url", f"Invalid URL: URL must be publicly accessible: {reason}.")


def _lookup(host: str, port: int) -> list[str]:
    """The addresses `host` resolves to, waiting at most LOOKUP_SECONDS; none when it does not
    resolve in time or LOOKUPS lookups are already under way."""
    if not _lookups.acquire(blocking=False):
        return []
    found: list[str] = []
    done = threading.Event()

    def run() -> None:
        try:
            found.extend(str(info[4][0]) for info in socket.getaddrinfo(host, port))
        except (OSError, UnicodeError):
            pass
        finally:
            _lookups.release()
            done.set()

    threading.Thread(target=run, name="fake-stripe-lookup", daemon=True).start()
    return list(found) if done.wait(LOOKUP_SECONDS) else []
