"""Cost of `GET /v1/customers/{id}` inside the app, with no socket: the ASGI app called in a loop.

Usage: .venv/bin/python bench/inprocess_bench.py [N] [STORED]
STORED customers are created first, to show that the cost does not grow with the store.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any

from fake_stripe import create_app


async def call(app: Any, method: str, path: str, body: bytes = b"") -> list[dict[str, Any]]:
    scope = {
        "type": "http",
        "http_version": "1.1",
        "method": method,
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "scheme": "http",
        "root_path": "",
        "server": ("127.0.0.1", 1),
        "client": ("127.0.0.1", 2),
        "headers": [
            (b"authorization", b"Bearer sk_test_bench"),
            (b"content-type", b"application/x-www-form-urlencoded"),
        ],
    }
    out: list[dict[str, Any]] = []
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.sleep(3600)
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        out.append(message)

    await app(scope, receive, send)
    return out


async def main(n: int, stored: int) -> None:
    app = create_app(seed=1)
    for _ in range(stored):
        await call(app, "POST", "/v1/customers", b"email=a@b.co")
    first = await call(app, "POST", "/v1/customers", b"email=a@b.co")
    cid = json.loads(first[1]["body"])["id"]
    for _ in range(500):
        await call(app, "GET", f"/v1/customers/{cid}")
    t = time.perf_counter()
    for _ in range(n):
        await call(app, "GET", f"/v1/customers/{cid}")
    dt = time.perf_counter() - t
    print(f"{stored} stored: {n / dt:,.0f} requests/s in-process, {dt / n * 1e6:.1f} us/request")
    app.state.fake.webhooks.close()


if __name__ == "__main__":
    asyncio.run(
        main(
            int(sys.argv[1]) if len(sys.argv) > 1 else 5000,
            int(sys.argv[2]) if len(sys.argv) > 2 else 0,
        )
    )
