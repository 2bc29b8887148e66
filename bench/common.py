"""What the benches share: the median cost of a call timed in-process, and running wrk and
reading its report. (A fresh PostgreSQL schema is `tests/stores.py`'s `fresh_schema`.)"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

_UNIT = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def timed(
    fn: Callable[[], Any],
    n: int,
    repeats: int,
    *,
    warm: int = 300,
    round_seconds: float | None = None,
    clock: Callable[[], float] = time.perf_counter,
    best: bool = False,
) -> float:
    """Median over `repeats` rounds of the mean cost of one call, in microseconds, after
    min(n, warm) warm-up calls. With `round_seconds`, one call first measures how slow a call
    is and `n` is cut (to 3 at the least) so that a round takes about that long. `clock`: wall
    time, or `time.process_time` for this process's CPU time (other work on the machine counts
    less); `best`: the fastest round instead of the median (noise only ever adds)."""
    if round_seconds is not None:
        t = clock()
        fn()
        n = max(3, min(n, int(round_seconds / max(clock() - t, 1e-6))))
    for _ in range(min(n, warm)):
        fn()
    rounds = []
    for _ in range(repeats):
        t = clock()
        for _ in range(n):
            fn()
        rounds.append((clock() - t) / n * 1e6)
    return min(rounds) if best else statistics.median(rounds)


def need_wrk(script: str) -> bool:
    """Whether wrk is installed; if not, says so (Debian's package) for `script`."""
    if shutil.which("wrk") is not None:
        return True
    print(f"{script} needs wrk (Debian: apt-get install -y wrk)", file=sys.stderr)
    return False


def wrk_command(
    url: str,
    seconds: int,
    conns: int,
    key: str,
    script: Path | str | None = None,
    args: Sequence[str] = (),
    latency: bool = False,
) -> list[str]:
    """One wrk thread with `conns` connections for `seconds`, as tenant `key`; `latency`: the
    percentiles too (and a 5 s timeout per request)."""
    cmd = ["wrk", "-t1", f"-c{conns}", f"-d{seconds}s"]
    if latency:
        cmd += ["--latency", "--timeout", "5s"]
    cmd += ["-H", f"Authorization: Bearer {key}"]
    if script is not None:
        cmd += ["-s", str(script)]
    cmd.append(url)
    if args:
        cmd += ["--", *args]
    return cmd


def read_wrk(out: str, latency: bool = False) -> dict[str, float]:
    """wrk's report as numbers: `rps`, `non2xx`, `requests`, and with `latency` `p50` and `p99`
    in milliseconds."""
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    total = re.search(r"(\d+) requests in", out)
    if rps is None:
        raise RuntimeError(f"could not read wrk's output:\n{out}")
    found = {"rps": float(rps.group(1))}
    if latency:
        for p in ("50", "99"):
            m = re.search(rf"^\s+{p}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
            if m is None:
                raise RuntimeError(f"could not read wrk's output:\n{out}")
            found[f"p{p}"] = float(m.group(1)) * _UNIT[m.group(2)]
    found["non2xx"] = float(non2xx.group(1)) if non2xx else 0.0
    found["requests"] = float(total.group(1)) if total else 0.0
    return found


def stop_group(proc: subprocess.Popen[bytes]) -> None:
    """Stop a server started in a process group of its own (`start_new_session=True`): SIGTERM,
    then SIGKILL after 10 s, then SIGKILL for anything left in the group (the workers of a
    supervisor that was killed)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
