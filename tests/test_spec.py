"""Tests for fake_stripe.spec.load against Stripe's recorded OpenAPI subset."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from fake_stripe.spec.load import Spec, load_spec
from fake_stripe.spec.violations import Violation

from .spec_guard import recorded_spec

SPEC: Spec = recorded_spec()

# Objects in Stripe's preview shapes, written by hand, that the recorded spec must accept.
ACCOUNT: dict[str, Any] = {
    "id": "fca_1LDYuMGxLVUXRs6HW0lrat9T",
    "object": "financial_connections.account",
    "account_holder": {"customer": "cus_NfjonN9919dELB", "type": "customer"},
    "account_numbers": None,
    "authorization": "fcauth_1LDYuMGxLVUXRs6HW0lrat9T",
    "balance": None,
    "balance_refresh": None,
    "category": "cash",
    "created": 1234567890,
    "display_name": "Sample Checking Account",
    "institution_name": "StripeBank",
    "last4": "6789",
    "livemode": False,
    "ownership": None,
    "ownership_refresh": None,
    "permissions": ["payment_method", "balances"],
    "status": "inactive",
    "status_details": {"inactive": {"action": "relink_required", "cause": "access_expired"}},
    "subcategory": "checking",
    "subscriptions": None,
    "supported_payment_method_types": ["us_bank_account"],
    "transaction_refresh": None,
}

AUTHORIZATION: dict[str, Any] = {
    "id": "fcauth_1LDYuMGxLVUXRs6HW0lrat9T",
    "object": "financial_connections.authorization",
    "account_holder": {"customer": "cus_NfjonN9919dELB", "type": "customer"},
    "institution": None,
    "institution_name": "StripeBank",
    "livemode": False,
    "status": "inactive",
    "status_details": {"inactive": {"action": "relink_required"}},
}

SESSION: dict[str, Any] = {
    "id": "fcsess_abcd",
    "object": "financial_connections.session",
    "livemode": False,
    "account_holder": {"customer": "cus_NfjonN9919dELB", "type": "customer"},
    "accounts": {
        "object": "list",
        "data": [],
        "has_more": False,
        "url": "/v1/financial_connections/accounts",
    },
    "client_secret": "fcsess_client_secret_UsESkKYzeiRcivgDJZfxZRFh",
    "filters": {"account_subcategories": ["checking", "savings"], "countries": None},
    "limits": {"accounts": 1},
    "permissions": ["payment_method", "balances"],
    "prefetch": None,
    "relink_options": {"authorization": "fcauth_1LDYuMGxLVUXRs6HW0lrat9T", "account": None},
    "status": "pending",
}

ACCOUNT_PATH = "/v1/financial_connections/accounts/fca_x"
AUTHORIZATION_PATH = "/v1/financial_connections/authorizations/fcauth_x"
SESSION_PATH = "/v1/financial_connections/sessions/fcsess_x"


def _pointers(violations: list[Violation]) -> set[str]:
    return {v.pointer for v in violations}


@pytest.mark.parametrize(
    ("path", "body"),
    [(ACCOUNT_PATH, ACCOUNT), (AUTHORIZATION_PATH, AUTHORIZATION), (SESSION_PATH, SESSION)],
    ids=["account", "authorization", "session"],
)
def test_appendix_a_examples_validate_without_violations(path: str, body: dict[str, Any]) -> None:
    assert SPEC.validate_response("GET", path, 200, body) == []


def test_succeeded_relink_session_with_null_result_fields_validates() -> None:
    session = copy.deepcopy(SESSION)
    session["status"] = "succeeded"
    active = copy.deepcopy(ACCOUNT)
    active["status"] = "active"
    active["status_details"] = {}
    session["accounts"]["data"] = [active]
    session["relink_result"] = {
        "account": None,
        "authorization": "fcauth_1LDYuMGxLVUXRs6HW0lrat9T",
        "failure_reason": None,
    }
    assert SPEC.validate_response("GET", SESSION_PATH, 200, session) == []


def test_string_in_integer_field_is_reported_at_that_field() -> None:
    account = dict(ACCOUNT, created="yesterday")
    violations = SPEC.validate_response("GET", ACCOUNT_PATH, 200, account)
    assert _pointers(violations) == {"/created"}
    assert violations[0].value == "yesterday"


def test_number_in_enum_field_is_reported_at_that_field() -> None:
    violations = SPEC.validate_response("GET", ACCOUNT_PATH, 200, dict(ACCOUNT, status=5))
    assert _pointers(violations) == {"/status"}


def test_wrong_type_inside_nullable_field_names_the_field_not_the_anyof() -> None:
    violations = SPEC.validate_response("GET", ACCOUNT_PATH, 200, dict(ACCOUNT, display_name=5))
    assert _pointers(violations) == {"/display_name"}
    assert "is not of type 'string'" in violations[0].message


def test_bad_value_nested_in_nullable_object_points_inside_it() -> None:
    account = dict(ACCOUNT, account_holder={"type": "robot"})
    violations = SPEC.validate_response("GET", ACCOUNT_PATH, 200, account)
    assert _pointers(violations) == {"/account_holder/type"}


def test_bad_value_in_list_item_points_into_data_array() -> None:
    body = {
        "object": "list",
        "data": [dict(ACCOUNT, status="sleeping")],
        "has_more": False,
        "url": "/v1/financial_connections/accounts",
    }
    violations = SPEC.validate_response("GET", "/v1/financial_connections/accounts", 200, body)
    assert _pointers(violations) == {"/data/0/status"}


def test_missing_required_field_is_reported_at_the_object() -> None:
    account = {k: v for k, v in ACCOUNT.items() if k != "livemode"}
    violations = SPEC.validate_response("GET", ACCOUNT_PATH, 200, account)
    assert [(v.pointer, v.message) for v in violations] == [
        ("", "'livemode' is a required property")
    ]


def test_null_is_accepted_where_nullable() -> None:
    authorization = dict(AUTHORIZATION, institution=None, account_holder=None)
    assert SPEC.validate_response("GET", AUTHORIZATION_PATH, 200, authorization) == []
    session = dict(
        SESSION,
        relink_result={"account": None, "authorization": None, "failure_reason": None},
    )
    assert SPEC.validate_response("GET", SESSION_PATH, 200, session) == []


def test_null_is_rejected_where_not_nullable() -> None:
    for field in ("institution_name", "status", "livemode"):
        violations = SPEC.validate_response(
            "GET", AUTHORIZATION_PATH, 200, dict(AUTHORIZATION, **{field: None})
        )
        assert f"/{field}" in _pointers(violations), field
    session = dict(SESSION, relink_options={"authorization": None})
    violations = SPEC.validate_response("GET", SESSION_PATH, 200, session)
    assert _pointers(violations) == {"/relink_options/authorization"}


def test_nullable_enum_still_rejects_unknown_values() -> None:
    session = dict(
        SESSION,
        relink_result={"account": None, "authorization": None, "failure_reason": "bored"},
    )
    violations = SPEC.validate_response("GET", SESSION_PATH, 200, session)
    assert _pointers(violations) == {"/relink_result/failure_reason"}
    assert violations[0].value == "bored"


def test_error_body_validates_under_default_response_for_404() -> None:
    body = {"error": {"type": "invalid_request_error", "message": "x"}}
    assert SPEC.validate_response("GET", ACCOUNT_PATH, 404, body) == []


def test_success_body_is_rejected_under_error_status() -> None:
    violations = SPEC.validate_response("GET", ACCOUNT_PATH, 404, ACCOUNT)
    assert ("", "'error' is a required property") in {(v.pointer, v.message) for v in violations}


def test_error_body_with_unknown_type_is_reported() -> None:
    body = {"error": {"type": "teapot_error", "message": "x"}}
    violations = SPEC.validate_response("POST", "/v1/financial_connections/sessions", 400, body)
    assert _pointers(violations) == {"/error/type"}


def test_unknown_operation_yields_no_violations() -> None:
    assert SPEC.validate_response("GET", "/v1/nothing_here", 200, {"anything": 1}) == []
    assert SPEC.validate_response("PUT", ACCOUNT_PATH, 200, {"anything": 1}) == []


def test_violation_str_shows_pointer_message_and_value() -> None:
    violation = Violation(pointer="/data/0/status", message="bad", value=5)
    assert str(violation) == "/data/0/status: bad (value: 5)"


def test_match_maps_concrete_paths_to_templates() -> None:
    assert SPEC.match("GET", "/v1/customers/cus_123") == "/v1/customers/{customer}"
    assert SPEC.match("get", SESSION_PATH) == "/v1/financial_connections/sessions/{session}"
    assert (
        SPEC.match("POST", "/v1/financial_connections/accounts/fca_1/refresh")
        == "/v1/financial_connections/accounts/{account}/refresh"
    )
    assert SPEC.match("GET", "/v1/financial_connections/accounts?limit=3") == (
        "/v1/financial_connections/accounts"
    )


def test_match_prefers_literal_segments_over_parameters() -> None:
    assert SPEC.match("POST", "/v1/financial_connections/sessions") == (
        "/v1/financial_connections/sessions"
    )
    # A literal-looking id still has to fall through to the parameter.
    assert SPEC.match("GET", "/v1/financial_connections/sessions/sessions") == (
        "/v1/financial_connections/sessions/{session}"
    )
    literal = Spec(
        {
            "paths": {
                "/v1/things/{thing}": {"get": {"responses": {}}},
                "/v1/things/search": {"get": {"responses": {}}},
            }
        }
    )
    assert literal.match("GET", "/v1/things/search") == "/v1/things/search"
    assert literal.match("GET", "/v1/things/th_1") == "/v1/things/{thing}"


def test_match_returns_none_for_unknown_paths_and_methods() -> None:
    assert SPEC.match("GET", "/v1/nothing_here") is None
    assert SPEC.match("GET", "/v1/financial_connections/accounts/fca_1/extra/deep") is None
    assert SPEC.match("GET", "/v1/financial_connections/accounts//refresh") is None
    assert SPEC.match("DELETE", "/v1/financial_connections/sessions/fcsess_1") is None


def test_operations_lists_every_method_and_template() -> None:
    operations = SPEC.operations()
    assert ("GET", "/v1/financial_connections/authorizations/{authorization}") in operations
    assert ("POST", "/v1/financial_connections/sessions") in operations
    assert ("DELETE", "/v1/webhook_endpoints/{webhook_endpoint}") in operations
    assert len(operations) == len(set(operations))
    assert all(method.isupper() for method, _ in operations)


def test_request_schema_for_session_create_requires_permissions() -> None:
    schema = SPEC.request_schema("POST", "/v1/financial_connections/sessions")
    assert schema is not None
    assert "permissions" in schema["required"]
    assert "relink_options" in schema["properties"]


def test_request_schema_for_get_is_built_from_query_parameters() -> None:
    schema = SPEC.request_schema("GET", "/v1/financial_connections/accounts")
    assert schema is not None
    assert schema["type"] == "object"
    assert {"limit", "starting_after", "account_holder", "expand"} <= set(schema["properties"])
    assert "required" not in schema
    assert SPEC.request_schema("GET", "/v1/nothing_here") is None


def test_request_schema_returns_a_copy() -> None:
    schema = SPEC.request_schema("POST", "/v1/financial_connections/sessions")
    assert schema is not None
    schema["properties"].clear()
    again = SPEC.request_schema("POST", "/v1/financial_connections/sessions")
    assert again is not None
    assert "permissions" in again["properties"]


def test_nullable_is_rewritten_into_anyof_with_null() -> None:
    relink_result = SPEC.document["components"]["schemas"][
        "bank_connections_resource_link_account_session_relink_result"
    ]
    failure_reason = relink_result["properties"]["failure_reason"]
    assert "nullable" not in failure_reason
    assert failure_reason["anyOf"][1] == {"enum": [None]}
    assert "nullable" not in failure_reason["anyOf"][0]


def test_get_customer_accepts_deleted_customer() -> None:
    deleted = {"id": "cus_1", "object": "customer", "deleted": True}
    assert SPEC.validate_response("GET", "/v1/customers/cus_1", 200, deleted) == []


def test_validate_component_checks_webhook_payload_objects() -> None:
    assert SPEC.validate_component("financial_connections.account", ACCOUNT) == []
    violations = SPEC.validate_component(
        "financial_connections.account", dict(ACCOUNT, category="vault")
    )
    assert _pointers(violations) == {"/category"}
    with pytest.raises(KeyError):
        SPEC.validate_component("no_such_schema", {})


def test_load_spec_is_cached_and_missing_file_gives_none(tmp_path: Path) -> None:
    assert load_spec() is SPEC
    assert load_spec(tmp_path / "absent.json") is None
