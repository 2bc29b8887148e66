"""The README and the pages of docs/ are executable: every fenced `python` and `bash` example in
them runs here (against a served fake, in a scratch directory), and a line of an example that no
runner below knows how to run fails the test instead of being skipped."""

from __future__ import annotations

import gzip
import json
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
DEFAULT_URL = "http://127.0.0.1:12180"
BIN = Path(sys.executable).parent
HOOK = "http://127.0.0.1:4242/webhook"


def blocks(lang: str, text: str = README) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", text, flags=re.S)


def examples(lang: str) -> list[tuple[str, str]]:
    """(`page#n`, code) of every `lang` block of the README and docs."""
    return [
        (f"{page.relative_to(ROOT)}#{n}", code)
        for page in PAGES
        for n, code in enumerate(blocks(lang, page.read_text()))
    ]


def test_readme_starts_with_exactly_two_commands() -> None:
    first = blocks("bash")[0].strip().splitlines()
    assert len(first) == 2
    assert README.index("```bash") < README.index("\n## ")


def test_ci_runs_the_readmes_test_command() -> None:
    test_command = blocks("bash")[0].strip().splitlines()[1]
    pytest_part = test_command.split("&&")[-1].strip()
    ci = (ROOT / ".ci" / "run").read_text()
    assert pytest_part in ci.splitlines()
    install = test_command.split("&&")[0].strip()
    assert install in ci


def test_the_readme_reads_in_ten_minutes() -> None:
    assert len(README.splitlines()) <= 250


@pytest.fixture(scope="module")
def served() -> Iterator[str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "fake_stripe.cli.main", "serve", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    url = proc.stdout.readline().split()[-1]
    yield url
    proc.terminate()
    proc.communicate(timeout=10)


# ---- python ------------------------------------------------------------------------------------

PYTHON = examples("python")


@pytest.mark.parametrize(("where", "code"), PYTHON, ids=[w for w, _ in PYTHON])
def test_python_example_runs(where: str, code: str, served: str, tmp_path: Path) -> None:
    """Each in a process of its own (examples set `stripe`'s globals, and start browsers); one
    made of pytest tests runs under pytest, with the installed plugin, as a user's suite would."""
    code = code.replace(DEFAULT_URL, served)
    if re.search(r"^def test_", code, flags=re.M):
        (tmp_path / "test_example.py").write_text(code, encoding="utf-8")
        argv = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_example.py"]
    else:
        argv = [sys.executable, "-c", code]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=180, cwd=tmp_path)
    assert done.returncode == 0, f"{where}:\n{code}\n{done.stdout}{done.stderr}"


# ---- bash --------------------------------------------------------------------------------------


def lines_of(code: str) -> list[str]:
    return [ln.strip() for ln in code.strip().splitlines() if ln.strip()]


def argv_of(line: str, served: str, scratch: Path) -> list[str]:
    """The line as argv: the served fake for the default address, files in the scratch dir."""
    args = shlex.split(line.rstrip(" &").replace(DEFAULT_URL, served), comments=True)
    if args[0].startswith(".venv/bin/"):
        args[0] = str(BIN / Path(args[0]).name)
    out = args[:1]
    for arg in args[1:]:
        if arg.startswith(("out/", "/tmp/")) or arg == "fake.db":
            arg = str(scratch / Path(arg).name)
        out.append(arg)
    return out


def spec_files(scratch: Path, served: str) -> None:
    """What the `fake-stripe spec` examples read: a recorded response, and Stripe spec files."""
    from tests.test_spec_packaged import _tiny

    customer = httpx.post(f"{served}/v1/customers", auth=("sk_test_docs", "")).json()
    recording = {"method": "POST", "path": "/v1/customers", "status": 200, "body": customer}
    (scratch / "recorded.jsonl").write_text(json.dumps(recording) + "\n", encoding="utf-8")
    (scratch / "spec3.json").write_text(json.dumps(_tiny()), encoding="utf-8")
    (scratch / "subset.json").write_text(json.dumps(_tiny()), encoding="utf-8")
    charges = {
        "openapi": "3.0.0",
        "info": {"title": "o", "version": "2023-08-16"},
        "paths": {"/v1/charges": {"get": {"responses": {}}}},
    }
    (scratch / "spec3.yaml.gz").write_bytes(gzip.compress(yaml.safe_dump(charges).encode()))


def run_line(line: str, served: str, scratch: Path) -> None:
    argv = argv_of(line, served, scratch)
    command = " ".join(argv[:3])
    if Path(argv[0]).name == "fake-stripe" and argv[1] == "serve":
        if "--port" in argv:  # a free port, whatever the example asks for
            del argv[argv.index("--port") : argv.index("--port") + 2]
        argv += ["--port", "0"]
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert proc.stdout is not None
        started = proc.stdout.readline()
        proc.terminate()
        proc.communicate(timeout=10)
        assert started.startswith("fake-stripe listening on http://127.0.0.1:"), line
        return
    if argv[0] == "curl":
        user = argv[argv.index("-u") + 1].rstrip(":")
        url = next(a for a in argv if a.startswith("http"))
        data = dict(a.split("=", 1) for a in argv[argv.index("-d") + 1 :: 2])
        resp = httpx.post(url, data=data, auth=(user, ""))
        assert resp.status_code == 200 and resp.json()["object"] == "customer", line
        return
    if Path(argv[0]).name != "fake-stripe":
        pytest.fail(f"no runner for this example: {line}")
    if argv[1] in ("trigger", "dashboard") and "--base-url" not in argv:
        argv += ["--base-url", served]
    if argv[1] == "dashboard":
        argv.append("--no-open")
    if argv[1] == "spec":
        spec_files(scratch, served)
    cwd = ROOT if argv[1] == "scenarios" else scratch
    done = subprocess.run(argv, capture_output=True, text=True, timeout=300, cwd=cwd)
    assert done.returncode == 0, f"{line}\n{done.stdout[-2000:]}{done.stderr[-2000:]}"
    if argv[1] == "dashboard":
        assert httpx.get(done.stdout.strip()).status_code == 200, command


BASH = [(where, code) for where, code in examples("bash") if " listen " not in code]


@pytest.mark.parametrize(("where", "code"), BASH, ids=[w for w, _ in BASH])
def test_shell_example_runs(where: str, code: str, served: str, tmp_path: Path) -> None:
    for line in lines_of(code):
        if "&&" in line:  # the README's two commands: what follows the install
            line = line.split("&&")[-1].strip()
            if line == ".venv/bin/python -m pytest":
                continue  # the very command running this test (CI runs it: see above)
        run_line(line, served, tmp_path)


def test_the_example_spec_record_never_writes_the_packaged_file() -> None:
    for _, code in BASH:
        for line in lines_of(code):
            if " spec record " in line:
                assert " --out " in line, line


LISTEN = [(where, code) for where, code in examples("bash") if " listen " in code]


@pytest.mark.parametrize(("where", "code"), LISTEN, ids=[w for w, _ in LISTEN])
def test_webhook_example_delivers_a_signed_event(where: str, code: str, served: str) -> None:
    """A `listen` + `trigger` example, against a served fake and a local receiver."""
    import threading
    import time
    from http.server import BaseHTTPRequestHandler, HTTPServer

    import stripe

    received: list[tuple[bytes, str]] = []

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((body, self.headers["Stripe-Signature"]))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    httpd = HTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    hook_url = f"http://127.0.0.1:{httpd.server_address[1]}/webhook"
    lines = lines_of(code.replace(HOOK, hook_url))
    assert any(" serve" in ln for ln in lines)  # the example starts its own; this one is served
    listen_line = next(ln for ln in lines if " listen " in ln)
    trigger_line = next(ln for ln in lines if " trigger " in ln)
    listen = subprocess.Popen(
        [*argv_of(listen_line, served, ROOT), "--base-url", served],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert listen.stdout is not None
        secret = listen.stdout.readline().strip()
        assert secret.startswith("whsec_")
        trigger = [*argv_of(trigger_line, served, ROOT), "--base-url", served]
        out = subprocess.run(trigger, capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stdout + out.stderr
        event_type = trigger[trigger.index("trigger") + 1]
        assert out.stdout.startswith(f"Triggered {event_type}")
        deadline = time.monotonic() + 20
        bodies: list[tuple[bytes, str]] = []
        while time.monotonic() < deadline and not bodies:
            bodies = [(b, s) for b, s in received if json.loads(b)["type"] == event_type]
            time.sleep(0.05)
        assert bodies, [json.loads(b)["type"] for b, _ in received]
        event = stripe.Webhook.construct_event(bodies[0][0].decode(), bodies[0][1], secret)
        assert event.type == event_type
    finally:
        listen.terminate()
        listen.communicate(timeout=10)
        httpd.shutdown()
        httpd.server_close()
    assert listen.returncode == 0
