"""Where scenarios run: the fake as an app in-process, or at a base URL (`served` starts one)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import stripe

from . import DEFAULT_RETRY_TIME_SCALE
from .relink_client import RelinkClient, http_client_for, is_loopback


@dataclass
class Target:
    """Where the fake runs: an ASGI app (in-process, no socket) or a base URL.

    In-process, every scenario shares one HTTP client (`http_client`). At a URL, each worker
    thread keeps its own for a loopback URL (`http_client_for`) for all the scenarios it plays,
    so connections are reused from one scenario to the next; `close` closes them all.
    """

    app: Any = None
    url: str | None = None
    http_client: stripe.HTTPClient | None = None
    retry_time_scale: float = DEFAULT_RETRY_TIME_SCALE
    _local: threading.local = field(default_factory=threading.local, repr=False)
    _per_thread: list[stripe.HTTPClient] = field(default_factory=list, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def label(self) -> str:
        return self.url or "in-process"

    @classmethod
    def in_process(cls, app: Any, retry_time_scale: float = DEFAULT_RETRY_TIME_SCALE) -> Target:
        from fake_stripe.sdk import http_client

        return cls(app=app, http_client=http_client(app), retry_time_scale=retry_time_scale)

    def connect(
        self, key: str, stripe_version: str, clock: Callable[[], int] | None = None
    ) -> RelinkClient:
        return RelinkClient.connect(
            self.url if self.url is not None else self.app,
            key,
            stripe_version=stripe_version,
            http_client=self.http_client or self._thread_client(),
            clock=clock,
            retry_time_scale=self.retry_time_scale,
        )

    def direct(self) -> tuple[stripe.HTTPClient, str] | None:
        """The HTTP client a scenario's requests go through on this thread, and its base URL
        (None for a remote URL: each client there has its own)."""
        if self.url is None:
            from fake_stripe.sdk import IN_PROCESS_BASE

            assert self.http_client is not None
            return self.http_client, str(IN_PROCESS_BASE)
        client = self._thread_client()
        return None if client is None else (client, self.url.rstrip("/"))

    def _thread_client(self) -> stripe.HTTPClient | None:
        if self.url is None or not is_loopback(self.url):
            return None  # elsewhere, each client makes and closes its own, as by default
        client: stripe.HTTPClient | None = getattr(self._local, "client", None)
        if client is None:
            client = self._local.client = http_client_for(self.url)
            with self._lock:
                self._per_thread.append(client)
        return client

    def close(self) -> None:
        with self._lock:
            clients, self._per_thread = self._per_thread, []
        if self.http_client is not None:
            clients.append(self.http_client)
        for client in clients:
            client.close()  # type: ignore[no-untyped-call]


@contextmanager
def served(app: Any, sock: socket.socket | None = None) -> Iterator[str]:
    """`app` on the fake's own HTTP server (`fake_stripe.http_server`) on a free loopback port
    (or on `sock`, a loopback socket already bound), in a thread; yields its base URL."""
    from fake_stripe.http_server import ServerThread

    with ServerThread(app, sock=sock) as url:
        yield url
