"""`fake-stripe coverage`: the table, its copy in docs/coverage.md, and what an
unimplemented Stripe operation answers."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from fake_stripe.app import routes_table
from fake_stripe.cli.main import main
from fake_stripe.spec import coverage

from .helpers import assert_error
from .spec_guard import recorded_spec

SPEC = recorded_spec()
ROOT = Path(__file__).resolve().parent.parent

UNIMPLEMENTED = [
    (method, path)
    for method, path in SPEC.operations()
    if not coverage.is_implemented(routes_table(), method, path)
]


def test_command_prints_the_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["coverage"]) == 0
    out = capsys.readouterr().out
    assert out == coverage.coverage_table(SPEC, routes_table())
    assert "| `GET /v1/financial_connections/authorizations/{authorization}` | yes |" in out


def test_table_has_one_row_per_recorded_operation() -> None:
    table = coverage.coverage_table(SPEC, routes_table())
    rows = re.findall(r"^\| `(\w+) (\S+)` \| (yes|no) \|$", table, re.MULTILINE)
    assert sorted((m, p) for m, p, _ in rows) == sorted(SPEC.operations())
    for method, path, done in rows:
        assert (done == "yes") == coverage.is_implemented(routes_table(), method, path), (
            method,
            path,
        )


def test_command_without_the_spec_names_the_variable(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["coverage", "--spec", str(tmp_path / "absent.json")]) == 2
    assert "FAKE_STRIPE_OPENAPI" in capsys.readouterr().err


def test_command_writes_the_table_to_a_file(tmp_path: Path) -> None:
    target = tmp_path / "coverage.md"
    assert main(["coverage", "--write", str(target)]) == 0
    assert target.read_text(encoding="utf-8") == coverage.coverage_table(SPEC, routes_table())


def test_docs_coverage_is_the_commands_output() -> None:
    text = (ROOT / "docs" / "coverage.md").read_text(encoding="utf-8")
    assert text == coverage.coverage_table(SPEC, routes_table()), (
        "docs/coverage.md is stale: run `fake-stripe coverage --write docs/coverage.md`"
    )


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "x_123", path)


@pytest.mark.parametrize(
    ("method", "path"), UNIMPLEMENTED, ids=[f"{m} {p}" for m, p in UNIMPLEMENTED]
)
def test_unimplemented_operation_answers_like_an_unknown_url(
    api: httpx.Client, method: str, path: str
) -> None:
    url = _concrete(path)
    data = {"metadata[a]": "b"} if method == "POST" else None
    resp = api.request(method, url, data=data, headers={"Stripe-Version": "2026-07-29.preview"})
    err = assert_error(resp, 404)
    assert err["message"].startswith(f"Unrecognized request URL ({method}: {url}).")
