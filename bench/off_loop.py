"""What a request costs the server when it runs on a worker thread rather than on the event
loop: the server process's CPU µs per request (all threads, from /proc), requests/s and p50,
under `wrk -t1` with one connection and with ten, for `fake-stripe serve` (in memory) of this
checkout and, with `--compare DIR`, of another (put first on `PYTHONPATH`, run from DIR), rounds
taken in turn:

- `POST /v1/financial_connections/sessions` (a customer as the holder, the `payment_method`
  permission);
- `GET /v1/nothing_here`, a URL no route knows (Stripe's 404);
- `GET /v1/customers/{id}`, which runs on the loop in both, for scale.

Loopback only; every server is stopped when its rounds end.

Usage: .venv/bin/python bench/off_loop.py [--rounds R] [--seconds S] [--compare DIR]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from common import need_wrk, read_wrk, wrk_command
from served_cpu import KEY, ROOT, _cpu_seconds, _free_port, _post, _served

SESSION_BODY = (
    "account_holder%5Btype%5D=customer&account_holder%5Bcustomer%5D=CUSTOMER"
    "&permissions%5B%5D=payment_method"
)
SESSION_LUA = f"""
wrk.method = "POST"
wrk.body = "{SESSION_BODY}"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
"""


def _round(pid: int, url: str, seconds: int, conns: int, script: Path | None) -> list[float]:
    """[CPU µs per request, requests/s, p50 ms] of one wrk run; every answer 2xx, except for
    the unknown URL's, which must all be 404s."""
    before = _cpu_seconds(pid)
    cmd = wrk_command(url, seconds, conns, KEY, script, latency=True)
    found = read_wrk(subprocess.run(cmd, capture_output=True, text=True).stdout, latency=True)
    unknown = url.endswith("/v1/nothing_here")
    if found["non2xx"] != (found["requests"] if unknown else 0):
        raise RuntimeError(f"{url}: {found['non2xx']:.0f} of {found['requests']:.0f} not 2xx")
    used = _cpu_seconds(pid) - before
    return [used / found["requests"] * 1e6, found["rps"], found["p50"]]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=int, default=3)
    ap.add_argument("--compare", metavar="DIR", help="another fake-stripe checkout")
    args = ap.parse_args()
    if not need_wrk("bench/off_loop.py"):
        return 2
    load = os.getloadavg()[0]
    checkouts = {"this checkout": str(ROOT)}
    if args.compare:
        checkouts[f"at {args.compare}"] = str(Path(args.compare).resolve())
    cases = ("session create", "unknown URL", "GET customer")
    results: dict[tuple[str, int, str], list[list[float]]] = {}
    with tempfile.TemporaryDirectory(prefix="off-loop-") as tmp, contextlib.ExitStack() as stack:
        servers = {}
        for name, path in checkouts.items():
            port = _free_port()
            argv = [sys.executable, "-m", "fake_stripe.cli.main", "serve", "--port", str(port)]
            env = {**os.environ, "PYTHONPATH": path}
            pid = stack.enter_context(_served(argv, path, env, port))
            base = f"http://127.0.0.1:{port}"
            customer = str(_post(f"{base}/v1/customers")["id"])
            lua = Path(tmp) / f"{port}.lua"
            lua.write_text(SESSION_LUA.replace("CUSTOMER", customer))
            servers[name] = (pid, base, customer, lua)
        for _ in range(args.rounds):
            for case in cases:
                for conns in (1, 10):
                    for name, (pid, base, customer, lua) in servers.items():
                        url, script = {
                            "session create": (f"{base}/v1/financial_connections/sessions", lua),
                            "unknown URL": (f"{base}/v1/nothing_here", None),
                            "GET customer": (f"{base}/v1/customers/{customer}", None),
                        }[case]
                        key = (case, conns, name)
                        found = _round(pid, url, args.seconds, conns, script)
                        results.setdefault(key, []).append(found)
    print(
        f"`.venv/bin/python bench/off_loop.py {' '.join(sys.argv[1:])}`: server CPU µs per "
        f"request, requests/s and p50 (medians of {args.rounds} rounds of {args.seconds} s, "
        f"wrk -t1), fake-stripe in memory; load average before {load:.2f}\n"
    )
    print("| request | connections | server | CPU µs | req/s | p50 ms |")
    print("|---|---|---|---|---|---|")
    for case in cases:
        for conns in (1, 10):
            for name in checkouts:
                runs = results[(case, conns, name)]
                cpu, rps, p50 = (statistics.median(r[i] for r in runs) for i in range(3))
                print(f"| {case} | {conns} | {name} | {cpu:.1f} | {rps:,.0f} | {p50:.3f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
