"""The README is executable: its two commands, its Python examples and its shell examples."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
DEFAULT_URL = "http://127.0.0.1:12180"


def blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", README, flags=re.S)


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


@pytest.fixture(scope="module")
def served() -> str:
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


@pytest.mark.parametrize("index", range(len(blocks("python"))))
def test_python_examples_run(index: int, served: str) -> None:
    code = blocks("python")[index].replace(DEFAULT_URL, served)
    exec(compile(code, f"README.md python block {index}", "exec"), {})


def test_curl_example_creates_a_customer(served: str) -> None:
    line = next(ln for b in blocks("bash") for ln in b.splitlines() if ln.startswith("curl "))
    args = shlex.split(line.replace(DEFAULT_URL, served))
    user = args[args.index("-u") + 1].rstrip(":")
    url = next(a for a in args if a.startswith("http"))
    data = dict(a.split("=", 1) for a in args[args.index("-d") + 1 :: 2])
    resp = httpx.post(url, data=data, auth=(user, ""))
    assert resp.status_code == 200
    assert resp.json()["object"] == "customer"


def test_webhook_worked_example_delivers_a_signed_event(served: str) -> None:
    """The README's listen + trigger example, against a served fake and a local receiver."""
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    import stripe

    block = next(b for b in blocks("bash") if "fake-stripe listen" in b)
    lines = [ln.rstrip(" &") for ln in block.strip().splitlines()]
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
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    hook_url = f"http://127.0.0.1:{httpd.server_address[1]}/webhook"
    bin_dir = Path(sys.executable).parent
    listen_line = next(ln for ln in lines if " listen " in ln)
    trigger_line = next(ln for ln in lines if " trigger " in ln)

    def argv(line: str) -> list[str]:
        args = shlex.split(line.replace("http://127.0.0.1:4242/webhook", hook_url))
        return [str(bin_dir / Path(args[0]).name), *args[1:], "--base-url", served]

    listen = subprocess.Popen(
        argv(listen_line), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert listen.stdout is not None
        secret = listen.stdout.readline().strip()
        assert secret.startswith("whsec_")
        out = subprocess.run(argv(trigger_line), capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stdout + out.stderr
        assert out.stdout.startswith("Triggered financial_connections.account.deactivated")
        import time

        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not any(
            json.loads(b)["type"] == "financial_connections.account.deactivated"
            for b, _ in received
        ):
            time.sleep(0.05)
        bodies = [
            (b, sig)
            for b, sig in received
            if json.loads(b)["type"] == "financial_connections.account.deactivated"
        ]
        assert bodies, [json.loads(b)["type"] for b, _ in received]
        event = stripe.Webhook.construct_event(bodies[0][0].decode(), bodies[0][1], secret)
        assert event.data.object.status == "inactive"
    finally:
        listen.terminate()
        listen.communicate(timeout=10)
        httpd.shutdown()
        httpd.server_close()
    assert listen.returncode == 0


def test_dashboard_command_opens_the_page_on_a_running_server(served: str) -> None:
    line = next(ln for b in blocks("bash") for ln in b.splitlines() if " dashboard " in ln + " ")
    args = shlex.split(line)
    bin_dir = Path(sys.executable).parent
    argv = [str(bin_dir / Path(args[0]).name), *args[1:], "--base-url", served, "--no-open"]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
    url = out.stdout.strip()
    assert url.startswith(f"{served}/_fake/dashboard?tenant=")
    page = httpx.get(url)
    assert page.status_code == 200
    assert "<title>fake-stripe dashboard</title>" in page.text
