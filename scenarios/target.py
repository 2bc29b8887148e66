"""Where scenarios run: the fake as an app in-process, or at a base URL (`served` starts one)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import stripe

from client import RelinkClient


@dataclass
class Target:
    """Where the fake runs: an ASGI app (in-process, no socket) or a base URL."""

    app: Any = None
    url: str | None = None
    http_client: stripe.HTTPClient | None = None  # shared by every scenario (in-process)

    @property
    def label(self) -> str:
        return self.url or "in-process"

    @classmethod
    def in_process(cls, app: Any) -> Target:
        from fake_stripe.sdk import http_client

        return cls(app=app, http_client=http_client(app))

    def connect(self, key: str, stripe_version: str, clock: Callable[[], int] | None = None
                ) -> RelinkClient:
        return RelinkClient.connect(
            self.url if self.url is not None else self.app,
            key,
            stripe_version=stripe_version,
            http_client=self.http_client,
            clock=clock,
        )

    def close(self) -> None:
        if self.http_client is not None:
            self.http_client.close()  # type: ignore[no-untyped-call]


@contextmanager
def served(app: Any) -> Iterator[str]:
    """`app` under uvicorn on a free loopback port, in a thread; yields its base URL."""
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(2048)
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.01)
    if not server.started:
        raise RuntimeError("the fake did not start under uvicorn within 10 s")
    try:
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
