"""What an install puts on a user's path: a wheel built from the checkout holds `fake_stripe` and
nothing else at its top level (the reference client and the scenario runner under it), with
`py.typed` and the scenario catalog, and the `scenarios` subcommand registered under its
installed name. Built offline, from a copy of the sources, with this venv's setuptools."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ("pyproject.toml", "setup.py", "README.md", "LICENSE")
PACKAGES = ("fake_stripe", "client", "scenarios")


def installed(path: Path) -> str:
    """Where a file of the checkout lands in the wheel: `client/x.py` in `fake_stripe/client/`."""
    relative = path.relative_to(ROOT).as_posix()
    return relative if relative.startswith("fake_stripe/") else "fake_stripe/" + relative


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    tree = tmp_path_factory.mktemp("tree")
    for name in SOURCES:
        if (ROOT / name).exists():
            shutil.copy(ROOT / name, tree / name)
    for name in PACKAGES:
        shutil.copytree(ROOT / name, tree / name, ignore=shutil.ignore_patterns("__pycache__"))
    out = tmp_path_factory.mktemp("dist")
    build = [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation"]
    done = subprocess.run(
        [*build, "--no-index", "-w", str(out), str(tree)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    (built,) = out.glob("*.whl")
    return zipfile.ZipFile(built)


def test_only_fake_stripe_is_on_the_path(wheel: zipfile.ZipFile) -> None:
    top = {name.split("/")[0] for name in wheel.namelist()}
    assert {t for t in top if not t.endswith(".dist-info")} == {"fake_stripe"}


def test_the_client_and_the_runner_are_under_fake_stripe(wheel: zipfile.ZipFile) -> None:
    names = set(wheel.namelist())
    assert "fake_stripe/py.typed" in names
    assert "fake_stripe/client/__init__.py" in names
    assert "fake_stripe/client/py.typed" in names
    assert "fake_stripe/scenarios/cli.py" in names
    assert "fake_stripe/scenarios/FORMAT.md" in names
    catalog = [n for n in names if n.startswith("fake_stripe/scenarios/catalog/")]
    assert len(catalog) == len(list((ROOT / "scenarios" / "catalog").glob("*.toml")))


def test_every_tracked_source_file_is_in_the_wheel(wheel: zipfile.ZipFile) -> None:
    names = set(wheel.namelist())
    missing = [
        str(p.relative_to(ROOT))
        for folder in PACKAGES
        for p in (ROOT / folder).rglob("*")
        if p.is_file()
        and "__pycache__" not in p.parts
        and (p.suffix in (".py", ".js", ".css", ".html", ".toml") or p.name == "py.typed")
        and installed(p) not in names
    ]
    assert not missing


def test_the_scenarios_command_is_registered_under_its_installed_name(
    wheel: zipfile.ZipFile,
) -> None:
    (entry_points,) = [n for n in wheel.namelist() if n.endswith(".dist-info/entry_points.txt")]
    text = wheel.read(entry_points).decode()
    assert "scenarios = fake_stripe.scenarios.cli:register" in text
    assert "LICENSE" in " ".join(wheel.namelist())
