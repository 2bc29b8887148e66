"""Ratios in one run, on loopback only: fake-stripe against a trivial Starlette app (the ceiling
of a Python ASGI server on this machine) and against two peers.

Servers, one after the other (never two at once: they would share the cores):

- `ceiling`: `bench/trivial_app.py`, Starlette under uvicorn with `fake-stripe serve`'s settings, on
  uvicorn's own HTTP protocol (`serve` runs its own, `fake_stripe.http_server`);
- `memory`: `fake-stripe serve`; `sqlite`: `fake-stripe serve --db FILE`; `sqlite, 2 workers`:
  the same with `--workers 2`;
- `localstripe` (PyPI, in its own venv `bench/.venv-peers`, run on 127.0.0.1) and
  `stripe-stateful-mock` (npm, installed under `$TMPDIR/fake-stripe-peers-npm`).

For each server and each round: a fresh process (and a fresh SQLite file); the time from the
start command to the first `200` of `GET /v1/customers` (cold start); `VmRSS` once it answers
(idle); then `wrk -t1 -cC -dDs --latency` on `GET /v1/customers/{id}`, on `POST /v1/customers`
(an email, a name and two metadata keys) and, for fake-stripe, on a mixed Financial Connections
flow (session create, the complete test helper, account retrieve, in turn); `VmRSS` of the
server's processes after the run. Every listener is checked to be on 127.0.0.1 only. Then, unless
`--no-inprocess`: `bench/inprocess_bench.py`, and the scenario catalog timed in-process and with
`--serve`. Each figure is the median of the rounds; the ratios are to the ceiling of the same run.

Usage:
  .venv/bin/python bench/compare.py                 # 3 rounds, wrk -c10 -d8s, writes the docs
  .venv/bin/python bench/compare.py --quick         # 1 round, 2 s, no peers, prints only
Options: --rounds N --seconds S --connections C --no-peers --only NAMES --no-inprocess
         --write FILE (default docs/benchmarks.md; --quick prints only unless --write is given)
         --python PY: the interpreter of the ceiling and of every fake-stripe row, the in-process
         parts and the catalog included (an environment with fake-stripe and its `scenarios`
         extra installed; default .venv/bin/python). The header names the interpreter it found
         behind PY.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from common import need_wrk, read_wrk, stop_group, wrk_command

from fake_stripe.core.versions import PREVIEW_VERSION

ROOT = Path(__file__).resolve().parent.parent
# `--python` sets both: an environment's interpreter and its `fake-stripe` command.
PY = ROOT / ".venv" / "bin" / "python"
FAKE = ROOT / ".venv" / "bin" / "fake-stripe"
PEER_VENV = ROOT / "bench" / ".venv-peers"
NPM_DIR = Path(os.environ.get("TMPDIR", "/tmp")) / "fake-stripe-peers-npm"
LOCALSTRIPE_SPEC = os.environ.get("LOCALSTRIPE_SPEC", "localstripe==1.15.10")
SSM_SPEC = os.environ.get("SSM_SPEC", "stripe-stateful-mock@0.0.16")
KEY = "sk_test_bench"
PREVIEW = PREVIEW_VERSION
POST_BODY = (
    "email=jenny%40example.com&name=Jenny+Rosen&metadata%5Border_id%5D=6735&metadata%5Bplan%5D=gold"
)
BEGIN, END = "<!-- compare:begin -->", "<!-- compare:end -->"

POST_LUA = f"""
wrk.method = "POST"
wrk.body = "{POST_BODY}"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
"""

# The FC flow, one step per request, in turn over all connections: create a session for the
# customer, complete it with the test helper (links one account), retrieve that account.
FC_LUA = r"""
local customer, sessions, accounts, turn = nil, {}, {}, 0
function init(args) customer = args[1] end
function request()
  turn = turn + 1
  local h = {["Content-Type"] = "application/x-www-form-urlencoded",
             ["Stripe-Version"] = "PREVIEW", ["Authorization"] = "Bearer KEY"}
  if turn % 3 == 0 and #accounts > 0 then
    return wrk.format("GET", "/v1/financial_connections/accounts/" .. table.remove(accounts, 1), h)
  elseif turn % 3 == 2 and #sessions > 0 then
    return wrk.format("POST", "/v1/test_helpers/financial_connections/sessions/" ..
      table.remove(sessions, 1) .. "/complete", h, "outcome=link")
  end
  return wrk.format("POST", "/v1/financial_connections/sessions", h,
    "account_holder%5Btype%5D=customer&account_holder%5Bcustomer%5D=" .. customer ..
    "&permissions%5B%5D=payment_method")
end
function response(status, headers, body)
  local fca = string.match(body, '"(fca_[%w]+)"')
  if fca and string.find(body, '"object":"financial_connections.session"', 1, true) then
    if #accounts < 1000 then table.insert(accounts, fca) end
  elseif not fca then
    local s = string.match(body, '^{"id":"(fcsess_[%w]+)"')
    if s and #sessions < 1000 then table.insert(sessions, s) end
  end
end
""".replace("PREVIEW", PREVIEW).replace("KEY", KEY)


@dataclass
class Server:
    name: str
    argv: Callable[[int, Path], list[str]]
    fake: bool = False  # runs the FC flow
    cwd: Path | None = None
    env: dict[str, str] = field(default_factory=dict)


def _servers() -> list[Server]:
    return [
        Server(
            "ceiling", lambda port, _d: [str(PY), str(ROOT / "bench" / "trivial_app.py"), str(port)]
        ),
        Server(
            "fake-stripe, memory",
            lambda port, _d: [str(FAKE), "serve", "--host", "127.0.0.1", "--port", str(port)],
            fake=True,
        ),
        Server(
            "fake-stripe, SQLite",
            lambda port, d: [str(FAKE), "serve", "--port", str(port), "--db", str(d / "f.db")],
            fake=True,
        ),
        Server(
            "fake-stripe, SQLite, 2 workers",
            lambda port, d: [
                *(str(FAKE), "serve", "--port", str(port), "--db", str(d / "f.db")),
                *("--workers", "2"),
            ],
            fake=True,
        ),
        # localstripe's CLI binds '::' and logs every request: run its aiohttp app on 127.0.0.1,
        # as its start() does minus the bind address and the access log, from scratch.
        Server(
            "localstripe",
            lambda port, _d: [
                str(PEER_VENV / "bin" / "python"),
                "-c",
                "import sys\nfrom aiohttp import web\nfrom localstripe.server import app\n"
                "web.run_app(app, host='127.0.0.1', port=int(sys.argv[1]), access_log=None,"
                " print=None)",
                str(port),
            ],
        ),
        # stripe-stateful-mock's autostart listens on every interface; its README's "Custom"
        # start listens where we say.
        Server(
            "stripe-stateful-mock",
            lambda port, _d: [
                "node",
                "-e",
                'require("stripe-stateful-mock").createExpressApp()'
                '.listen(+process.env.PORT, "127.0.0.1");',
            ],
            cwd=NPM_DIR,
            env={"LOG_LEVEL": "warn"},
        ),
    ]


PEERS = {"localstripe", "stripe-stateful-mock"}


# ---- small tools -------------------------------------------------------------------------------


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def http(method: str, url: str, body: str | None = None, timeout: float = 5) -> tuple[int, bytes]:
    req = urllib.request.Request(
        url, data=body.encode() if body is not None else None, method=method
    )
    req.add_header("Authorization", f"Bearer {KEY}")
    if body is not None:
        req.add_header("Content-Type", "application/x-www-form-urlencoded")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
        return 0, b""


def tree_pids(root: int) -> list[int]:
    """`root` and every process below it."""
    children: dict[int, list[int]] = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                ppid = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
                children.setdefault(ppid, []).append(int(d.name))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo += children.get(pid, [])
    return out


def rss_mib(root: int) -> float:
    """VmRSS of `root` and its descendants (the workers of `--workers`), in MiB."""
    total = 0
    for pid in tree_pids(root):
        with contextlib.suppress(OSError):
            m = re.search(r"^VmRSS:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text(), re.M)
            total += int(m.group(1)) if m else 0
    return total / 1024


def listening_on_loopback_only(port: int) -> bool:
    out = subprocess.run(
        ["ss", "-Hltn", f"sport = :{port}"], capture_output=True, text=True, timeout=10
    ).stdout
    addrs = {line.split()[3] for line in out.splitlines() if line.strip()}
    return bool(addrs) and addrs == {f"127.0.0.1:{port}"}


@contextlib.contextmanager
def running(server: Server, port: int, workdir: Path) -> Iterator[subprocess.Popen[bytes]]:
    log = open(workdir / f"{server.name.replace(' ', '_').replace(',', '')}.log", "wb")
    proc = subprocess.Popen(
        server.argv(port, workdir),
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=server.cwd,
        env={**os.environ, **server.env, "PORT": str(port)},
        start_new_session=True,  # its own process group: stopped with every worker it starts
    )
    try:
        yield proc
    finally:
        stop_group(proc)
        log.close()


def wrk(
    url: str, seconds: int, conns: int, script: Path | None, args: list[str]
) -> dict[str, float]:
    if script is not None and not script.exists():
        raise FileNotFoundError(script)
    cmd = wrk_command(url, seconds, conns, KEY, script, args, latency=True)
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 30).stdout
    return read_wrk(out, latency=True)


# ---- one server, one round -------------------------------------------------------------------


def measure(server: Server, workdir: Path, seconds: int, conns: int) -> dict[str, float]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    out: dict[str, float] = {}
    start = time.perf_counter()
    with running(server, port, workdir) as proc:
        deadline = start + 60
        while http("GET", f"{base}/v1/customers", timeout=2)[0] != 200:
            if proc.poll() is not None or time.perf_counter() > deadline:
                log = next(workdir.glob("*.log")).read_text(errors="replace")[-2000:]
                raise RuntimeError(f"{server.name} did not answer 200 on {base}:\n{log}")
            time.sleep(0.002)
        out["cold_ms"] = (time.perf_counter() - start) * 1000
        if not listening_on_loopback_only(port):
            raise RuntimeError(f"{server.name} listens on more than 127.0.0.1:{port}")
        time.sleep(0.3)  # worker processes finish starting
        out["idle_rss"] = rss_mib(proc.pid)
        status, body = http("POST", f"{base}/v1/customers", POST_BODY)
        if status != 200:
            raise RuntimeError(f"{server.name}: POST /v1/customers gave {status}: {body[:300]!r}")
        cid = json.loads(body)["id"]
        for name, url, script, args in (
            ("get", f"{base}/v1/customers/{cid}", None, []),
            ("post", f"{base}/v1/customers", workdir.parent / "post.lua", []),
        ):
            for k, v in wrk(url, seconds, conns, script, args).items():
                out[f"{name}_{k}"] = v
        if server.fake:
            for k, v in wrk(base, seconds, conns, workdir.parent / "fc.lua", [cid]).items():
                out[f"fc_{k}"] = v
        out["rss_after"] = rss_mib(proc.pid)
    return out


# ---- peers -----------------------------------------------------------------------------------


def install_peers() -> set[str]:
    """Install the peers if missing; returns the names that are ready."""
    ready = set()
    py = PEER_VENV / "bin" / "python"
    if not py.exists() or subprocess.run([str(py), "-c", "import localstripe"]).returncode:
        print(f"installing {LOCALSTRIPE_SPEC} into {PEER_VENV}", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(PEER_VENV)], check=True)
        subprocess.run(
            [str(PEER_VENV / "bin" / "pip"), "install", "-q", LOCALSTRIPE_SPEC], timeout=600
        )
    if py.exists() and not subprocess.run([str(py), "-c", "import localstripe"]).returncode:
        ready.add("localstripe")
    pkg = NPM_DIR / "node_modules" / "stripe-stateful-mock" / "package.json"
    if not pkg.exists() and shutil.which("npm"):
        print(f"installing {SSM_SPEC} into {NPM_DIR}", file=sys.stderr)
        NPM_DIR.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund", "--silent", SSM_SPEC],
            cwd=NPM_DIR,
            timeout=600,
        )
    if pkg.exists() and shutil.which("node"):
        ready.add("stripe-stateful-mock")
    return ready


def versions(names: set[str]) -> str:
    def out(cmd: list[str]) -> str:
        try:
            return subprocess.run(cmd, capture_output=True, text=True, timeout=30).stdout.strip()
        except OSError:
            return "?"

    meta = "import importlib.metadata as m, sys; print(m.version(sys.argv[1]))"
    # The interpreter itself, not only its version: two builds of one version (a distribution's
    # and one compiled by hand, pyenv's say) serve a request at different costs.
    interpreter = (
        "import os, platform, sys; print(platform.python_implementation(), "
        "platform.python_version(), 'at', os.path.realpath(sys.executable))"
    )
    parts = [
        f"fake-stripe {out([str(PY), '-c', meta, 'fake-stripe'])} at "
        f"`{out(['git', '-C', str(ROOT), 'describe', '--always', '--dirty'])}` "
        f"({out([str(PY), '-c', interpreter])}, uvicorn "
        f"{out([str(PY), '-c', meta, 'uvicorn'])}, httptools, uvloop)"
    ]
    if "localstripe" in names:
        parts.append(
            f"localstripe {out([str(PEER_VENV / 'bin' / 'python'), '-c', meta, 'localstripe'])}"
        )
    if "stripe-stateful-mock" in names:
        v = out(
            [
                "node",
                "-p",
                f"require('{NPM_DIR}/node_modules/stripe-stateful-mock/package.json').version",
            ]
        )
        parts.append(f"stripe-stateful-mock {v} (node {out(['node', '--version'])})")
    parts.append(
        out(["wrk", "--version"]).splitlines()[0].split(" [")[0] if shutil.which("wrk") else ""
    )
    return ", ".join(p for p in parts if p)


# ---- in-process and catalog ------------------------------------------------------------------


def inprocess(rounds: int, quick: bool) -> dict[str, float]:
    n = "500" if quick else "3000"
    res = subprocess.run(
        [
            str(PY),
            str(ROOT / "bench" / "inprocess_bench.py"),
            n,
            "0",
            "--repeats",
            str(max(3, rounds)),
        ],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=ROOT,
    )
    found = {}
    for line in res.stdout.splitlines():
        m = re.match(r"(.+?)\s+([\d.]+) us/call", line)
        if m:
            found[m.group(1).strip()] = float(m.group(2))
    if not found:
        raise RuntimeError(
            f"inprocess_bench.py printed nothing I could read:\n{res.stdout}{res.stderr}"
        )
    return found


def catalog(rounds: int) -> dict[str, float]:
    """Wall time of `fake-stripe scenarios run` (in-process) and `--serve`, medians."""
    out: dict[str, list[float]] = {"in-process": [], "--serve": []}
    for _ in range(rounds):
        for label, extra in (("in-process", []), ("--serve", ["--serve"])):
            t = time.perf_counter()
            res = subprocess.run(
                [str(FAKE), "scenarios", "run", *extra],
                capture_output=True,
                text=True,
                timeout=300,
                cwd=ROOT,
            )
            out[label].append(time.perf_counter() - t)
            if res.returncode != 0:
                raise RuntimeError(f"scenarios run {' '.join(extra)} failed:\n{res.stdout[-2000:]}")
    return {k: statistics.median(v) for k, v in out.items()}


# ---- the report ------------------------------------------------------------------------------


def _n(x: float) -> str:
    return f"{x:,.0f}"


def _lat(r: dict[str, float], k: str) -> str:
    return f"{r[k + '_p50']:.2f} / {r[k + '_p99']:.2f}"


def report(
    results: dict[str, dict[str, float]],
    rounds_done: dict[str, int],
    inproc: dict[str, float] | None,
    cat: dict[str, float] | None,
    header: str,
) -> str:
    ceiling = results.get("ceiling")

    def ratio(r: dict[str, float], k: str) -> str:
        if ceiling is None or r is ceiling:
            return ""
        return f" ({r[k + '_rps'] / ceiling[k + '_rps']:.2f}×)"

    lines = [
        header,
        "",
        "| server | cold start to first 200 | idle RSS | `GET /v1/customers/{id}` req/s "
        "| p50 / p99 ms | `POST /v1/customers` req/s | p50 / p99 ms | FC flow req/s "
        "| p50 / p99 ms | RSS after | non-2xx (GET / POST / FC) |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, r in results.items():
        cold = f"{r['cold_ms']:.0f} ms"
        if ceiling is not None and r is not ceiling:
            cold += f" ({r['cold_ms'] / ceiling['cold_ms']:.2f}×)"
        fc = (f"{_n(r['fc_rps'])}", _lat(r, "fc")) if "fc_rps" in r else ("n/a", "n/a")
        non2xx = " / ".join(
            f"{r[k + '_non2xx']:.0f}" for k in ("get", "post", "fc") if k + "_rps" in r
        )
        lines.append(
            f"| {name} | {cold} | {r['idle_rss']:.0f} MiB | {_n(r['get_rps'])}{ratio(r, 'get')} "
            f"| {_lat(r, 'get')} | {_n(r['post_rps'])}{ratio(r, 'post')} | {_lat(r, 'post')} "
            f"| {fc[0]} | {fc[1]} | {r['rss_after']:.0f} MiB | {non2xx} |"
        )
    lines.append("")
    done = ", ".join(f"{k} {v}" for k, v in rounds_done.items())
    lines.append(f"Rounds per server (medians over these): {done}.")
    if inproc:
        lines += ["", "In-process (`bench/inprocess_bench.py`), µs per call, median of rounds:", ""]
        lines += ["| call | µs |", "|---|---|"]
        lines += [f"| {k} | {v:.1f} |" for k, v in inproc.items()]
    if cat:
        lines += [
            "",
            "Scenario catalog, wall time of the whole command (Python start included):",
            "",
        ]
        lines += ["| `fake-stripe scenarios run` | seconds |", "|---|---|"]
        lines += [f"| {k} | {v:.2f} |" for k, v in cat.items()]
    lines += [
        "",
        "Targets:",
        "",
        "| what | target | figure | met |",
        "|---|---|---|---|",
    ]
    lines += targets(results, inproc, cat)
    return "\n".join(lines)


def targets(
    results: dict[str, dict[str, float]],
    inproc: dict[str, float] | None,
    cat: dict[str, float] | None,
) -> list[str]:
    rows = []
    c = results.get("ceiling")
    mem = results.get("fake-stripe, memory")
    sql = results.get("fake-stripe, SQLite")

    def row(
        what: str, target: str, value: float | None, ok: Callable[[float], bool], fmt: str
    ) -> None:
        if value is None:
            rows.append(f"| {what} | {target} | not measured | — |")
            return
        shown = fmt.format(value)
        if ok(round(value, 2)) != ok(value):  # (0.899× would show as 0.90× against ≥ 0.9×)
            shown = fmt.replace(".2f", ".3f").format(value)
        rows.append(f"| {what} | {target} | {shown} | {'met' if ok(value) else 'not met'} |")

    def rel(a: dict[str, float] | None, b: dict[str, float] | None, k: str) -> float | None:
        return a[k] / b[k] if a and b else None

    row(
        "GET /v1/customers/{id}, memory",
        "≥ 0.9× ceiling",
        rel(mem, c, "get_rps"),
        lambda v: v >= 0.9,
        "{:.2f}×",
    )
    row(
        "POST /v1/customers, memory",
        "≥ 0.6× ceiling",
        rel(mem, c, "post_rps"),
        lambda v: v >= 0.6,
        "{:.2f}×",
    )
    row(
        "POST /v1/customers, SQLite",
        "≥ 0.3× ceiling",
        rel(sql, c, "post_rps"),
        lambda v: v >= 0.3,
        "{:.2f}×",
    )
    row(
        "cold start to first 200, memory",
        "≤ 1.15× ceiling",
        rel(mem, c, "cold_ms"),
        lambda v: v <= 1.15,
        "{:.2f}×",
    )
    sdk = rel(
        {"x": inproc["sdk in-process"]} if inproc and "sdk in-process" in inproc else None,
        {"x": inproc["sdk canned"]} if inproc and "sdk canned" in inproc else None,
        "x",
    )
    row(
        "in-process SDK `customers.retrieve`",
        "≤ 1.3× SDK on a canned client",
        sdk,
        lambda v: v <= 1.3,
        "{:.2f}×",
    )
    row(
        "catalog in-process",
        "≤ 1.0 s wall",
        cat.get("in-process") if cat else None,
        lambda v: v <= 1.0,
        "{:.2f} s",
    )
    row(
        "catalog over HTTP",
        "≤ 1.5 s wall",
        cat.get("--serve") if cat else None,
        lambda v: v <= 1.5,
        "{:.2f} s",
    )
    mock = results.get("stripe-stateful-mock")
    row(
        "POST /v1/customers, memory, against stripe-stateful-mock",
        "ahead (> 1.0×)",
        rel(mem, mock, "post_rps"),
        lambda v: v > 1.0,
        "{:.2f}×",
    )
    for kind, key in (("GET", "get_rps"), ("POST", "post_rps")):
        shown = [rel(mem, results.get(p), key) for p in sorted(PEERS)]
        found = [v for v in shown if v is not None]
        row(
            f"{kind}, memory, against the faster peer",
            "≥ 1.5×",
            min(found) if len(found) == len(PEERS) else None,
            lambda v: v >= 1.5,
            "{:.2f}×",
        )
    rows.append(
        "| `accounts?session=` and every list filter and lookup at 100,000 objects "
        "| ≤ 1.1× empty | `bench/scale.py` (memory, SQLite, PostgreSQL) | see below |"
    )
    return rows


def write(path: Path, text: str) -> None:
    doc = path.read_text() if path.exists() else "# Benchmarks\n"
    block = f"{BEGIN}\n{text}\n{END}"
    if BEGIN in doc and END in doc:
        doc = doc[: doc.index(BEGIN)] + block + doc[doc.index(END) + len(END) :]
    else:
        doc = doc.rstrip("\n") + "\n\n" + block + "\n"
    path.write_text(doc)


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--quick", action="store_true", help="1 round, 2 s per wrk run, no peers, print only"
    )
    ap.add_argument("--rounds", type=int, default=None)
    ap.add_argument("--seconds", type=int, default=None, help="wrk duration per run")
    ap.add_argument("--connections", type=int, default=10)
    ap.add_argument("--no-peers", action="store_true")
    ap.add_argument(
        "--no-inprocess", action="store_true", help="skip the in-process and catalog parts"
    )
    ap.add_argument("--only", default=None, help="comma-separated server names (substring match)")
    ap.add_argument("--write", type=Path, default=None, help="Markdown file to update")
    ap.add_argument(
        "--python",
        type=Path,
        default=None,
        help="the interpreter of the ceiling and of fake-stripe (default .venv/bin/python)",
    )
    ap.add_argument(
        "--max-minutes", type=float, default=60, help="stop starting servers after this"
    )
    args = ap.parse_args()
    global PY, FAKE
    if args.python is not None:
        # Not resolved: a venv's interpreter is a link, and the venv is what it is run for.
        PY = args.python.absolute()
        FAKE = PY.parent / "fake-stripe"
        if not FAKE.exists():
            ap.error(f"--python {args.python}: no fake-stripe next to it ({FAKE})")
    rounds = args.rounds or (1 if args.quick else 3)
    seconds = args.seconds or (2 if args.quick else 8)
    target = args.write or (None if args.quick else ROOT / "docs" / "benchmarks.md")
    if not need_wrk("bench/compare.py"):
        return 2
    # The project's modules compiled, as an install leaves them (`scripts/bootstrap` does it):
    # otherwise, where PYTHONDONTWRITEBYTECODE is set, each start would compile them again.
    subprocess.run(
        [str(PY), "-m", "compileall", "-q", "fake_stripe", "scenarios", "client"],
        cwd=ROOT,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    servers = _servers()
    ready = set() if (args.quick or args.no_peers) else install_peers()
    servers = [s for s in servers if s.name not in PEERS or s.name in ready]
    if args.only:
        wanted = args.only.split(",")
        servers = [s for s in servers if s.name == "ceiling" or any(w in s.name for w in wanted)]
    # localstripe pickles its store here on every write: removed at the end if it is ours
    pickle = Path("/tmp/localstripe.pickle")
    pickle_was_there = pickle.exists()
    load_before = Path("/proc/loadavg").read_text().split()[:3]
    stop_at = time.monotonic() + args.max_minutes * 60
    samples: dict[str, list[dict[str, float]]] = {s.name: [] for s in servers}
    try:
        with tempfile.TemporaryDirectory(prefix="fake-stripe-bench-") as tmp:
            work = Path(tmp)
            (work / "post.lua").write_text(POST_LUA)
            (work / "fc.lua").write_text(FC_LUA)
            for r in range(rounds):
                for s in servers:
                    if time.monotonic() > stop_at:
                        print("time limit reached: stopping", file=sys.stderr)
                        break
                    d = (
                        work
                        / f"r{r}-{len(samples[s.name])}-{s.name.replace(' ', '_').replace(',', '')}"
                    )
                    d.mkdir()
                    print(f"[round {r + 1}/{rounds}] {s.name}", file=sys.stderr, flush=True)
                    samples[s.name].append(measure(s, d, seconds, args.connections))
    finally:
        if not pickle_was_there:
            pickle.unlink(missing_ok=True)
    results = {
        name: {k: statistics.median(x[k] for x in runs) for k in runs[0]}
        for name, runs in samples.items()
        if runs
    }
    inproc = cat = None
    if not args.no_inprocess:
        print("in-process bench", file=sys.stderr, flush=True)
        inproc = inprocess(rounds, args.quick)
        print("scenario catalog", file=sys.stderr, flush=True)
        cat = catalog(rounds)
    load_after = Path("/proc/loadavg").read_text().split()[:3]
    cmd = " ".join(["bench/compare.py", *sys.argv[1:]])
    header = (
        f"`.venv/bin/python {cmd}`: {datetime.date.today().isoformat()}, {os.cpu_count()} cores, "
        f"wrk -t1 -c{args.connections} -d{seconds}s --latency, {rounds} round(s), medians. "
        f"{versions(ready)}. Load average before {' '.join(load_before)}, "
        f"after {' '.join(load_after)}."
    )
    text = report(results, {k: len(v) for k, v in samples.items()}, inproc, cat, header)
    print(text)
    if target is not None:
        write(target, text)
        print(f"\nwritten to {target}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
