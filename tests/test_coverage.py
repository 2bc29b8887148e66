"""`fake-stripe coverage`: the table, its copy in docs/coverage.md, and what an operation the
fake does not model by hand answers with `--only-modelled`."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from fake_stripe.app import routes_table
from fake_stripe.cli.coverage import table_of
from fake_stripe.cli.main import main
from fake_stripe.spec import coverage
from fake_stripe.spec.rest import WholeSpec, load_whole

from .helpers import Served, assert_error
from .spec_guard import recorded_spec

SPEC = recorded_spec()
LOADED = load_whole()
assert LOADED is not None
WHOLE: WholeSpec = LOADED
ROOT = Path(__file__).resolve().parent.parent
TABLE = table_of(SPEC, whole=True)

NOT_MODELLED = [
    (method, path)
    for method, path in WHOLE.operations()
    if not coverage.is_implemented(routes_table(), method, path)
]


def test_command_prints_the_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["coverage"]) == 0
    out = capsys.readouterr().out
    assert out == TABLE
    assert "| `GET /v1/financial_connections/authorizations/{authorization}` | modelled |" in out
    assert "| `POST /v1/refunds` | generic-stateful |" in out
    assert "| `POST /v1/invoices/{invoice}/void` | generic-action: status → `void` |" in out
    assert "| `POST /v1/invoices/{invoice}/send` | generic-action: changes nothing |" in out


def test_table_has_one_row_per_operation_of_the_whole_api() -> None:
    rows = re.findall(r"^\| `(\w+) (\S+)` \| ([^|]+) \|$", TABLE, re.MULTILINE)
    assert sorted((m, p) for m, p, _ in rows) == sorted(WHOLE.operations())
    assert len(rows) > 400
    for method, path, how in rows:
        modelled = coverage.is_implemented(routes_table(), method, path)
        assert (how == "modelled") == modelled, (method, path, how)
        if not modelled:
            assert how == "generic-stateful" or how.startswith("generic-action: "), how


def test_command_with_a_spec_file_covers_that_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["coverage", "--spec", str(coverage_spec_file(tmp_path))]) == 0
    out = capsys.readouterr().out
    assert "| `GET /v1/customers` | modelled |" in out
    assert "| `GET /v1/refunds/{refund}` | generic-stateful |" in out
    assert "| `GET /v1/not_stripe` | no |" in out
    assert "The other 1 answer as Stripe answers an unknown URL" in out


def coverage_spec_file(tmp_path: Path) -> Path:
    import json

    paths: dict[str, Any] = {
        "/v1/customers": {"get": {"responses": {}}},
        "/v1/refunds/{refund}": {"get": {"responses": {}}},
        "/v1/not_stripe": {"get": {"responses": {}}},
    }
    target = tmp_path / "mine.json"
    target.write_text(json.dumps({"openapi": "3.0.0", "paths": paths}), encoding="utf-8")
    return target


def test_command_without_the_spec_names_the_variable(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["coverage", "--spec", str(tmp_path / "absent.json")]) == 2
    assert "FAKE_STRIPE_OPENAPI" in capsys.readouterr().err


def test_command_writes_the_table_to_a_file(tmp_path: Path) -> None:
    target = tmp_path / "coverage.md"
    assert main(["coverage", "--write", str(target)]) == 0
    assert target.read_text(encoding="utf-8") == TABLE


def test_docs_coverage_is_the_commands_output() -> None:
    text = (ROOT / "docs" / "coverage.md").read_text(encoding="utf-8")
    assert text == TABLE, (
        "docs/coverage.md is stale: run `fake-stripe coverage --write docs/coverage.md`"
    )


@pytest.fixture(scope="module")
def only_modelled() -> Iterator[Served]:
    served = Served(seed=7, strict=True, only_modelled=True)
    yield served
    served.close()


@pytest.fixture
def refusing(mode: str, only_modelled: Served) -> Iterator[httpx.Client]:
    """A client of the `--only-modelled` app, in-process or over its socket."""
    with only_modelled.client(mode, "sk_test_only_modelled") as http:
        yield http


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "x_123", path)


def _modelled_match(method: str, url: str) -> bool:
    """Whether a hand-modelled route takes `url` as one of its ids (`/v1/customers/search`
    is a customer named `search` to a fake that knows no search)."""
    for ep in routes_table():
        pattern = "^" + re.sub(r"\\\{\w+\\\}", "[^/]+", re.escape(ep.path)) + "$"
        if ep.method == method and re.match(pattern, url):
            return True
    return False


@pytest.mark.parametrize(
    ("method", "path"), NOT_MODELLED, ids=[f"{m} {p}" for m, p in NOT_MODELLED]
)
def test_only_modelled_answers_every_other_operation_like_an_unknown_url(
    refusing: httpx.Client, method: str, path: str
) -> None:
    url = _concrete(path)
    data = {"metadata[a]": "b"} if method == "POST" else None
    resp = refusing.request(
        method, url, data=data, headers={"Stripe-Version": "2026-07-29.preview"}
    )
    assert "fake-stripe-model" not in resp.headers
    if _modelled_match(method, url):
        assert_error(resp, 404, code="resource_missing", param="id")
        return
    err = assert_error(resp, 404)
    assert err["message"].startswith(f"Unrecognized request URL ({method}: {url}).")
