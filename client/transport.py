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

import http.client
import io
import ipaddress
import json
import select
import socket
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast
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

    For a loopback base (a fake on this machine) a `LoopbackClient`: one kept-alive connection
    and no proxy (none may carry loopback traffic anyway). It may be kept and reused by one
    thread at a time, and closed from any thread.
    """
    if not is_loopback(url):
        return stripe.new_default_http_client()
    return LoopbackClient(url)


# The SDK's own default for `requests` (`stripe.RequestsClient`).
TIMEOUT = 80.0


class LoopbackClient(stripe.HTTPClient):
    """The SDK's HTTP client on one kept-alive `http.client` connection to a host on this
    machine. `requests`, the SDK's default, costs about 0.4 ms more per call (its session,
    adapters and hooks), several times what a fake on loopback takes to answer; and it would
    read the environment's proxy settings again on each request. A connection the server has
    closed meanwhile (an idle keep-alive connection times out) is replaced before it is used;
    any failure during a request is the SDK's `APIConnectionError`, retried as the SDK retries
    a dropped connection."""

    name = "loopback"

    def __init__(self, url: str, timeout: float = TIMEOUT) -> None:
        super().__init__()
        parts = urlsplit(url)
        self._host = parts.hostname or "127.0.0.1"
        self._port = parts.port or 80
        self._timeout = timeout
        self._conn: http.client.HTTPConnection | None = None
        self._lock = threading.Lock()  # only against `close` from another thread

    def request(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str] | None,
        post_data: Any = None,
        *,
        _usage: list[str] | None = None,
    ) -> tuple[str, int, Mapping[str, str]]:
        content, status, rheaders = self._send(method, url, headers, post_data)
        return content.decode("utf-8", "replace"), status, rheaders

    def request_stream(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str] | None,
        post_data: Any = None,
        *,
        _usage: list[str] | None = None,
    ) -> tuple[Any, int, Mapping[str, str]]:
        """A binary answer (a file download), read whole: a fake's answers are small."""
        content, status, rheaders = self._send(method, url, headers, post_data)
        return io.BytesIO(content), status, rheaders

    def _send(
        self, method: str, url: str, headers: Mapping[str, str] | None, post_data: Any
    ) -> tuple[bytes, int, Mapping[str, str]]:
        parts = urlsplit(url)
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        body = post_data.encode("utf-8") if isinstance(post_data, str) else post_data
        conn = self._connection()
        try:
            conn.request(method.upper(), target, body=body, headers=dict(headers or {}))
            response = conn.getresponse()
            content = response.read()
        except (OSError, http.client.HTTPException) as exc:
            self.close()
            raise stripe.APIConnectionError(  # type: ignore[no-untyped-call]
                f"Unexpected error communicating with {self._host}:{self._port} "
                f"(Network error: {type(exc).__name__}: {exc})",
                should_retry=True,
            ) from exc
        if response.will_close:
            self.close()
        # `http.client`'s headers: case-insensitive, as the SDK reads them (`Request-Id`).
        return content, response.status, cast(Mapping[str, str], response.headers)

    def _connection(self) -> http.client.HTTPConnection:
        with self._lock:
            conn = self._conn
            if conn is not None and conn.sock is not None and _dropped(conn.sock):
                conn.close()
                conn = None
            if conn is None:
                conn = self._conn = http.client.HTTPConnection(
                    self._host, self._port, timeout=self._timeout
                )
            return conn

    def close(self) -> None:
        with self._lock:
            conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()


def _dropped(sock: socket.socket) -> bool:
    """Whether a kept-alive connection can no longer be used: between two answers nothing is
    to be read from it, so anything readable (its end, most often) means the server is done
    with it."""
    try:
        readable, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)
