"""What running a request's work on a worker thread costs, in CPU microseconds of the process
(all its threads) per call, each the median of --repeats rounds, one call at a time:

- `executor no-op` / `lanes no-op`: a function that does nothing, run with
  `loop.run_in_executor` and with `core.lanes.Lanes.run` (the pool every request that may wait
  or compute for long goes to), from a task of a running event loop;
- `sqlite POST inline` / `sqlite POST thread`: `POST /v1/customers` on a SQLite store, through
  the ASGI app, its work run on the calling task (as a light request in memory is) and on a
  worker thread (as a write to a SQLite store is, since another process may hold its lock).

Usage: .venv/bin/python bench/handoff.py [N] [--repeats R]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

from inprocess_bench import POST_BODY, call

from fake_stripe import create_app
from fake_stripe.core.lanes import Lanes
from fake_stripe.core.store import SQLiteBackend


async def _timed(fn: Any, n: int, repeats: int) -> float:
    for _ in range(min(n, 200)):
        await fn()
    rounds = []
    for _ in range(repeats):
        t = time.process_time()
        for _ in range(n):
            await fn()
        rounds.append((time.process_time() - t) / n * 1e6)
    return sorted(rounds)[len(rounds) // 2]


def _nothing() -> None:
    return None


async def _noops(n: int, repeats: int) -> dict[str, float]:
    loop = asyncio.get_running_loop()
    lanes = Lanes()

    async def executor() -> None:
        await loop.run_in_executor(None, _nothing)

    async def lane() -> None:
        await lanes.run("bench", _nothing)

    try:
        return {
            "executor no-op": await _timed(executor, n, repeats),
            "lanes no-op": await _timed(lane, n, repeats),
        }
    finally:
        lanes.close()


async def _sqlite_post(inline: bool, n: int, repeats: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(seed=1, backend=SQLiteBackend(str(Path(tmp) / "bench.db")))
        if inline:

            async def run(tenant: str, fn: Any, *args: Any, light: bool = False) -> Any:
                return fn(*args)

            app.fake.lanes.run = run  # type: ignore[method-assign]

        async def post() -> None:
            await call(app, "POST", "/v1/customers", POST_BODY)

        try:
            return await _timed(post, n, repeats)
        finally:
            app.fake.close()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("n", nargs="?", type=int, default=2000)
    ap.add_argument("--repeats", type=int, default=5)
    a = ap.parse_args()
    found = asyncio.run(_noops(a.n, a.repeats))
    found["sqlite POST inline"] = asyncio.run(_sqlite_post(True, a.n, a.repeats))
    found["sqlite POST thread"] = asyncio.run(_sqlite_post(False, a.n, a.repeats))
    print("| call | CPU µs per call |\n|---|---|")
    for name, us in found.items():
        print(f"| {name} | {us:.0f} |")


if __name__ == "__main__":
    main()
