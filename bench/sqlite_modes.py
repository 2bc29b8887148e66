"""`POST /v1/customers` on SQLite under each journal mode and `synchronous` setting, in-process
(the ASGI app called in a loop): µs per request, median of rounds, and the SQL statements one
request runs (counted with SQLite's trace callback). `--statements`: under the store's own setting,
the wall time of each statement a POST runs, µs per POST (the checkpoint's on its own thread).
`--batched K`: the most a group commit could save, the process's CPU µs per POST (its threads'
included) with each POST in its own transaction and with K POSTs in one transaction held open
around them (theirs join it: one `BEGIN IMMEDIATE` and one `COMMIT` for K).

What each setting promises (SQLite's documentation): WAL + NORMAL (the store's setting) never
corrupts the file and may lose the last commits on a power cut (not on a crash of the process);
WAL + FULL loses nothing on a power cut; OFF may corrupt the file on a power cut; DELETE (the
rollback journal) lets readers wait for the writer, which the store's inline reads rely on not
doing.

Usage: .venv/bin/python bench/sqlite_modes.py [--n 1000] [--repeats 5] [--statements | --batched K]
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from inprocess_bench import POST_BODY, call  # noqa: E402

from fake_stripe import create_app  # noqa: E402
from fake_stripe.core.store import sqlite as store_sqlite  # noqa: E402

MODES = [("WAL", "NORMAL"), ("WAL", "FULL"), ("WAL", "OFF"), ("DELETE", "FULL")]


def _post(loop: asyncio.AbstractEventLoop, app: Any) -> None:
    out = loop.run_until_complete(call(app, "POST", "/v1/customers", POST_BODY))
    assert out[0]["status"] == 200, out[1]["body"][:300]


def run(journal: str, sync: str, n: int, repeats: int) -> tuple[float, float]:
    statements = 0

    def traced(sql: str) -> None:
        nonlocal statements
        statements += 1

    real = store_sqlite.SQLiteBackend._connect

    def connect(self: Any) -> sqlite3.Connection:
        db = real(self)
        db.execute(f"PRAGMA journal_mode={journal}")
        db.execute(f"PRAGMA synchronous={sync}")
        db.set_trace_callback(traced)
        return db

    store_sqlite.SQLiteBackend._connect = connect  # type: ignore[method-assign]
    try:
        with tempfile.TemporaryDirectory() as tmp:
            app = create_app(seed=1, db=str(Path(tmp) / "modes.db"))
            loop = asyncio.new_event_loop()
            for _ in range(50):
                _post(loop, app)
            statements = 0
            _post(loop, app)
            per_request = statements
            rounds = []
            for _ in range(repeats):
                t = time.perf_counter()
                for _ in range(n):
                    _post(loop, app)
                rounds.append((time.perf_counter() - t) / n * 1e6)
            loop.close()
            app.fake.close()
    finally:
        store_sqlite.SQLiteBackend._connect = real  # type: ignore[method-assign]
    return statistics.median(rounds), per_request


# Wall time (ns) and count of each statement, by its first words (`--statements`).
SPENT: collections.Counter[str] = collections.Counter()
RUNS: collections.Counter[str] = collections.Counter()


def _timed(run: Callable[..., sqlite3.Cursor], sql: str, *args: Any) -> sqlite3.Cursor:
    started = time.perf_counter_ns()
    try:
        return run(sql, *args)
    finally:
        SPENT[sql[:72]] += time.perf_counter_ns() - started
        RUNS[sql[:72]] += 1


class _Timed(sqlite3.Connection):
    def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:
        return _timed(super().execute, sql, *args)

    def executemany(self, sql: str, *args: Any) -> sqlite3.Cursor:
        return _timed(super().executemany, sql, *args)


def per_statement(n: int) -> None:
    """µs per POST in each statement, every connection of the store (and its checkpoint
    thread's) made as a `_Timed` one."""
    connect = sqlite3.connect

    def timed(*args: Any, **kw: Any) -> sqlite3.Connection:
        return connect(*args, factory=_Timed, **kw)

    sqlite3.connect = timed  # type: ignore[assignment]
    try:
        with tempfile.TemporaryDirectory() as tmp:
            app = create_app(seed=1, db=str(Path(tmp) / "timed.db"))
            loop = asyncio.new_event_loop()
            for i in range(n + 500):
                if i == 500:
                    SPENT.clear()
                    RUNS.clear()
                _post(loop, app)
            loop.close()
            app.fake.close()
    finally:
        sqlite3.connect = connect
    print("| statement | runs per POST | µs per POST |")
    print("|---|---|---|")
    for sql, ns in SPENT.most_common():
        print(f"| `{sql}` | {RUNS[sql] / n:.2f} | {ns / n / 1000:.1f} |")
    print(f"| all | | {sum(SPENT.values()) / n / 1000:.1f} |")


def batched(n: int, repeats: int, k: int) -> None:
    """CPU µs per POST, one transaction per POST and one per `k` POSTs, rounds in turn, each
    on a new file."""
    spent: dict[int, list[float]] = {1: [], k: []}
    for _ in range(repeats):
        for size in spent:
            with tempfile.TemporaryDirectory() as tmp:
                app = create_app(seed=1, db=str(Path(tmp) / "batched.db"))
                loop = asyncio.new_event_loop()
                for _ in range(50):
                    _post(loop, app)
                backend = app.fake.backend
                groups = max(1, n // size)
                started = time.process_time()
                for _ in range(groups):
                    if size == 1:
                        _post(loop, app)
                        continue
                    with backend.transaction("", True):  # the POSTs' own transactions join it
                        for _ in range(size):
                            _post(loop, app)
                spent[size].append((time.process_time() - started) / (groups * size) * 1e6)
                loop.close()
                app.fake.close()
    print("| POSTs per transaction | CPU µs per POST, median | rounds |")
    print("|---|---|---|")
    for size, rounds in spent.items():
        each = ", ".join(f"{r:.0f}" for r in rounds)
        print(f"| {size} | {statistics.median(rounds):.1f} | {each} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--statements", action="store_true", help="time each statement instead")
    ap.add_argument("--batched", type=int, metavar="K", help="K POSTs per transaction against 1")
    args = ap.parse_args()
    load = Path("/proc/loadavg").read_text().split()[:3]
    print(
        f"`.venv/bin/python bench/sqlite_modes.py {' '.join(sys.argv[1:])}`: in-process "
        f"`POST /v1/customers`, "
        + (
            f"{args.n * args.repeats} after 500, timed statement by statement"
            if args.statements
            else f"median of {args.repeats} rounds of {args.n}"
        )
        + f"; load {' '.join(load)}"
    )
    print()
    if args.statements:
        per_statement(args.n * args.repeats)
        return
    if args.batched:
        batched(args.n, args.repeats, args.batched)
        return
    print("| journal | synchronous | µs per POST | SQL statements per POST |")
    print("|---|---|---|---|")
    for journal, sync in MODES:
        us, statements = run(journal, sync, args.n, args.repeats)
        print(f"| {journal} | {sync} | {us:,.0f} | {statements:.0f} |", flush=True)


if __name__ == "__main__":
    main()
