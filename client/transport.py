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

import io
import ipaddress
import json
import re
import select
import socket
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
    """The SDK's HTTP client on one kept-alive HTTP/1.1 connection to a host on this machine.

    `requests`, the SDK's default, costs about 0.4 ms more per call (its session, adapters and
    hooks), several times what a fake on loopback takes to answer, and reads the environment's
    proxy settings again on each request; `http.client` parses each answer's head with the
    `email` package (about 0.1 ms). This client writes the request and reads the answer on the
    socket itself: a status line, headers, and a body of `Content-Length` bytes, in chunks
    (`Transfer-Encoding: chunked`), or up to the end of the connection. A connection the server
    has closed meanwhile (an idle keep-alive connection times out) is replaced before it is
    used; any failure during a request is the SDK's `APIConnectionError`, retried as the SDK
    retries a dropped connection."""

    name = "loopback"

    def __init__(self, url: str, timeout: float = TIMEOUT) -> None:
        super().__init__()
        parts = urlsplit(url)
        self._host = parts.hostname or "127.0.0.1"
        self._port = parts.port or 80
        self._timeout = timeout
        self._sock: socket.socket | None = None
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
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        body = post_data.encode("utf-8") if isinstance(post_data, str) else post_data or b""
        verb = method.upper()
        head = _request_head(verb, target, f"{self._host}:{self._port}", headers or {}, body)
        sock = self._socket()
        try:
            sock.sendall(head + body if len(body) < 65536 else head)
            if len(body) >= 65536:
                sock.sendall(body)
            status, rheaders, content, keep = _Answer(sock).read(verb)
        except (OSError, ValueError) as exc:
            self.close()
            raise self._failed(exc) from exc
        if not keep:
            self.close()
        return content, status, rheaders

    def _socket(self) -> socket.socket:
        with self._lock:
            sock = self._sock
            if sock is not None and _dropped(sock):
                sock.close()
                sock = None
            if sock is None:
                try:
                    sock = socket.create_connection((self._host, self._port), self._timeout)
                except OSError as exc:
                    raise self._failed(exc) from exc
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                self._sock = sock
            return sock

    def _failed(self, exc: Exception) -> stripe.APIConnectionError:
        """The SDK's error for a connection that failed: it retries it as a dropped one."""
        return stripe.APIConnectionError(  # type: ignore[no-untyped-call]
            f"Unexpected error communicating with {self._host}:{self._port} "
            f"(Network error: {type(exc).__name__}: {exc})",
            should_retry=True,
        )

    def close(self) -> None:
        with self._lock:
            sock, self._sock = self._sock, None
        if sock is not None:
            sock.close()


# What an answer's head may hold, at most; a larger one is a broken server.
MAX_ANSWER_HEAD = 64 * 1024
_FORBIDDEN = re.compile(r"[\r\n\0]")


def _request_head(
    verb: str, target: str, host: str, headers: Mapping[str, str], body: bytes
) -> bytes:
    lines = [f"{verb} {target} HTTP/1.1", f"Host: {host}"]
    for name, value in headers.items():
        name, value = str(name), str(value)
        if _FORBIDDEN.search(name) or _FORBIDDEN.search(value) or not name:
            raise ValueError(f"invalid header {name!r}")  # as `http.client` refuses it
        if name.lower() not in ("host", "content-length"):
            lines.append(f"{name}: {value}")
    if body or verb in ("POST", "PUT", "PATCH"):
        lines.append(f"Content-Length: {len(body)}")
    if _FORBIDDEN.search(target) or " " in target:
        raise ValueError(f"invalid request target {target!r}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


class Headers(dict[str, str]):
    """An answer's headers, looked up case-insensitively (the SDK reads `Request-Id`)."""

    def __getitem__(self, name: str) -> str:
        return super().__getitem__(name.lower())

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and super().__contains__(name.lower())

    def get(self, name: str, default: Any = None) -> Any:
        return super().get(name.lower(), default)


class _Answer:
    """Reads one HTTP/1.1 answer from a socket."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buf = b""

    def _more(self) -> None:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("the server closed the connection before its answer ended")
        self.buf += chunk

    def _line(self) -> bytes:
        while (end := self.buf.find(b"\r\n")) < 0:
            if len(self.buf) > MAX_ANSWER_HEAD:
                raise ValueError("a line of the answer is too long")
            self._more()
        line, self.buf = self.buf[:end], self.buf[end + 2 :]
        return line

    def _take(self, n: int) -> bytes:
        while len(self.buf) < n:
            self._more()
        taken, self.buf = self.buf[:n], self.buf[n:]
        return taken

    def read(self, verb: str) -> tuple[int, Headers, bytes, bool]:
        """(status, headers, body, whether the connection may be used again)."""
        while True:
            while (end := self.buf.find(b"\r\n\r\n")) < 0:
                if len(self.buf) > MAX_ANSWER_HEAD:
                    raise ValueError("the answer's head is too long")
                self._more()
            lines = self.buf[:end].decode("latin-1").split("\r\n")
            self.buf = self.buf[end + 4 :]
            version, _, rest = lines[0].partition(" ")
            if not version.startswith("HTTP/1."):
                raise ValueError(f"not an HTTP/1.x answer: {lines[0][:80]!r}")
            status = int(rest[:3])
            headers = Headers()
            for line in lines[1:]:
                name, sep, value = line.partition(":")
                if not sep:
                    raise ValueError(f"a malformed header line: {line[:80]!r}")
                key = name.strip().lower()
                value = value.strip()
                headers[key] = f"{headers[key]}, {value}" if key in headers else value
            if not 100 <= status < 200:
                break  # an interim answer (100 Continue) is followed by the real one
        connection = headers.get("connection", "").lower()
        keep = "close" not in connection and (version != "HTTP/1.0" or "keep-alive" in connection)
        if verb == "HEAD" or status in (204, 304):
            content = b""
        elif "chunked" in headers.get("transfer-encoding", "").lower():
            content = self._chunked()
        elif "content-length" in headers:
            length = int(headers["content-length"])
            if length < 0:
                raise ValueError(f"a negative Content-Length: {length}")
            content = self._take(length)
        else:  # the body runs to the end of the connection
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    break
                self.buf += chunk
            content, self.buf, keep = self.buf, b"", False
        if self.buf:
            keep = False  # more than the answer: do not trust the connection again
        return status, headers, content, keep

    def _chunked(self) -> bytes:
        parts: list[bytes] = []
        while True:
            size = int(self._line().split(b";", 1)[0].strip() or b"x", 16)
            if size == 0:
                while self._line():  # trailers, up to an empty line
                    pass
                return b"".join(parts)
            parts.append(self._take(size))
            if self._take(2) != b"\r\n":
                raise ValueError("a chunk does not end with CRLF")


def _dropped(sock: socket.socket) -> bool:
    """Whether a kept-alive connection can no longer be used: between two answers nothing is
    to be read from it, so anything readable (its end, most often) means the server is done
    with it."""
    try:
        readable, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)
