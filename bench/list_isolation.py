"""Another tenant's latency while one tenant lists large objects as fast as it can: the cost to
the others of reads tried on the event loop (`wire.LOOP_BUDGET`); with `--writes`, while one
tenant sends customer creates of 8 KiB bodies in the form decoder's slowest shape (one key
repeated, answered 400 once decoded): the cost of what a light write decodes on the loop
(`wire.WRITE_INLINE_MAX`); with `--tried`, while one tenant sends
`POST /v1/test_helpers/trigger` for `financial_connections.account.deactivated` (a customer, a
linked account, its deactivation and their events: a write that is not light, tried on the
loop and, past its budget, run again on a worker thread).

One `fake-stripe serve` (in memory) of this checkout, or with `--compare DIR` of another
checkout too, taken in turn: the listing tenant stores 100 customers of 50 metadata values of
500 characters each (about 25 KB of JSON apiece), then `wrk -t1 -c4` asks for
`GET /v1/customers?limit=100` for --seconds while a probe, a tenant of its own in this process,
reads one customer every 2 ms. Printed: the probe's p50/p99 idle (the same probe before the
load) and under the load, and the lists answered per second.

Loopback only; each server is stopped when its rounds end.

Usage: .venv/bin/python bench/list_isolation.py [--rounds R] [--seconds S]
                                                [--writes | --tried] [--compare DIR]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from common import need_wrk, read_wrk, wrk_command
from served_cpu import KEY, ROOT, _free_port, _served

METADATA = {f"metadata[k{i:02d}]": "v" * 500 for i in range(50)}
# 8 KiB of one key repeated: past `WRITE_INLINE_MAX`, within the default body limit.
WRITE_BODY = "&".join(["a=b"] * 2048)[: 8 * 1024 - 1]
WRITE_LUA = f"""
wrk.method = "POST"
wrk.body = "{WRITE_BODY}"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
"""
TRIGGER_LUA = """
wrk.method = "POST"
wrk.body = "event=financial_connections.account.deactivated"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
"""
TRIGGER = "/v1/test_helpers/trigger"


def _probe(url: str, seconds: float) -> tuple[float, float]:
    """(p50, p99) in ms of one customer read every 2 ms, as a tenant of its own."""
    took: list[float] = []
    with httpx.Client(base_url=url, headers={"Authorization": "Bearer sk_test_probe"}) as http:
        cid = http.post("/v1/customers").json()["id"]
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            started = time.perf_counter()
            http.get(f"/v1/customers/{cid}").raise_for_status()
            took.append((time.perf_counter() - started) * 1000)
            time.sleep(0.002)
    took.sort()
    return statistics.median(took), took[int(len(took) * 0.99)]


def _round(url: str, seconds: int, writes: Path | None, path: str) -> tuple[float, ...]:
    """One round; `writes` (a wrk script) sent to `path`, or lists of 100 customers."""
    idle = _probe(url, seconds / 2)
    if writes is None:
        cmd = wrk_command(f"{url}/v1/customers?limit=100", seconds + 1, 4, KEY)
    else:
        cmd = wrk_command(f"{url}{path}", seconds + 1, 4, KEY, writes)
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True) as wrk:
        time.sleep(0.5)
        loaded = _probe(url, seconds - 0.5)
        out = wrk.communicate(timeout=seconds + 30)[0]
    found = read_wrk(out)
    refused = writes is not None and path == "/v1/customers"
    if not refused and found["non2xx"]:
        raise RuntimeError(f"{found['non2xx']:.0f} requests were not answered 200")
    if refused and found["non2xx"] != found["requests"]:
        raise RuntimeError("some of the 8 KiB creates were not refused")
    return *idle, *loaded, found["rps"]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--seconds", type=int, default=6)
    ap.add_argument("--compare", metavar="DIR", help="another fake-stripe checkout")
    how = ap.add_mutually_exclusive_group()
    how.add_argument("--writes", action="store_true", help="8 KiB creates instead of lists")
    how.add_argument("--tried", action="store_true", help="test-helper triggers instead")
    args = ap.parse_args()
    if not need_wrk("bench/list_isolation.py"):
        return 2
    checkouts = {"this checkout": str(ROOT)}
    if args.compare:
        checkouts[f"at {args.compare}"] = str(Path(args.compare).resolve())
    rows: dict[str, list[tuple[float, ...]]] = {name: [] for name in checkouts}
    load = os.getloadavg()[0]
    with contextlib.ExitStack() as stack:
        urls = {}
        for name, path in checkouts.items():
            port = _free_port()
            env = {**os.environ, "PYTHONPATH": path}
            argv = [sys.executable, "-m", "fake_stripe.cli.main", "serve", "--port", str(port)]
            stack.enter_context(_served(argv, path, env, port))
            urls[name] = f"http://127.0.0.1:{port}"
            with httpx.Client(base_url=urls[name], headers={"Authorization": f"Bearer {KEY}"}) as h:
                for _ in range(100):
                    h.post("/v1/customers", data=METADATA).raise_for_status()
        writes, path = None, "/v1/customers"
        if args.writes or args.tried:
            tmp = Path(stack.enter_context(tempfile.TemporaryDirectory()))
            writes = tmp / "writes.lua"
            writes.write_text(TRIGGER_LUA if args.tried else WRITE_LUA)
            path = TRIGGER if args.tried else path
        for _ in range(args.rounds):
            for name in checkouts:
                rows[name].append(_round(urls[name], args.seconds, writes, path))
    load_is = (
        "sends customer creates of an 8 KiB body of one key repeated"
        if args.writes
        else "triggers financial_connections.account.deactivated"
        if args.tried
        else "lists 100 customers of about 25 KB each"
    )
    print(
        f"`.venv/bin/python bench/list_isolation.py {' '.join(sys.argv[1:])}`: another "
        f"tenant's GET of one customer, idle and while one tenant {load_is} over 4 "
        f"connections (medians of {args.rounds} rounds of {args.seconds} s); load average "
        f"before {load:.2f}\n"
    )
    done = "creates/s" if args.writes else "triggers/s" if args.tried else "lists/s"
    print(f"| server | idle p50 / p99 ms | under the load p50 / p99 ms | {done} |")
    print("|---|---|---|---|")
    for name, runs in rows.items():
        m = [statistics.median(r[i] for r in runs) for i in range(5)]
        print(f"| {name} | {m[0]:.2f} / {m[1]:.2f} | {m[2]:.2f} / {m[3]:.2f} | {m[4]:,.0f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
