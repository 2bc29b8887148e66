"""The in-process transport: requests run on the caller's thread, one at a time per app."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from fake_stripe import create_app
from fake_stripe.inprocess import client


class ThreadRecorder:
    """An ASGI app that answers with the thread it ran on, waiting on the loop if asked."""

    def __init__(self) -> None:
        self.threads: list[int] = []
        self.inside = 0
        self.most_inside = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.inside += 1
        self.most_inside = max(self.most_inside, self.inside)
        await receive()
        self.threads.append(threading.get_ident())
        if scope["path"].endswith("/sleep"):
            await asyncio.sleep(0.01)
        self.inside -= 1
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": scope["path"].encode()})


def test_a_v1_request_runs_on_the_callers_thread() -> None:
    app = ThreadRecorder()
    with client(app) as c:
        assert c.get("/v1/x").text == "/v1/x"
        assert c.get("/v1/x/sleep").text == "/v1/x/sleep"
        assert c.get("/other").text == "/other"
    assert app.threads == [threading.get_ident()] * 3


def test_requests_from_many_threads_take_turns() -> None:
    app = ThreadRecorder()
    with client(app) as c, ThreadPoolExecutor(4) as pool:
        statuses = list(pool.map(lambda _: c.get("/v1/x/sleep").status_code, range(12)))
    assert statuses == [200] * 12
    assert app.most_inside == 1


def test_a_sync_client_works_inside_a_running_event_loop() -> None:
    app = create_app(seed=3)

    async def from_async_code() -> int:
        with client(app, headers={"Authorization": "Bearer sk_test_inloop"}) as c:
            return c.post("/v1/customers", data={"email": "a@example.com"}).status_code

    try:
        assert asyncio.run(from_async_code()) == 200
    finally:
        app.fake.close()
