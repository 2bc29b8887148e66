"""A served request with no socket: the fake's own HTTP protocol (`fake_stripe.http_server`) on a
transport that keeps what it is given, fed the bytes of a request and run on uvloop until its
response is out, N times. What the server does per request but the kernel's part: the parsing,
the task, the app and the response's framing. `bench/instructions.py` counts it
(`served-get`, `served-post`, `served-sqlite-get`, `served-sqlite-post`); wall time is not its
purpose.

Usage: .venv/bin/python bench/served_step.py get|post|sqlite-get|sqlite-post N
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
from collections.abc import Iterable
from typing import Any

import uvloop

from fake_stripe import create_app
from fake_stripe import http_server as hs

HEAD = b"Authorization: Bearer sk_test_bench\r\nHost: 127.0.0.1\r\n"
BODY = b"email=jenny%40example.com&name=Jenny+Rosen&metadata[order]=6735&metadata[plan]=gold"
POST = (
    b"POST /v1/customers HTTP/1.1\r\n"
    + HEAD
    + b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: %d\r\n\r\n" % len(BODY)
    + BODY
)


class Kept(asyncio.Transport):
    """A transport that keeps what is written to it."""

    def __init__(self) -> None:
        super().__init__()
        self.out: list[bytes] = []
        self.closed = False

    def write(self, data: Any) -> None:
        self.out.append(bytes(data))

    def writelines(self, list_of_data: Iterable[Any]) -> None:
        self.out.extend(bytes(d) for d in list_of_data)

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"sockname": ("127.0.0.1", 1), "peername": ("127.0.0.1", 2)}.get(name, default)

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


async def run(case: str, n: int, workdir: str) -> None:
    db = workdir + "/f.sqlite" if case.startswith("sqlite") else None
    app = create_app(seed=1, db=db)
    loop = asyncio.get_running_loop()
    protocol: Any = hs.http_protocol()(hs._Settings(app, 5.0), hs._State(), {}, loop)  # type: ignore[call-arg]
    transport = Kept()
    protocol.connection_made(transport)

    answered: list[asyncio.Future[None]] = []
    complete = protocol.response_complete

    def response_complete(cycle: Any) -> None:
        complete(cycle)
        if answered and not answered[-1].done():
            answered[-1].set_result(None)

    protocol.response_complete = response_complete  # awaited below: no turns spent polling

    async def answer(request: bytes) -> bytes:
        transport.out.clear()
        waiter = loop.create_future()
        answered.append(waiter)
        protocol.data_received(request)
        await waiter
        answered.clear()
        return b"".join(transport.out)

    made = await answer(POST)
    customer = json.loads(made[made.index(b"{") : made.rindex(b"}") + 1])["id"]
    get = b"GET /v1/customers/" + customer.encode() + b" HTTP/1.1\r\n" + HEAD + b"\r\n"
    request = get if case.endswith("get") else POST
    for _ in range(20):
        await answer(request)
    out = b""
    for _ in range(n):
        out = await answer(request)
    if n:
        assert b" 200 " in out.split(b"\r\n", 1)[0], out[:200]
    app.fake.close()


def main() -> None:
    case, n = sys.argv[1], int(sys.argv[2])
    if case not in ("get", "post", "sqlite-get", "sqlite-post"):
        raise SystemExit(__doc__)
    with tempfile.TemporaryDirectory(prefix="served-step-") as workdir:
        uvloop.run(run(case, n, workdir))


if __name__ == "__main__":
    main()
