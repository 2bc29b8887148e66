"""What a start costs up to the first answer, in instructions (valgrind's callgrind, repeatable
whatever the load), step by step: each step a fresh process that does what the step before did
and one thing more, so the difference is that thing's cost.

The fake's steps: Python itself, asyncio and uvloop, Starlette, the fake's own modules
(`fake_stripe.app`), its command line (`fake-stripe serve`'s modules), then the app made on the
memory store and its first `GET /v1/customers` answered in-process. pydantic is not among them:
the first model is built by the first request that needs one, and a list that finds nothing
needs none. The step after the start, its first `POST /v1/customers` (pydantic and the
customer's model imported), is counted apart. The ceiling of `bench/compare.py`
(`bench/trivial_app.py`: uvicorn and a Starlette app) takes the same last step. A socket, the
process's spawn and the kernel's part of loading are not counted: `bench/compare.py` times the
whole start.

Usage: .venv/bin/python bench/startup_instructions.py
Needs Debian's valgrind. About a minute.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

FIRST_GET = """
import asyncio
async def _first(app):
    out = []
    scope = {"type": "http", "method": "GET", "path": "/v1/customers",
             "raw_path": b"/v1/customers", "query_string": b"", "http_version": "1.1",
             "headers": [(b"authorization", b"Bearer sk_test_bench"), (b"host", b"127.0.0.1")],
             "scheme": "http", "server": ("127.0.0.1", 1), "client": ("127.0.0.1", 2),
             "root_path": "", "asgi": {"version": "3.0"}}
    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}
    async def send(message):
        out.append(message)
    await app(scope, receive, send)
    assert out[0]["status"] == 200, out
uvloop.run(_first(app))
"""

FIRST_POST = (
    FIRST_GET.replace('"GET"', '"POST"')
    .replace('"body": b""', '"body": b"email=jenny%40example.com"')
    .replace(
        '(b"host", b"127.0.0.1")',
        '(b"host", b"127.0.0.1"), (b"content-type", b"application/x-www-form-urlencoded")',
    )
)

STEPS = [
    ("Python", "pass"),
    ("asyncio, uvloop", "import asyncio, uvloop"),
    ("Starlette", "import starlette.applications, starlette.routing"),
    ("fake-stripe's modules", "import fake_stripe.app"),
    ("its command line", "import fake_stripe.cli.main, fake_stripe.cli.serve"),
    (
        "the app, its first GET /v1/customers",
        "from fake_stripe.app import create_app\n"
        "from fake_stripe.core.store import open_backend\n"
        "app = create_app(backend=open_backend(None))\n" + FIRST_GET,
    ),
]

CEILING = (
    f"import sys\nsys.path.insert(0, {str(HERE)!r})\nimport uvicorn, uvloop\n"
    "from trivial_app import app\n" + FIRST_GET
)


def collected(code: str) -> int:
    cmd = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null"]
    cmd += [sys.executable, "-c", code]
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True)
    m = re.search(r"Collected\s*:\s*(\d+)", out.stderr)
    if m is None:
        raise SystemExit(f"no callgrind total:\n{out.stderr[-2000:]}")
    return int(m.group(1))


def main() -> None:
    # The modules compiled, as an install leaves them: a start that compiles counts compiling.
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", "fake_stripe"], cwd=HERE.parent, check=True
    )
    print("| step | instructions, millions | the step alone |")
    print("|---|---|---|")
    code, before = "", 0
    for name, step in STEPS:
        code += step + "\n"
        total = collected(code)
        print(f"| {name} | {total / 1e6:,.0f} | {(total - before) / 1e6:+,.0f} |", flush=True)
        before = total
    start = before
    total = collected(code + FIRST_POST)
    alone = (total - start) / 1e6
    print(f"| then its first POST /v1/customers | {total / 1e6:,.0f} | {alone:+,.0f} |")
    ceiling = collected(CEILING)
    print(f"| the ceiling (uvicorn, Starlette), its first GET | {ceiling / 1e6:,.0f} | |")
    print(f"\nThe fake's start: {start / ceiling:.2f}× the ceiling's.")


if __name__ == "__main__":
    main()
