"""In-process use with no socket: a synchronous httpx transport over the ASGI app.

The app runs on one event loop in a daemon thread (so webhook deliveries and other background
tasks keep running between requests); each request is sent through `httpx.ASGITransport`.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

import httpx
from starlette.types import ASGIApp

T = TypeVar("T")


class LoopThread:
    """An asyncio loop running forever in a daemon thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float | None = 60) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=5)
        self.loop.close()


class InProcessTransport(httpx.BaseTransport):
    """`httpx.Client(transport=InProcessTransport(app), base_url="http://fake-stripe")`."""

    def __init__(self, app: ASGIApp, loop: LoopThread | None = None) -> None:
        self.app = app
        self._own_loop = loop is None
        self.loop = loop or LoopThread()
        self._asgi = httpx.ASGITransport(app=app)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()

        async def send() -> tuple[int, list[tuple[bytes, bytes]], bytes]:
            req = httpx.Request(request.method, request.url, headers=request.headers, content=body)
            resp = await self._asgi.handle_async_request(req)
            content = await resp.aread()
            return resp.status_code, list(resp.headers.raw), content

        status, headers, content = self.loop.run(send())
        return httpx.Response(status, headers=headers, content=content, request=request)

    def close(self) -> None:
        if self._own_loop:
            self.loop.close()


def client(app: ASGIApp, base_url: str = "http://fake-stripe.local", **kw: Any) -> httpx.Client:
    """A sync httpx client talking to `app` in-process."""
    return httpx.Client(transport=InProcessTransport(app), base_url=base_url, **kw)
