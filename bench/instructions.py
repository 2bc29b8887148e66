"""Instructions per request, counted by valgrind's callgrind: repeatable whatever the load.

For each case of `bench/inprocess_bench.py` (`asgi-get`, `asgi-post`, `httpx-get`,
`sdk-canned`, `sdk-inprocess`), runs it under callgrind twice, with LOW and HIGH calls per
round, and prints the difference of the two totals divided by the difference of the calls:
the cost of one more call, start-up and warm-up taken out.

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


def calls(n: int) -> int:
    """Calls `common.timed` makes for n with one round (as inprocess_bench runs it): warm-up, then
    the round."""
    return min(n, 300) + n


def collected(case: str, n: int) -> int:
    cmd = [
        "valgrind",
        "--tool=callgrind",
        "--callgrind-out-file=/dev/null",
        sys.executable,
        str(HERE / "inprocess_bench.py"),
        str(n),
        "0",
        "--repeats",
        "1",
        "--only",
        case,
    ]
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
        per_call = (high - low) / (calls(args.high) - calls(args.low))
        print(f"| {case} | {per_call:,.0f} |", flush=True)


if __name__ == "__main__":
    main()
