"""Instructions per request, counted by valgrind's callgrind: repeatable whatever the load.

For each case of `bench/inprocess_bench.py` (`asgi-get`, `asgi-post`, `httpx-get`,
`sdk-canned`, `sdk-inprocess`) and of `bench/served_step.py` (`served-get`, `served-post`,
`served-sqlite-get`, `served-sqlite-post`: through the fake's HTTP protocol, no socket), runs it
under callgrind twice, with LOW and HIGH calls per round, and prints the difference of the two
totals divided by the difference of the calls: the cost of one more call, start-up and warm-up
taken out.

Usage: .venv/bin/python bench/instructions.py [--cases asgi-get,asgi-post] [--low 100 --high 400]
Needs Debian's valgrind. Each case takes about a minute.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
CASES = ["asgi-get", "asgi-post", "httpx-get", "sdk-canned", "sdk-inprocess"]
SERVED = ["served-get", "served-post", "served-sqlite-get", "served-sqlite-post"]


def calls(case: str, n: int) -> int:
    """Calls made for n: `common.timed` with one round (as inprocess_bench runs it) warms up,
    then runs the round; `served_step.py` makes n after a warm-up of its own."""
    return n if case in SERVED else min(n, 300) + n


def collected(case: str, n: int) -> int:
    if case in SERVED:
        run = [str(HERE / "served_step.py"), case.removeprefix("served-"), str(n)]
    else:
        run = [str(HERE / "inprocess_bench.py"), str(n), "0", "--repeats", "1", "--only", case]
    cmd = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable, *run]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True)
    m = re.search(r"Collected\s*:\s*(\d+)", out.stderr)
    if m is None:
        raise SystemExit(f"no callgrind total for {case}:\n{out.stderr[-2000:]}")
    return int(m.group(1))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cases", default=",".join(CASES))
    ap.add_argument("--low", type=int, default=100)
    ap.add_argument("--high", type=int, default=400)
    args = ap.parse_args()
    print("| case | instructions per call |")
    print("|---|---|")
    for case in args.cases.split(","):
        low, high = collected(case, args.low), collected(case, args.high)
        per_call = (high - low) / (calls(case, args.high) - calls(case, args.low))
        print(f"| {case} | {per_call:,.0f} |", flush=True)


if __name__ == "__main__":
    main()
