"""How the client reaches Stripe: the official SDK's HTTP client, with a request log.

Every attempt (retries included) is recorded with its idempotency key, status and `Request-Id`:
the merchant's evidence, when something goes wrong, of what was sent and what Stripe answered.
Retrying is the SDK's own job (`max_network_retries`): it sets one `Idempotency-Key` per POST
before its retry loop and resends the same headers on every attempt. When Stripe answers a retry
from its idempotency store (`Idempotent-Replayed: true`), the attempt records the
`Original-Request` it replays: after a response lost on the way back, that is the proof that the
retry returned the object the first attempt created instead of creating a second one.
"""

from __future__ import annotations

import ipaddress
import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import stripe


@dataclass(frozen=True)
class Attempt:
    method: str
    path: str
    idempotency_key: str | None
    status: int | None  # None: the connection failed
    request_id: str | None
    object_id: str | None  # the `id` of a successful response's object
    # A replayed answer (`Idempotent-Replayed: true`): the `Request-Id` of the request whose
    # stored result it is (Stripe's `Original-Request` header); None for a fresh answer.
    original_request: str | None = None


class RequestLog:
    """The attempts one client made, in order (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._attempts: list[Attempt] = []

    def add(self, attempt: Attempt) -> None:
        with self._lock:
            self._attempts.append(attempt)

    def attempts(self, method: str | None = None, path: str | None = None) -> list[Attempt]:
        with self._lock:
            return [
                a
                for a in self._attempts
                if (method is None or a.method == method.upper())
                and (path is None or a.path == path)
            ]


def _object_id(body: Any) -> str | None:
    try:
        data = json.loads(body)
    except (TypeError, ValueError):
        return None
    return data.get("id") if isinstance(data, dict) and isinstance(data.get("id"), str) else None


class RecordingHTTPClient(stripe.HTTPClient):
    """Wraps any `stripe.HTTPClient`; the retry policy is the SDK's.

    `retry_time_scale` multiplies the SDK's back-off between retries (0.5 s, 1 s, ... with
    jitter): 1 keeps the SDK's delays; a test harness against the fake passes a small scale, as
    it does for the fake's webhook retries, so a retried 500 costs milliseconds, not seconds.
    """

    name = "recording"

    def __init__(
        self, inner: stripe.HTTPClient, log: RequestLog, retry_time_scale: float = 1.0
    ) -> None:
        super().__init__()
        self.inner = inner
        self.log = log
        self.retry_time_scale = retry_time_scale

    def _sleep_time_seconds(self, num_retries: int) -> float:
        # The SDK's retry loop asks its HTTP client how long to sleep before each retry.
        return float(super()._sleep_time_seconds(num_retries)) * self.retry_time_scale

    def request(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str] | None,
        post_data: Any = None,
        *,
        _usage: list[str] | None = None,
    ) -> tuple[Any, int, Mapping[str, str]]:
        sent = {k.lower(): v for k, v in (headers or {}).items()}
        path = urlsplit(url).path
        try:
            body, status, rheaders = self.inner.request(method, url, headers, post_data)
        except stripe.APIConnectionError:
            self.log.add(
                Attempt(method.upper(), path, sent.get("idempotency-key"), None, None, None)
            )
            raise
        lower = {k.lower(): v for k, v in rheaders.items()}
        self.log.add(
            Attempt(
                method.upper(),
                path,
                sent.get("idempotency-key"),
                status,
                lower.get("request-id"),
                _object_id(body) if 200 <= status < 300 else None,
                lower.get("original-request")
                if lower.get("idempotent-replayed", "").lower() == "true"
                else None,
            )
        )
        return body, status, rheaders

    def close(self) -> None:
        self.inner.close()  # type: ignore[no-untyped-call]


def is_loopback(url: str) -> bool:
    """Whether `url` names this machine (`localhost`, 127.0.0.0/8, ::1)."""
    host = urlsplit(url).hostname or ""
    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:  # a name other than localhost: it may resolve anywhere
        return False


def http_client_for(url: str) -> stripe.HTTPClient:
    """The SDK's HTTP client for a base URL: the SDK's default for Stripe itself (or any remote
    host), where the environment's proxy settings apply as the SDK means them to.

    For a loopback base (a fake on this machine) a `requests` session that ignores the
    environment (`trust_env` off): no proxy may carry loopback traffic anyway, and `requests`
    otherwise reads every proxy variable of the environment again on each request. That client
    may be kept and reused (by one thread at a time) for its connection pool, and closed from
    any thread.
    """
    if not is_loopback(url):
        return stripe.new_default_http_client()
    import requests

    session = requests.Session()
    session.trust_env = False
    return _SessionClient(session=session)


class _SessionClient(stripe.RequestsClient):
    """`stripe.RequestsClient` on one given session, which `close` closes whatever the thread
    (the SDK's own `close` reaches only the calling thread's session)."""

    def __init__(self, session: Any) -> None:
        super().__init__(session=session)
        self._own_session = session

    def close(self) -> None:
        self._own_session.close()
