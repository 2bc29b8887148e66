"""Cold start, in milliseconds, each the median of --repeats fresh processes:

- `--help`: `fake-stripe --help` from spawn to exit;
- `import`: the cumulative import time of `fake_stripe.cli.main` as `python -X importtime`
  reports it;
- `first 200`: `fake-stripe serve --port 0` from spawn to the first 200 of a modelled route
  (`GET /v1/customers`), polling as soon as the server prints its URL;
- `first generic 200`: on that server, then, how long the first request of a generic operation
  (`GET /v1/balance`) takes: it reads the rest of the API.

With `--db`, `serve` runs on a new SQLite file each time (in a temporary directory).

With `--compare DIR` the same runs are made, interleaved, for a checkout of another version of
fake-stripe at DIR (put first on `PYTHONPATH`), so before and after share one machine state.

Usage: .venv/bin/python bench/cold_start.py [--repeats R] [--db] [--compare DIR]
"""

from __future__ import annotations

import argparse
import itertools
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import httpx

KEY = {"Authorization": "Bearer sk_test_cold"}


def _cwd(pythonpath: str | None) -> str | None:
    """Where a variant runs: `python -m` puts its working directory first on the path, ahead of
    PYTHONPATH, so another checkout runs from its own directory (from this checkout's, it would
    run this checkout's code)."""
    return pythonpath


def _env(pythonpath: str | None) -> dict[str, str]:
    env = dict(os.environ)
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    return env


def compiled(pythonpath: str | None) -> None:
    """The variant's modules compiled, as an install leaves them: where PYTHONDONTWRITEBYTECODE
    is set, a checkout without them (a new worktree) would compile every module at each start
    and time that instead."""
    root = pythonpath or os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", "fake_stripe"],
        cwd=root,
        check=True,
        stdout=subprocess.DEVNULL,
    )


def help_ms(pythonpath: str | None) -> float:
    started = time.perf_counter()
    command = [sys.executable, "-m", "fake_stripe.cli.main", "--help"]
    subprocess.run(
        command, env=_env(pythonpath), cwd=_cwd(pythonpath), capture_output=True, check=True
    )
    return (time.perf_counter() - started) * 1000


def import_ms(pythonpath: str | None) -> float:
    command = [sys.executable, "-X", "importtime", "-c", "import fake_stripe.cli.main"]
    ran = subprocess.run(
        command,
        env=_env(pythonpath),
        cwd=_cwd(pythonpath),
        capture_output=True,
        text=True,
        check=True,
    )
    found = re.search(r"\|\s+(\d+) \| fake_stripe\.cli\.main\s*$", ran.stderr, re.MULTILINE)
    assert found is not None, ran.stderr[-500:]
    return int(found.group(1)) / 1000


def serve_ms(pythonpath: str | None, db: str | None = None) -> tuple[float, float | None]:
    started = time.perf_counter()
    command = [sys.executable, "-m", "fake_stripe.cli.main", "serve", "--port", "0"]
    if db is not None:
        command += ["--db", db]
    process = subprocess.Popen(
        command,
        env=_env(pythonpath),
        cwd=_cwd(pythonpath),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip().rsplit(" ", 1)[-1]
        with httpx.Client(base_url=url, headers=KEY) as http:
            while True:
                try:
                    if http.get("/v1/customers").status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.002)
            first = (time.perf_counter() - started) * 1000
            generic_started = time.perf_counter()
            answered = http.get("/v1/balance").status_code == 200
            generic = (time.perf_counter() - generic_started) * 1000 if answered else None
        return first, generic
    finally:
        process.terminate()
        process.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--compare", default=None, metavar="DIR")
    parser.add_argument("--db", action="store_true", help="serve on a new SQLite file each run")
    args = parser.parse_args()
    workdir = tempfile.mkdtemp(prefix="cold-start-")
    made = itertools.count()
    variants: list[tuple[str, str | None]] = [("this checkout", None)]
    if args.compare:
        variants.insert(0, (f"{args.compare}", args.compare))
    for _name, path in variants:
        compiled(path)
    results: dict[str, dict[str, list[float]]] = {name: {} for name, _ in variants}
    for _ in range(args.repeats):
        for name, path in variants:
            db = os.path.join(workdir, f"{next(made)}.sqlite") if args.db else None
            first, generic = serve_ms(path, db)
            rows = results[name]
            rows.setdefault("--help", []).append(help_ms(path))
            rows.setdefault("import", []).append(import_ms(path))
            rows.setdefault("first 200", []).append(first)
            if generic is not None:
                rows.setdefault("first generic 200", []).append(generic)
    shutil.rmtree(workdir, ignore_errors=True)
    for name, rows in results.items():
        print(name)
        for label, values in rows.items():
            print(f"  {label:18s} {statistics.median(values):8.1f} ms  (of {len(values)})")


if __name__ == "__main__":
    main()
