"""Every failure a user can cause on the command line: one line on stderr that names what to do,
exit status 2, no traceback. Each case runs `fake-stripe` in a subprocess, as a user would."""

from __future__ import annotations

import gzip
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

# `fake-stripe ARGS...` with some modules made unimportable first (as if an extra were not
# installed): `sys.modules[name] = None` makes `import name` raise ImportError.
RUN = (
    "import sys\n"
    "for name in filter(None, sys.argv[1].split(',')):\n"
    "    sys.modules[name] = None\n"
    "from fake_stripe.cli.main import main\n"
    "sys.exit(main(sys.argv[2:]))\n"
)


def dead_url() -> str:
    """A loopback URL nothing listens at."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


def fails_in_one_line(*argv: str, without: str = "", cwd: Path | None = None) -> str:
    """Run `fake-stripe ARGV`; assert exit 2 and a single line on stderr; return that line."""
    env = {k: v for k, v in os.environ.items() if not k.endswith("STRIPE_API_KEY")}
    env.pop("FAKE_STRIPE_OPENAPI", None)
    done = subprocess.run(
        [sys.executable, "-c", RUN, without, *argv],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=cwd,
    )
    lines = done.stderr.splitlines()
    assert done.returncode == 2, done.stdout + done.stderr
    assert len(lines) == 1, done.stderr
    assert "Traceback" not in done.stderr
    return lines[0]


# ---- no fake running ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        ["trigger", "customer.created", "--api-key", "sk_test_cli"],
        ["listen", "--forward-to", "http://127.0.0.1:9/hook", "--api-key", "sk_test_cli"],
        ["dashboard", "--no-open"],
        ["scenarios", "run", "-k", "zero-accounts"],
    ],
    ids=["trigger", "listen", "dashboard", "scenarios-run"],
)
def test_a_command_with_no_fake_at_its_url_says_to_start_one(argv: list[str]) -> None:
    url = dead_url()
    line = fails_in_one_line(*argv, "--base-url", url)
    assert line.startswith(f"fake-stripe {argv[0]}: no fake-stripe answers at {url}")
    assert "start one with `fake-stripe serve`, or give --base-url" in line


# ---- keys --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        ["trigger", "customer.created"],
        ["listen", "--forward-to", "http://127.0.0.1:9/hook"],
    ],
    ids=["trigger", "listen"],
)
def test_a_command_without_a_key_asks_for_one(argv: list[str]) -> None:
    line = fails_in_one_line(*argv, "--base-url", dead_url())
    assert line == f"fake-stripe {argv[0]}: give --api-key sk_test_... (or set FAKE_STRIPE_API_KEY)"


@pytest.mark.parametrize(
    "argv",
    [
        ["trigger", "customer.created"],
        ["listen", "--forward-to", "http://127.0.0.1:9/hook"],
        ["dashboard", "--no-open"],
    ],
    ids=["trigger", "listen", "dashboard"],
)
def test_a_live_key_is_refused_before_anything_is_sent(argv: list[str]) -> None:
    line = fails_in_one_line(*argv, "--api-key", "sk_live_nope", "--base-url", dead_url())
    assert line == (
        f"fake-stripe {argv[0]}: the fake refuses live-mode keys: give a test key such as "
        "sk_test_demo"
    )


def test_a_publishable_key_cannot_trigger() -> None:
    line = fails_in_one_line("trigger", "customer.created", "--api-key", "pk_test_x")
    assert "give the secret key (sk_test_...) instead" in line


# ---- unknown event, bad arguments --------------------------------------------------------------


def test_trigger_of_an_unknown_event_names_the_closest_and_where_the_list_is() -> None:
    line = fails_in_one_line("trigger", "customer.creatd", "--api-key", "sk_test_cli")
    assert line == (
        "fake-stripe trigger: no trigger for 'customer.creatd': did you mean customer.created? "
        "`fake-stripe trigger --help` lists the 16 events it can cause"
    )


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["serv"], "fake-stripe: argument command: invalid choice: 'serv'"),
        (["serve", "--port", "x"], "fake-stripe serve: argument --port: invalid int value: 'x'"),
        (["listen"], "fake-stripe listen: the following arguments are required: --forward-to"),
    ],
    ids=["unknown-command", "bad-value", "missing-option"],
)
def test_a_usage_error_is_one_line_pointing_at_help(argv: list[str], expected: str) -> None:
    line = fails_in_one_line(*argv)
    assert line.startswith(expected)
    assert line.endswith("--help)")


def test_serve_with_workers_and_no_db_says_to_give_one() -> None:
    line = fails_in_one_line("serve", "--port", "0", "--workers", "2")
    assert "--workers needs --db" in line and "--db fake.sqlite" in line


# ---- missing extras ----------------------------------------------------------------------------


def test_scenarios_run_without_the_sdk_names_the_extra() -> None:
    line = fails_in_one_line("scenarios", "run", "-k", "zero-accounts", without="stripe")
    assert "pip install 'fake-stripe[scenarios]'" in line


def test_scenarios_list_needs_no_sdk() -> None:
    done = subprocess.run(
        [sys.executable, "-c", RUN, "stripe", "scenarios", "list", "-k", "zero-accounts"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "zero-accounts" in done.stdout


def test_spec_record_of_yaml_without_pyyaml_names_the_extra(tmp_path: Path) -> None:
    source = tmp_path / "spec3.yaml.gz"
    source.write_bytes(gzip.compress(b"openapi: 3.0.0\npaths: {}\n"))
    line = fails_in_one_line(
        "spec", "record", str(source), "--out", str(tmp_path / "o.json"), without="yaml"
    )
    assert line.startswith("fake-stripe spec record: ")
    assert "pip install 'fake-stripe[record]'" in line


# ---- bad files ---------------------------------------------------------------------------------


def test_spec_validate_of_a_file_that_holds_no_recordings_names_it(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"method": "GET", "path": "/v1/events"}), encoding="utf-8")
    line = fails_in_one_line("spec", "validate", str(bad))
    assert line == f"fake-stripe spec validate: {bad}:1: missing status, body"


def test_spec_validate_of_a_missing_file_names_it(tmp_path: Path) -> None:
    line = fails_in_one_line("spec", "validate", str(tmp_path / "absent.jsonl"))
    assert line.startswith("fake-stripe spec validate: ")
    assert "absent.jsonl" in line


def test_spec_show_with_a_missing_spec_file_says_how_to_fix_it(tmp_path: Path) -> None:
    line = fails_in_one_line("spec", "show", "--spec", str(tmp_path / "absent.json"))
    assert line.startswith(f"fake-stripe spec show: no OpenAPI file at {tmp_path}")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("description = 'x'\n[given\n", "not valid TOML"),
        ("description = 'x'\n[given]\n", "given.accounts is missing: it must be a table"),
    ],
    ids=["not-toml", "bad-field"],
)
def test_a_bad_scenario_file_is_named_with_the_format_reference(
    tmp_path: Path, text: str, expected: str
) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(text, encoding="utf-8")
    for action in ("run", "list"):
        line = fails_in_one_line("scenarios", action, str(bad))
        assert line.startswith(f"fake-stripe scenarios: {bad}: ")
        assert expected in line
        assert "FORMAT.md" in line


def test_serve_on_a_port_in_use_says_to_pick_another() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        line = fails_in_one_line("serve", "--port", str(port))
    assert line == (
        f"fake-stripe serve: cannot listen on 127.0.0.1:{port} (Address already in use): stop "
        "what listens there, or give another --port (0 picks a free one)"
    )


def test_the_built_in_commands_are_named_once_and_the_contributed_ones_still_load() -> None:
    """A built-in command skips the lookup of contributed ones: the list of names must be
    the commands the parser has, and `scenarios` (contributed) must still be found."""
    import argparse

    from fake_stripe.cli import main

    def commands(parser: argparse.ArgumentParser) -> set[str]:
        (sub,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        return set(sub.choices)

    assert commands(main.build_parser(contributed=False)) == set(main.BUILT_IN)
    assert "scenarios" in commands(main.build_parser())
