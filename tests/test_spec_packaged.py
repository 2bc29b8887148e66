"""The spec ships with the package: recorded without Stripe's prose, loaded by default, shown,
re-recorded, and used to check a user's own recordings (`fake-stripe spec ...`)."""

from __future__ import annotations

import gzip
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from fake_stripe.cli.main import main
from fake_stripe.spec import record
from fake_stripe.spec.load import PACKAGED_SPEC, PROVENANCE_KEY, SPEC_ENV, load_spec

ROOT = Path(__file__).resolve().parent.parent
PACKAGED: dict[str, Any] = json.loads(PACKAGED_SPEC.read_text(encoding="utf-8"))


def test_packaged_spec_has_no_description_or_summary_text() -> None:
    assert record.prose_left(PACKAGED) == []
    text = PACKAGED_SPEC.read_text(encoding="utf-8")
    # Sentences Stripe's spec uses all over; none of them may ship.
    assert "The ID of the" not in text
    assert "Specifies which fields in the response should be expanded." not in text


def test_packaged_spec_keeps_fields_named_description_and_the_facts() -> None:
    schemas = PACKAGED["components"]["schemas"]
    assert "description" in schemas["customer"]["properties"]
    assert "description" in schemas["financial_connections.transaction"]["required"]
    account = schemas["financial_connections.account"]
    assert account["x-resourceId"] == "financial_connections.account"
    assert "x-expandableFields" in account
    fc_paths = [p for p in PACKAGED["paths"] if p.startswith("/v1/financial_connections/")]
    assert len(fc_paths) == 15


def test_packaged_spec_carries_its_provenance_and_the_license() -> None:
    header = PACKAGED[PROVENANCE_KEY]
    assert list(PACKAGED)[0] == PROVENANCE_KEY
    assert header["source"] == "financial_connections.subset.json"
    assert header["source_version"].startswith("2026-07-29.preview")
    assert "93baee8d588ed71ca26f16ee051458820ccaee66" in header["source_commits"]
    assert header["nullable"] == "rewritten"
    license_text = (PACKAGED_SPEC.parent / "LICENSE.stripe-openapi").read_text(encoding="utf-8")
    assert "Stripe, Inc." in license_text and "MIT" in license_text


def test_packaged_spec_is_the_default_and_the_variable_overrides_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv(SPEC_ENV, raising=False)
    spec = load_spec()
    assert spec is not None and spec.source == PACKAGED_SPEC
    assert spec.provenance["source"] == "financial_connections.subset.json"
    other = tmp_path / "other.json"
    record.write(record.record(_tiny(), "tiny.json", ["0" * 40], "2026-01-02"), other)
    monkeypatch.setenv(SPEC_ENV, str(other))
    overridden = load_spec()
    assert overridden is not None and overridden.operations() == [("GET", "/v1/things/{thing}")]


def _tiny() -> dict[str, Any]:
    return {
        "openapi": "3.0.0",
        "info": {"title": "t", "version": "2026-01-01.preview", "description": "Prose."},
        "paths": {
            "/v1/things/{thing}": {
                "get": {
                    "summary": "Retrieve a thing",
                    "description": "<p>Retrieves a thing.</p>",
                    "parameters": [
                        {
                            "name": "thing",
                            "in": "path",
                            "required": True,
                            "description": "The thing.",
                            "schema": {"type": "string"},
                        }
                    ],
                    "responses": {
                        "200": {
                            "description": "Successful response.",
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/thing"}
                                }
                            },
                        }
                    },
                }
            }
        },
        "components": {
            "schemas": {
                "thing": {
                    "description": "A thing.",
                    "type": "object",
                    "properties": {
                        "description": {
                            "description": "An arbitrary string.",
                            "nullable": True,
                            "type": "string",
                        },
                        "summary": {"type": "string", "description": "Also a field."},
                        "kind": {"enum": ["a", "b"], "nullable": True, "type": "string"},
                    },
                    "required": ["description", "kind"],
                    "x-stripeBypassValidation": True,
                }
            }
        },
    }


def test_record_drops_prose_keeps_fields_and_rewrites_nullable_once() -> None:
    recorded = record.record(_tiny(), "tiny.json", ["a" * 40], "2026-01-02")
    assert record.prose_left(recorded) == []
    thing = recorded["components"]["schemas"]["thing"]
    assert set(thing["properties"]) == {"description", "summary", "kind"}
    assert thing["properties"]["description"] == {"anyOf": [{"type": "string"}, {"enum": [None]}]}
    assert thing["properties"]["summary"] == {"type": "string"}
    assert thing["x-stripeBypassValidation"] is True
    operation = recorded["paths"]["/v1/things/{thing}"]["get"]
    assert "summary" not in operation and "description" not in operation
    assert "description" not in operation["parameters"][0]
    # OpenAPI 3.0 requires a response description: it stays, empty.
    assert operation["responses"]["200"]["description"] == ""
    assert "description" not in recorded["info"]
    assert recorded[PROVENANCE_KEY] == {
        "source": "tiny.json",
        "source_version": "2026-01-01.preview",
        "source_commits": ["a" * 40],
        "recorded_on": "2026-01-02",
        "prose": "dropped (description, summary)",
        "nullable": "rewritten",
        "license": "MIT, Stripe, Inc.: see LICENSE.stripe-openapi next to this file",
    }


def test_record_command_writes_a_file_the_server_loads(tmp_path: Path) -> None:
    source = tmp_path / "spec3.json"
    source.write_text(json.dumps(_tiny()), encoding="utf-8")
    out = tmp_path / "recorded.json"
    assert main(["spec", "record", str(source), "--out", str(out), "--date", "2026-03-04"]) == 0
    spec = load_spec(out)
    assert spec is not None
    assert spec.provenance["recorded_on"] == "2026-03-04"
    assert spec.provenance["source_commits"] == []
    assert spec.validate_response("GET", "/v1/things/t_1", 200, {"description": None}) != []
    assert (
        spec.validate_response("GET", "/v1/things/t_1", 200, {"description": None, "kind": "a"})
        == []
    )


def test_record_command_rejects_a_file_that_is_not_openapi(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "x.json"
    source.write_text("{}", encoding="utf-8")
    assert main(["spec", "record", str(source), "--out", str(tmp_path / "o.json")]) == 2
    assert "not an OpenAPI document" in capsys.readouterr().err


CHECK = ROOT / "scripts" / "check-packaged-spec"


def _check(folder: Path, packaged: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(CHECK), str(folder), "--packaged", str(packaged)],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_freshness_check_compares_the_packaged_file_with_its_sources_recorded_again(
    tmp_path: Path,
) -> None:
    """`scripts/check-packaged-spec` (run by .ci/run on Stripe's files next to the clone) on a
    small source recorded with an operation added from a second file."""
    source, other = tmp_path / "spec3.json", tmp_path / "other.json"
    source.write_text(json.dumps(_tiny()), encoding="utf-8")
    other.write_text(json.dumps(_other()), encoding="utf-8")
    packaged = tmp_path / "packaged.json"
    argv = ["spec", "record", str(source), "--out", str(packaged), "--add-from", str(other)]
    assert main([*argv, "--operation", "DELETE /v1/things/{thing}"]) == 0
    fresh = _check(tmp_path, packaged)
    assert fresh.returncode == 0, fresh.stderr
    changed = _tiny()
    changed["paths"]["/v1/things/{thing}"]["get"]["operationId"] = "GetThingAgain"
    source.write_text(json.dumps(changed), encoding="utf-8")
    stale = _check(tmp_path, packaged)
    assert stale.returncode == 1
    assert f"re-record it: fake-stripe spec record {source} --out {packaged}" in stale.stderr
    assert f"--add-from {other} --add-from-commit {'b' * 40}" in stale.stderr
    assert "--operation 'DELETE /v1/things/{thing}'" in stale.stderr
    other.unlink()
    assert _check(tmp_path, packaged).returncode == 2


def test_packaged_spec_has_the_operations_the_fake_implements_from_the_2023_spec() -> None:
    (added,) = PACKAGED[PROVENANCE_KEY]["added_from"]
    assert added["source"] == ADDED_FROM
    assert added["source_version"] == "2023-08-16"
    assert added["source_commits"] == [ADDED_COMMIT]
    # Every schema these operations need was in the subset already (from the same 2023 spec).
    assert added["components"] == []
    operations = {tuple(text.split(" ")) for text in added["operations"]}
    assert operations == {
        ("GET", "/v1/charges"),
        ("GET", "/v1/charges/{charge}"),
        ("GET", "/v1/customers"),
        ("DELETE", "/v1/customers/{customer}"),
        ("POST", "/v1/customers/{customer}"),
        ("GET", "/v1/mandates/{mandate}"),
        ("GET", "/v1/payment_intents"),
        ("POST", "/v1/payment_intents/{intent}"),
        ("POST", "/v1/payment_intents/{intent}/cancel"),
        ("POST", "/v1/setup_intents/{intent}"),
        ("GET", "/v1/setup_intents"),
        ("POST", "/v1/setup_intents/{intent}/cancel"),
        ("POST", "/v1/payment_methods/{payment_method}"),
        ("POST", "/v1/setup_intents/{intent}/verify_microdeposits"),
        ("POST", "/v1/payment_intents/{intent}/verify_microdeposits"),
    }
    assert operations <= {(m, p) for m, p in record.operations_of(PACKAGED)}
    assert "operationId" in PACKAGED["paths"]["/v1/charges"]["get"]


# The second file the packaged spec takes operations from, and its stripe/openapi commit.
ADDED_FROM = "spec3.2023-09-12.yaml.gz"
ADDED_COMMIT = "63a674638635c68de26b9f3add13e58198f4df44"


def _other() -> dict[str, Any]:
    """A second source: `thing` again (different), and a list operation with its own schemas."""
    return {
        "openapi": "3.0.0",
        "info": {
            "title": "o",
            "version": "2023-01-01",
            "description": "Other. At commit " + "b" * 40,
        },
        "paths": {
            "/v1/things/{thing}": {
                "get": {"operationId": "OtherRetrieve", "responses": {}},
                "delete": {
                    "summary": "Delete a thing",
                    "parameters": [
                        {
                            "name": "thing",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string"},
                        }
                    ],
                    "responses": {
                        "200": {
                            "description": "Deleted.",
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/deleted_thing"}
                                }
                            },
                        }
                    },
                },
            },
            "/v1/things": {
                "parameters": [
                    {
                        "name": "limit",
                        "in": "query",
                        "description": "How many.",
                        "schema": {"type": "integer"},
                    }
                ],
                "get": {
                    "responses": {
                        "200": {
                            "description": "A list.",
                            "content": {
                                "application/json": {
                                    "schema": {
                                        "properties": {
                                            "data": {
                                                "items": {"$ref": "#/components/schemas/thing"},
                                                "type": "array",
                                            },
                                            "next": {"$ref": "#/components/schemas/cursor"},
                                        },
                                        "type": "object",
                                    }
                                }
                            },
                        }
                    }
                },
            },
            "/v1/unrelated": {"get": {"responses": {}}},
        },
        "components": {
            "schemas": {
                "thing": {"type": "object", "properties": {"other": {"type": "string"}}},
                "deleted_thing": {
                    "description": "A deleted thing.",
                    "type": "object",
                    "properties": {
                        "deleted": {"enum": [True], "type": "boolean"},
                        "previous": {"$ref": "#/components/schemas/thing"},
                        "note": {"nullable": True, "$ref": "#/components/schemas/note"},
                    },
                },
                "note": {
                    "type": "object",
                    "properties": {"next": {"$ref": "#/components/schemas/cursor"}},
                },
                "cursor": {"type": "string", "description": "Where to go on."},
                "unused": {"type": "string"},
            }
        },
    }


def test_add_from_takes_each_operation_and_the_schemas_it_needs_that_source_lacks() -> None:
    recorded = record.record(
        _tiny(),
        "tiny.json",
        ["a" * 40],
        "2026-01-02",
        [
            record.Addition(
                _other(), "other.yaml", [("DELETE", "/v1/things/{thing}"), ("GET", "/v1/things")]
            )
        ],
    )
    assert record.operations_of(recorded) == [
        ("GET", "/v1/things/{thing}"),
        ("DELETE", "/v1/things/{thing}"),
        ("GET", "/v1/things"),
    ]
    schemas = recorded["components"]["schemas"]
    assert set(schemas) == {"thing", "deleted_thing", "note", "cursor"}
    # SOURCE's own schema is never replaced by OTHER's.
    assert set(schemas["thing"]["properties"]) == {"description", "summary", "kind"}
    # The same prose stripping and nullable rewrite as SOURCE's.
    assert record.prose_left(recorded) == []
    assert schemas["deleted_thing"]["properties"]["note"] == {
        "anyOf": [{"$ref": "#/components/schemas/note"}, {"enum": [None]}]
    }
    # A parameter OTHER gives the whole path item goes with the operation taken.
    assert recorded["paths"]["/v1/things"]["get"]["parameters"] == [
        {"name": "limit", "in": "query", "schema": {"type": "integer"}}
    ]
    assert recorded[PROVENANCE_KEY]["added_from"] == [
        {
            "source": "other.yaml",
            "source_version": "2023-01-01",
            "source_commits": ["b" * 40],
            "operations": ["DELETE /v1/things/{thing}", "GET /v1/things"],
            "components": ["schemas/cursor", "schemas/deleted_thing", "schemas/note"],
        }
    ]


@pytest.mark.parametrize(
    ("operation", "message"),
    [
        (("GET", "/v1/things/{thing}"), "GET /v1/things/{thing} is in SOURCE already"),
        (("POST", "/v1/things"), "other.json has no operation POST /v1/things"),
    ],
)
def test_add_from_refuses_an_operation_source_has_or_other_lacks(
    operation: tuple[str, str], message: str
) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        record.record(
            _tiny(), "tiny.json", additions=[record.Addition(_other(), "other.json", [operation])]
        )


def test_add_from_picks_what_the_fake_implements_and_source_lacks() -> None:
    wanted = [("DELETE", "/v1/things/{id}"), ("GET", "/v1/things/{id}"), ("GET", "/v1/absent")]
    assert record.missing_operations(_tiny(), _other(), wanted) == [
        ("DELETE", "/v1/things/{thing}")
    ]


def _write_yaml_gz(path: Path, document: dict[str, Any]) -> None:
    import yaml

    text = yaml.safe_dump(document).replace("version: '2023-01-01'", "version: 2023-01-01")
    path.write_bytes(gzip.compress(text.encode()))


def test_record_command_adds_from_a_gzipped_yaml_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "spec3.json"
    source.write_text(json.dumps(_tiny()), encoding="utf-8")
    other = tmp_path / "other.yaml.gz"
    _write_yaml_gz(other, _other())
    out = tmp_path / "recorded.json"
    argv = ["spec", "record", str(source), "--out", str(out), "--add-from", str(other)]
    argv += ["--operation", "GET /v1/things", "--add-from-commit", "c" * 40]
    assert main(argv) == 0
    assert "added from other.yaml.gz (2023-01-01): 1 operations, 1 components" in (
        capsys.readouterr().out
    )
    spec = load_spec(out)
    assert spec is not None
    # An unquoted YAML date stays the string Stripe's JSON has.
    (added,) = spec.provenance["added_from"]
    assert added["source_version"] == "2023-01-01"
    assert added["source_commits"] == ["c" * 40]
    assert spec.validate_response("GET", "/v1/things", 200, {"data": [{"kind": "c"}]}) != []
    assert (
        spec.validate_response(
            "GET", "/v1/things", 200, {"data": [{"kind": "a", "description": None}]}
        )
        == []
    )


def test_record_command_without_operations_adds_what_the_fake_implements(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "spec3.json"
    source.write_text(json.dumps(_tiny()), encoding="utf-8")
    other = _other()
    other["paths"]["/v1/charges/{charge}"] = {"get": {"responses": {}}}
    other["paths"]["/v1/charges/{charge}/refund"] = {"post": {"responses": {}}}
    other_file = tmp_path / "other.json"
    other_file.write_text(json.dumps(other), encoding="utf-8")
    out = tmp_path / "recorded.json"
    argv = ["spec", "record", str(source), "--out", str(out), "--add-from", str(other_file)]
    assert main(argv) == 0
    assert capsys.readouterr().out.endswith("components\n  GET /v1/charges/{charge}\n")
    assert json.loads(out.read_text())[PROVENANCE_KEY]["added_from"][0]["operations"] == [
        "GET /v1/charges/{charge}"
    ]


def test_record_command_refuses_operations_without_a_second_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["spec", "record", str(tmp_path / "s.json"), "--operation", "GET /v1/charges"]
    assert main(argv) == 2
    assert "--operation needs --add-from OTHER" in capsys.readouterr().err


def test_record_command_names_a_malformed_operation(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "spec3.json"
    source.write_text(json.dumps(_tiny()), encoding="utf-8")
    argv = ["spec", "record", str(source), "--out", str(tmp_path / "o.json")]
    argv += ["--add-from", str(source), "--operation", "/v1/charges"]
    assert main(argv) == 2
    assert "'/v1/charges': name an operation as METHOD /path" in capsys.readouterr().err


def test_yaml_without_pyyaml_names_the_extra(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = tmp_path / "other.yaml"
    other.write_text("paths: {}\n", encoding="utf-8")
    monkeypatch.setitem(sys.modules, "yaml", None)  # `import yaml` raises ImportError
    argv = ["spec", "record", str(other), "--out", str(tmp_path / "o.json")]
    assert main(argv) == 2
    assert "pip install 'fake-stripe[record]'" in capsys.readouterr().err


def test_show_prints_version_provenance_counts_and_coverage(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv(SPEC_ENV, raising=False)
    assert main(["spec", "show"]) == 0
    out = capsys.readouterr().out
    assert f"spec file: {PACKAGED_SPEC}" in out
    assert "version: 2026-07-29.preview\n" in out
    assert "recorded from: financial_connections.subset.json on " in out
    assert "source commit: 93baee8d588ed71ca26f16ee051458820ccaee66" in out
    assert "added from: spec3.2023-09-12.yaml.gz (2023-08-16): 15 operations, 0 components" in out
    assert "operations: 50 (2 DELETE, 25 GET, 23 POST); the fake implements " in out
    assert "rest of the API: spec3.2023-09-12.yaml.gz (2023-08-16): 426 more operations, " in out
    assert "| `GET /v1/financial_connections/authorizations/{authorization}` | modelled |" in out
    assert "| `POST /v1/refunds` | generic-stateful |" in out


def _recording(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": "cus_1",
        "object": "customer",
        "address": None,
        "balance": 0,
        "created": 1700000000,
        "currency": None,
        "default_source": None,
        "delinquent": False,
        "description": None,
        "discount": None,
        "email": "jane@example.com",
        "invoice_prefix": "ABC123",
        "invoice_settings": {
            "custom_fields": None,
            "default_payment_method": None,
            "footer": None,
            "rendering_options": None,
        },
        "livemode": False,
        "metadata": {},
        "name": None,
        "next_invoice_sequence": 1,
        "phone": None,
        "preferred_locales": [],
        "shipping": None,
        "tax_exempt": "none",
        "test_clock": None,
    }
    record_ = {"method": "POST", "path": "/v1/customers", "status": 200, "body": body}
    record_["body"] = dict(body, **overrides)
    return record_


def test_validate_accepts_a_conforming_recording(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = tmp_path / "good.json"
    good.write_text(json.dumps(_recording()), encoding="utf-8")
    assert main(["spec", "validate", str(good)]) == 0
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "1 recordings, 0 violations, 0 not in the spec" in captured.err


def test_validate_prints_each_violation_and_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = tmp_path / "recorded.jsonl"
    lines.write_text(
        "\n".join(
            json.dumps(r)
            for r in (
                _recording(),
                _recording(balance="0"),
                {"method": "GET", "path": "/v1/unknown", "status": 200, "body": {}},
                _recording(tax_exempt="sometimes"),
            )
        ),
        encoding="utf-8",
    )
    assert main(["spec", "validate", str(lines)]) == 1
    captured = capsys.readouterr()
    assert captured.out.splitlines() == [
        f"{lines}:2: POST /v1/customers 200: /balance: '0' is not of type 'integer' (value: '0')",
        f"{lines}:4: POST /v1/customers 200: /tax_exempt: 'sometimes' is not one of "
        "['exempt', 'none', 'reverse'] (value: 'sometimes')",
    ]
    assert f"{lines}:3: GET /v1/unknown 200: not an operation of the spec" in captured.err
    assert "4 recordings, 2 violations, 1 not in the spec" in captured.err


def test_validate_reads_a_json_list(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    listed = tmp_path / "list.json"
    listed.write_text(json.dumps([_recording(), _recording(livemode="no")]), encoding="utf-8")
    assert main(["spec", "validate", str(listed)]) == 1
    # Both items are on line 1: each is named by the line and the column it starts at.
    column = len("[") + len(json.dumps(_recording())) + len(", ") + 1
    out = capsys.readouterr().out
    assert out.startswith(f"{listed}:1:{column}: POST /v1/customers 200: /livemode:")


def test_validate_names_the_line_of_a_single_json_document(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    one = tmp_path / "one.json"
    one.write_text("\n" + json.dumps(_recording(livemode="no"), indent=2), encoding="utf-8")
    assert main(["spec", "validate", str(one)]) == 1
    assert capsys.readouterr().out.startswith(f"{one}:2: POST /v1/customers 200: /livemode:")


def test_validate_refuses_what_is_not_a_recording(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"method": "GET", "path": "/v1/events"}), encoding="utf-8")
    assert main(["spec", "validate", str(bad)]) == 2
    assert "missing status, body" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("answer", "named"),
    [
        ({"id": 5, "object": "customer"}, "/id: 5 is not of type 'string' (value: 5)"),
        # What the header quotes is escaped to printable ASCII, as a header's value must be.
        ({"id": "cus_1", "object": "customer", "balance": "\u20ac\n"}, "'balance': '\\u20ac"),
    ],
)
def test_strict_mode_with_the_packaged_spec_flags_a_bad_response(
    monkeypatch: pytest.MonkeyPatch, mode: str, answer: dict[str, Any], named: str
) -> None:
    """What `--strict` adds with no `FAKE_STRIPE_OPENAPI`: a response the spec rejects is still
    sent, with the header naming the field (a handler is patched to answer a wrong body)."""
    resp, violations = _strict_answer(monkeypatch, mode, answer)
    assert resp.status_code == 200
    found = resp.headers["x-fake-stripe-violations"]
    assert named in found and found.isascii() and found.isprintable()
    assert violations


def test_a_header_that_cannot_be_written_is_a_stripe_shaped_500(
    monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    """Writing the headers fails before anything is sent: the fault is answered as any other,
    a Stripe-shaped 500 (the violation left unescaped, with a character outside Latin-1)."""
    from fake_stripe import wire

    monkeypatch.setattr(wire, "_header_text", lambda text: text)
    answer = {"id": "cus_1", "object": "customer", "balance": "\u20ac"}
    resp, _ = _strict_answer(monkeypatch, mode, answer)
    assert resp.status_code == 500 and resp.headers["request-id"].startswith("req_")
    assert resp.json()["error"]["type"] == "api_error"


def _strict_answer(
    monkeypatch: pytest.MonkeyPatch, mode: str, answer: dict[str, Any]
) -> tuple[Any, list[str]]:
    """A customer's retrieve from a `--strict` app whose handler answers `answer`, in-process
    or served: the response, and the violations the app noted."""
    import httpx

    from fake_stripe import create_app
    from fake_stripe.http_server import ServerThread
    from fake_stripe.inprocess import client as inprocess_client
    from fake_stripe.resources import customers

    monkeypatch.delenv(SPEC_ENV, raising=False)
    monkeypatch.setattr(customers, "retrieve", lambda ctx, p: answer)
    app = create_app(seed=1, strict=True)
    server = ServerThread(app) if mode == "server" else None
    try:
        http = httpx.Client(base_url=server.url) if server is not None else inprocess_client(app)
        with http:
            resp = http.get("/v1/customers/cus_1", headers={"Authorization": "Bearer sk_test_s"})
        resp.read()
        return resp, list(app.fake.violations)
    finally:
        if server is not None:
            server.stop()
        app.fake.close()


def test_strict_serve_without_a_spec_file_says_so_and_does_not_start(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(SPEC_ENV, str(tmp_path / "absent.json"))
    assert main(["serve", "--strict", "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert err.strip().splitlines() == [
        f"fake-stripe serve --strict: no OpenAPI file at {tmp_path / 'absent.json'}; fix or "
        f"unset {SPEC_ENV} (unset, the packaged spec is used)"
    ]
