"""The rest of the API, packaged next to the recorded spec: recorded without prose, with one
example object per resource that fits its schema, a routes index, and loaded under the
recorded spec (`fake-stripe spec record ... --rest FIXTURES`)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from fake_stripe.cli.main import main
from fake_stripe.spec import record, rest
from fake_stripe.spec.examples import Shapes
from fake_stripe.spec.load import PROVENANCE_KEY, load_spec

from .test_spec_packaged import ADDED_COMMIT, ADDED_FROM, _other, _tiny

PACKAGED_REST: dict[str, Any] = rest.read_rest()
CHECK = Path(__file__).resolve().parent.parent / "scripts" / "check-packaged-spec"
FIXTURES_COMMIT = "f6c2a48fbac2819d1feba8143d942ffc65e1c0d2"


def test_packaged_rest_has_no_prose_and_says_where_it_came_from() -> None:
    assert record.prose_left(PACKAGED_REST) == []
    header = PACKAGED_REST[PROVENANCE_KEY]
    assert list(PACKAGED_REST)[0] == PROVENANCE_KEY
    assert header["source"] == ADDED_FROM and header["source_commits"] == [ADDED_COMMIT]
    assert header["over"] == "financial_connections.subset.json"
    assert header["operations"] == 426
    assert header["examples"]["source"] == "fixtures3.json"
    assert header["examples"]["source_commits"] == [FIXTURES_COMMIT]
    assert "usage_record" in header["examples"]["synthesized"]


def test_packaged_rest_is_small_and_gzipped() -> None:
    size = rest.PACKAGED_REST.stat().st_size
    assert rest.PACKAGED_REST.read_bytes()[:2] == b"\x1f\x8b"
    assert size < 200_000, size
    assert rest.PACKAGED_ROUTES.stat().st_size < 40_000


def test_every_example_fits_its_schema() -> None:
    whole = rest.load_whole()
    assert whole is not None
    assert len(whole.examples) > 130
    for name, example in whole.examples.items():
        assert whole.validate_component(name, example) == [], name


def test_a_field_named_description_stays_in_the_examples_as_null() -> None:
    """Stripe always returns `description`; only its example sentence is left out."""
    examples = PACKAGED_REST[rest.EXAMPLES_KEY]
    for name in ("product", "invoice", "tax_rate", "subscription", "payout", "quote"):
        assert "description" in examples[name] and examples[name]["description"] is None, name
    assert examples["invoice"]["lines"]["data"][0]["description"] is None


def test_the_routes_index_lists_every_operation_of_the_spec_and_its_rest() -> None:
    whole = rest.load_whole()
    assert whole is not None
    assert sorted(rest.read_routes()) == sorted(whole.operations())
    assert len(whole.operations()) == 476


def test_the_recorded_spec_wins_over_its_rest() -> None:
    whole = rest.load_whole()
    spec = load_spec()
    assert whole is not None and spec is not None
    schemas = whole.document["components"]["schemas"]
    recorded = spec.document["components"]["schemas"]
    assert schemas["financial_connections.account"] is recorded["financial_connections.account"]
    added = next(iter(PACKAGED_REST["components"]["schemas"]))
    assert added in schemas and added not in recorded
    # A path both have keeps the recorded spec's operations and gains the rest's.
    assert set(whole.document["paths"]["/v1/charges"]) == {"get", "post"}


def _record_tiny(tmp_path: Path) -> tuple[Path, Path, Path, Path]:
    """A tiny spec recorded with one operation added from a second file, and its rest."""
    source = tmp_path / "spec3.json"
    source.write_text(json.dumps(_tiny()), encoding="utf-8")
    other = tmp_path / "other.json"
    other.write_text(json.dumps(_other()), encoding="utf-8")
    fixtures = tmp_path / "fixtures3.json"
    fixtures.write_text(json.dumps({"resources": {}}), encoding="utf-8")
    out, rest_out, routes = tmp_path / "s.json", tmp_path / "r.json.gz", tmp_path / "i.json"
    argv = ["spec", "record", str(source), "--out", str(out), "--add-from", str(other)]
    argv += ["--operation", "GET /v1/things", "--rest", str(fixtures)]
    argv += ["--rest-out", str(rest_out), "--routes-out", str(routes)]
    assert main(argv) == 0
    return out, rest_out, routes, fixtures


def _check(folder: Path, packaged: Path, rest_out: Path, routes: Path) -> Any:
    return subprocess.run(
        [sys.executable, str(CHECK), str(folder), "--packaged", str(packaged)]
        + ["--rest", str(rest_out), "--routes", str(routes)],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_freshness_check_records_the_rest_again(tmp_path: Path) -> None:
    """`scripts/check-packaged-spec` (run by .ci/run on Stripe's files next to the clone) checks
    the rest and the routes index too."""
    packaged, rest_out, routes, fixtures = _record_tiny(tmp_path)
    fresh = _check(tmp_path, packaged, rest_out, routes)
    assert fresh.returncode == 0, fresh.stderr
    assert "are what recording the rest gives" in fresh.stdout
    changed = _other()
    changed["paths"]["/v1/unrelated"]["get"]["operationId"] = "GetUnrelatedAgain"
    (tmp_path / "other.json").write_text(json.dumps(changed), encoding="utf-8")
    stale = _check(tmp_path, packaged, rest_out, routes)
    assert stale.returncode == 1
    assert f"--rest {fixtures}" in stale.stderr and f"--rest-out {rest_out}" in stale.stderr
    fixtures.unlink()
    assert _check(tmp_path, packaged, rest_out, routes).returncode == 2


def test_record_command_with_rest_writes_the_rest_and_the_routes(tmp_path: Path) -> None:
    _, rest_out, routes, _ = _record_tiny(tmp_path)
    written = rest.read_rest(rest_out)
    # What the recorded spec took (GET /v1/things) is not in the rest; the other operations are.
    assert record.operations_of(written) == [
        ("DELETE", "/v1/things/{thing}"),
        ("GET", "/v1/unrelated"),
    ]
    assert set(written["components"]["schemas"]) == {"deleted_thing", "note"}
    assert record.prose_left(written) == []
    assert sorted(rest.read_routes(routes)) == [
        ("DELETE", "/v1/things/{thing}"),
        ("GET", "/v1/things"),
        ("GET", "/v1/things/{thing}"),
        ("GET", "/v1/unrelated"),
    ]


def test_record_command_refuses_rest_without_a_second_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["spec", "record", str(tmp_path / "s.json"), "--rest", str(tmp_path / "f.json")]
    assert main(argv) == 2
    assert "--rest needs --add-from OTHER" in capsys.readouterr().err


SCHEMAS: dict[str, Any] = {
    "thing": {
        "type": "object",
        "properties": {
            "id": {"type": "string"},
            "kind": {"enum": ["a", "b"], "type": "string"},
            "size": {"type": "integer"},
            "note": {"anyOf": [{"type": "string"}, {"enum": [None]}]},
            "owner": {"anyOf": [{"type": "string"}, {"$ref": "#/components/schemas/owner"}]},
            "tags": {"type": "array", "items": {"type": "string"}},
        },
        "required": ["id", "kind", "size", "note", "owner"],
    },
    "owner": {
        "type": "object",
        "properties": {"name": {"type": "string"}, "object": {"enum": ["owner"]}},
        "required": ["name"],
    },
}


def test_shapes_fit_checks_types_enums_and_required_fields() -> None:
    shapes = Shapes(SCHEMAS)
    good = {"id": "t", "kind": "a", "size": 1, "note": None, "owner": "o_1"}
    assert shapes.fits(good, SCHEMAS["thing"])
    assert shapes.fits({**good, "owner": {"name": "Ann"}}, SCHEMAS["thing"])
    assert not shapes.fits({**good, "kind": "c"}, SCHEMAS["thing"])
    assert not shapes.fits({**good, "size": True}, SCHEMAS["thing"])
    assert not shapes.fits({**good, "tags": [1]}, SCHEMAS["thing"])
    assert not shapes.fits({k: v for k, v in good.items() if k != "note"}, SCHEMAS["thing"])


def test_shapes_conform_keeps_what_fits_fills_what_is_required_and_drops_the_rest() -> None:
    shapes = Shapes(SCHEMAS)
    conformed = shapes.conform(
        {"id": "t", "kind": "z", "owner": {"name": "Ann", "age": 3}, "extra": 1},
        SCHEMAS["thing"],
    )
    assert conformed == {"id": "t", "kind": "a", "size": 0, "note": None, "owner": {"name": "Ann"}}
    assert shapes.fits(conformed, SCHEMAS["thing"])


def test_shapes_least_is_null_where_allowed_and_ids_before_objects() -> None:
    shapes = Shapes(SCHEMAS)
    assert shapes.least(SCHEMAS["thing"]) == {
        "id": "",
        "kind": "a",
        "size": 0,
        "note": None,
        "owner": "",
    }
