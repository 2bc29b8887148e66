"""What a served request costs the server: CPU microseconds of the server process (all its
threads, user and system, from /proc) per request answered, under `wrk -t1 -c10`, for
`GET /v1/customers/{id}` and `POST /v1/customers` (with `--list`, also `GET /v1/customers`, a
page of 10 customers; the ceiling answers an empty list), each the median of --rounds rounds.

wrk shares the machine's cores with the server, and requests/s move with whatever else runs;
the server's own CPU time per request moves much less, so two versions compare on it.

- the ceiling: `bench/trivial_app.py` (a trivial Starlette app under uvicorn), on uvicorn's
  HTTP protocol and on the one `fake-stripe serve` runs (`fake_stripe.http_server`);
- `fake-stripe serve` of this checkout (in memory, or `--db` for a fresh SQLite file);
- with `--compare DIR`, `fake-stripe serve` of another checkout at DIR (put first on
  `PYTHONPATH`), its rounds taken in turn with this one's, so both meet the same machine.

Loopback only; every server is stopped when its rounds end.

Usage: .venv/bin/python bench/served_cpu.py [--rounds R] [--seconds S] [--db] [--list]
                                            [--compare DIR]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from common import need_wrk, read_wrk, stop_group, wrk_command
from compare import POST_BODY, POST_LUA

ROOT = Path(__file__).resolve().parent.parent
KEY = "sk_test_served_cpu"
TICK = os.sysconf("SC_CLK_TCK")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime


def _post(url: str) -> dict[str, object]:
    req = urllib.request.Request(url, data=POST_BODY.encode(), method="POST")
    req.add_header("Authorization", f"Bearer {KEY}")
    with urllib.request.urlopen(req, timeout=5) as resp:
        return dict(json.loads(resp.read()))


@contextlib.contextmanager
def _served(argv: list[str], cwd: str, env: dict[str, str], port: int) -> Iterator[int]:
    proc = subprocess.Popen(
        argv,
        cwd=cwd,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"{argv} did not start listening") from None
                time.sleep(0.01)
        yield proc.pid
    finally:
        stop_group(proc)


def _round(pid: int, url: str, seconds: int, script: Path | None) -> tuple[float, float]:
    """(CPU µs per request, requests/s) of one wrk run."""
    before = _cpu_seconds(pid)
    cmd = wrk_command(url, seconds, 10, KEY, script)
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 30).stdout
    found = read_wrk(out)
    if found.get("non2xx"):
        raise RuntimeError(f"{url}: {found['non2xx']:.0f} answers were not 2xx")
    used = _cpu_seconds(pid) - before
    return used / found["requests"] * 1e6, found["rps"]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=int, default=4)
    ap.add_argument("--db", action="store_true", help="the fakes on a fresh SQLite file each")
    ap.add_argument("--compare", metavar="DIR", help="another fake-stripe checkout")
    ap.add_argument("--list", action="store_true", help="also a page of 10 customers")
    args = ap.parse_args()
    if not need_wrk("bench/served_cpu.py"):
        return 2
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="served-cpu-") as tmp:
        lua = Path(tmp) / "post.lua"
        lua.write_text(POST_LUA)
        # name: (argv, working directory, PYTHONPATH); `python -m` looks in its working
        # directory first, so each checkout runs from its own.
        servers: dict[str, tuple[list[str], str, str | None]] = {}
        trivial = str(ROOT / "bench" / "trivial_app.py")
        servers["ceiling"] = ([sys.executable, trivial, "{port}"], str(ROOT), None)
        servers["ceiling, fake's protocol"] = (
            [sys.executable, trivial, "{port}", "fake-protocol"],
            str(ROOT),
            None,
        )
        checkouts = {"this checkout": str(ROOT)}
        if args.compare:
            checkouts[f"at {args.compare}"] = str(Path(args.compare).resolve())
        for name, path in checkouts.items():
            argv = [sys.executable, "-m", "fake_stripe.cli.main", "serve", "--port", "{port}"]
            if args.db:
                argv += ["--db", str(Path(tmp) / f"{len(servers)}.sqlite")]
            servers[name] = (argv, path, path)
        results: dict[tuple[str, str], list[tuple[float, float]]] = {}
        ports = {name: _free_port() for name in servers}
        with contextlib.ExitStack() as stack:
            pids = {}
            for name, (argv, cwd, pythonpath) in servers.items():
                port = ports[name]
                env = dict(os.environ)
                if pythonpath:
                    env["PYTHONPATH"] = pythonpath
                cmd = [a.replace("{port}", str(port)) for a in argv]
                pids[name] = stack.enter_context(_served(cmd, cwd, env, port))
            ids = {
                name: str(_post(f"http://127.0.0.1:{ports[name]}/v1/customers")["id"])
                for name in servers
            }
            cases = ("GET", "POST", "LIST") if args.list else ("GET", "POST")
            if args.list:  # a full page before any round: the POST rounds add more
                for name in servers:
                    for _ in range(10):
                        _post(f"http://127.0.0.1:{ports[name]}/v1/customers")
            for _ in range(args.rounds):
                for case in cases:
                    for name in servers:
                        base = f"http://127.0.0.1:{ports[name]}/v1/customers"
                        url = f"{base}/{ids[name]}" if case == "GET" else base
                        script = lua if case == "POST" else None
                        results.setdefault((case, name), []).append(
                            _round(pids[name], url, args.seconds, script)
                        )
    store = "SQLite" if args.db else "memory"
    print(
        f"`.venv/bin/python bench/served_cpu.py {' '.join(sys.argv[1:])}`: server CPU µs per "
        f"request (medians of {args.rounds} rounds of {args.seconds} s, wrk -t1 -c10), "
        f"fake-stripe in {store}; load average before {load:.2f}\n"
    )
    print("| server | " + " | ".join(f"{c} CPU µs | {c} req/s" for c in cases) + " |")
    print("|---" * (1 + 2 * len(cases)) + "|")
    for name in servers:
        row = [name]
        for case in cases:
            runs = results[(case, name)]
            row.append(f"{statistics.median(r[0] for r in runs):.1f}")
            row.append(f"{statistics.median(r[1] for r in runs):,.0f}")
        print("| " + " | ".join(row) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
