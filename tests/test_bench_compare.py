"""`bench/compare.py --python`: the interpreter the ceiling and fake-stripe run on, and what its
header says of it (the rest of the script needs wrk and minutes: it is run by hand)."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest

COMPARE = Path(__file__).resolve().parent.parent / "bench" / "compare.py"


def test_an_interpreter_with_no_fake_stripe_beside_it_is_refused(tmp_path: Path) -> None:
    python = tmp_path / "bin" / "python"
    python.parent.mkdir()
    python.symlink_to(sys.executable)
    done = subprocess.run(
        [sys.executable, str(COMPARE), "--quick", "--python", str(python)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert f"no fake-stripe next to it ({python.parent / 'fake-stripe'})" in done.stderr


def test_the_header_names_the_interpreter_behind_python(monkeypatch: pytest.MonkeyPatch) -> None:
    # This venv's interpreter: the header names the real file behind its link, with its version.
    sys.path.insert(0, str(COMPARE.parent))
    try:
        import compare
    finally:
        sys.path.remove(str(COMPARE.parent))
    monkeypatch.setattr(compare, "PY", Path(sys.executable))
    header = compare.versions(set())
    real = os.path.realpath(sys.executable)
    assert f"(CPython {platform.python_version()} at {real}, uvicorn " in header
