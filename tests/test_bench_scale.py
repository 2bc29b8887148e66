"""`bench/scale.py --instructions`: reading callgrind's profiles, and the throwaway cluster
started again on its own data with another executable in place of `postgres` (the server under
callgrind). The counts themselves need valgrind and minutes: they are run by hand."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import psycopg
import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"
SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "throwaway-postgres"


def _scale() -> object:
    sys.path.insert(0, str(BENCH))
    try:
        import scale
    finally:
        sys.path.remove(str(BENCH))
    return scale


def test_profiles_are_read_in_the_order_they_were_written(tmp_path: Path) -> None:
    scale: object = _scale()
    for k, total in ((1, 30), (2, 60), (10, 900), (3, 90), (11, 1200), (12, 1500)):
        (tmp_path / f"cg.{k}").write_text(f"events: Ir\nsummary: {total}\n\ntotals: {total}\n")
    (tmp_path / "cg").write_text("totals: 5\n")  # the profile at exit: not a case's
    totals = scale.sorted_dumps(tmp_path, "cg")  # type: ignore[attr-defined]
    assert totals == [30, 60, 90, 900, 1200, 1500]
    # Two cases on three layouts, `n` = 3 requests each: one profile per case and layout.
    got = scale.per_request(["a", "b"], totals, 3, "x")  # type: ignore[attr-defined]
    assert got == {"a": [10, 20, 30], "b": [300, 400, 500]}
    with pytest.raises(SystemExit, match="5 profiles for 2 cases on 3 layouts"):
        scale.per_request(["a", "b"], totals[:5], 3, "x")  # type: ignore[attr-defined]


def test_kept_profiles_are_copied_with_the_cases_they_count(tmp_path: Path) -> None:
    import argparse
    import json

    scale: object = _scale()
    made = tmp_path / "made"
    made.mkdir()
    for name in ("cg.1", "cg.2", "server.77.1"):
        (made / name).write_text(f"totals: {len(name)}\n")
    kept = tmp_path / "kept"
    for where in ("", str(kept)):
        scale.keep(  # type: ignore[attr-defined]
            argparse.Namespace(keep_profiles=where), "PostgreSQL", ["a"], sorted(made.iterdir())
        )
    into = kept / "PostgreSQL"
    assert sorted(f.name for f in into.iterdir()) == ["cases.json", "cg.1", "cg.2", "server.77.1"]
    assert (into / "cg.2").read_text() == "totals: 4\n"
    cases = json.loads((into / "cases.json").read_text())
    assert cases == {"cases": ["a"], "layouts": ["empty", "one tenant", "many tenants"]}


def test_the_throwaway_cluster_restarts_on_its_data_under_another_executable() -> None:
    # In /tmp, as the tests' clusters: as root the cluster runs as `postgres`, which must reach
    # its folder (pytest's own temporary folders are the user's alone).
    folder = Path(tempfile.mkdtemp(prefix="fake-stripe-test-pg-"))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = str(s.getsockname()[1])
    start = subprocess.run(
        [str(SCRIPT), "start", str(folder), port], capture_output=True, text=True, timeout=120
    )
    assert start.returncode == 0, start.stderr
    url = start.stdout.strip()
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("CREATE TABLE kept (n int)")
            conn.execute("INSERT INTO kept VALUES (7)")
        postgres = sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"))[-1]
        wrapper = folder / "wrapper"
        wrapper.write_text(f'#!/bin/sh\necho "$@" > {folder}/wrapped\nexec {postgres} "$@"\n')
        wrapper.chmod(0o755)
        again = subprocess.run(
            [str(SCRIPT), "restart", str(folder), port],
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, "THROWAWAY_PG_EXEC": str(wrapper)},
        )
        assert again.returncode == 0, again.stderr
        assert again.stdout.strip() == url
        assert f"-p {port}" in (folder / "wrapped").read_text()
        with psycopg.connect(url, autocommit=True) as conn:
            assert conn.execute("SELECT n FROM kept").fetchall() == [(7,)]
    finally:
        subprocess.run([str(SCRIPT), "stop", str(folder)], capture_output=True, timeout=120)
    assert not folder.exists()
