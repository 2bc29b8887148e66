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
        [sys.executable, "-m", "fake_stripe.cli", "serve", "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
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
    line = next(
        ln for b in blocks("bash") for ln in b.splitlines() if ln.startswith("curl ")
    )
    args = shlex.split(line.replace(DEFAULT_URL, served))
    user = args[args.index("-u") + 1].rstrip(":")
    url = next(a for a in args if a.startswith("http"))
    data = dict(a.split("=", 1) for a in args[args.index("-d") + 1 :: 2])
    resp = httpx.post(url, data=data, auth=(user, ""))
    assert resp.status_code == 200
    assert resp.json()["object"] == "customer"
