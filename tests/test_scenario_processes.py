"""Scenarios played by forked processes (`scenarios/processes.py`): the same results as one
process, a dead process costing only its own scenarios, and no fork where it is unsafe."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import textwrap
import threading
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from scenarios import MAX_PROCESSES, processes
from scenarios.cli import main as scenarios_main
from scenarios.expect import MISSING

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="no os.fork on this platform")


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fake_stripe.cli.main", "scenarios", "run", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )


def _cases(junit: Path) -> dict[str, str]:
    """Each test case of a JUnit file, by name: its outcome."""
    out = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        failed = case.find("failure") is not None or case.find("error") is not None
        out[case.attrib["name"]] = "fail" if failed else "pass"
    return out


@pytest.mark.parametrize("where", ["in-process", "--serve"])
def test_forked_processes_play_what_one_process_plays(tmp_path: Path, where: str) -> None:
    serve = ["--serve"] if where == "--serve" else []
    forked = _cli("-k", "ach", "--processes", "2", "--junit", str(tmp_path / "2.xml"), *serve)
    alone = _cli("-k", "ach", "--processes", "1", "--junit", str(tmp_path / "1.xml"), *serve)
    assert forked.returncode == 0, forked.stdout + forked.stderr
    assert alone.returncode == 0, alone.stdout + alone.stderr
    assert "(in-process, 2 processes x 2 workers," in forked.stdout or serve
    assert ", 2 processes x 2 workers, SDK" in forked.stdout
    assert " processes x " not in alone.stdout
    cases = _cases(tmp_path / "2.xml")
    assert len(cases) >= 6  # the ACH scenarios, one with real webhook deliveries
    assert cases == _cases(tmp_path / "1.xml")
    # The table lists the scenarios in the catalog's order, not in the order they ended.
    rows = [line.split()[0] for line in forked.stdout.splitlines() if " PASS " in line]
    assert rows == [line.split()[0] for line in alone.stdout.splitlines() if " PASS " in line]
    assert "Traceback" not in forked.stderr


PLAYED_BY_SCRIPT = textwrap.dedent(
    """
    import contextlib, os, signal, sys
    from scenarios import discover, load, processes
    from scenarios.expect import Mismatch
    from scenarios.runner import Result

    items = [load(p) for p in discover()][:8]
    doomed, odd = items[2].name, items[5].name

    def play(scenario, target, seed):
        if scenario.name == doomed:
            os.kill(os.getpid(), signal.SIGKILL)
        if scenario.name == odd:  # a value that does not pickle
            return Result(scenario, "fail", 0.5, [Mismatch("expect.x", 1, lambda: 2)])
        return Result(scenario, "pass", 0.25, key="sk_test_" + scenario.name)

    processes.play = play  # copied into each process by the fork
    ended = []
    with processes.Processes(items, lambda: contextlib.nullcontext(None), 2, 1) as pool:
        results = pool.collect(lambda r: ended.append(r.scenario.name))
    assert [r.scenario.name for r in results] == [s.name for s in items]
    assert sorted(ended) == sorted(s.name for s in items)
    for r in results:
        print(r.scenario.name, r.outcome, r.key, "|".join(r.details()))
    """
)


def test_a_killed_process_costs_only_its_own_scenario() -> None:
    proc = subprocess.run(
        [sys.executable, "-c", PLAYED_BY_SCRIPT],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert len(lines) == 8
    errors = [line for line in lines if " error " in line]
    assert len(errors) == 1
    assert "the process playing it was killed by signal 9 (SIGKILL) before it ended" in errors[0]
    # The unpicklable value arrives as it is shown; every other scenario was played.
    odd = lines[5]
    assert " fail " in odd and "expect.x: expected 1, got <function" in odd
    assert sum(" pass sk_test_" in line for line in lines) == 6


def test_no_fork_while_another_thread_runs(capsys: pytest.CaptureFixture[str]) -> None:
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        assert not processes.can_fork()
        code = scenarios_main(["run", "-k", "token-expired", "--processes", "2"])
    finally:
        stop.set()
        other.join()
    out = capsys.readouterr().out
    assert code == 0, out
    summary = out.strip().splitlines()[-1]
    assert "passed" in summary and "processes" not in summary


def test_process_count_stays_within_cores_cap_and_scenarios(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(processes, "cores", lambda: 16)
    assert processes.default_processes(46, 2) == MAX_PROCESSES
    assert processes.default_processes(3, 2) == 2
    assert processes.default_processes(1, 2) == 1
    monkeypatch.setattr(processes, "cores", lambda: 1)
    assert processes.default_processes(46, 2) == 1


def test_missing_crosses_processes_as_itself() -> None:
    assert pickle.loads(pickle.dumps(MISSING)) is MISSING


def test_processes_must_be_positive(capsys: pytest.CaptureFixture[str]) -> None:
    assert scenarios_main(["run", "--processes", "0"]) != 0
    assert "--processes must be at least 1" in capsys.readouterr().err
