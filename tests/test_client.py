"""The reference relink client: its decisions as pure functions (no server), then the client
against the fake in-process and over a socket."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest
import stripe

import client
from client import (
    Decision,
    Flag,
    MandateAcceptance,
    Outcome,
    RelinkClient,
    RelinkError,
    UseCase,
    Watchlist,
    apply_event,
    assess,
    mark_for_event,
    resolve,
    session_params,
)

NOW = 1_800_000_000
DAY = 86_400
TH = "/v1/test_helpers/financial_connections"


def account(status: str = "active", **details: Any) -> dict[str, Any]:
    return {
        "id": "fca_1",
        "object": "financial_connections.account",
        "status": status,
        "authorization": "fcauth_1",
        "status_details": details,
        "account_numbers": None,
    }


def authorization(status: str = "active", **details: Any) -> dict[str, Any]:
    return {
        "id": "fcauth_1",
        "object": "financial_connections.authorization",
        "status": status,
        "status_details": details,
    }


INACTIVE_RELINK = {"inactive": {"action": "relink_required", "cause": "access_expired"}}
AUTH_RELINK = {"inactive": {"action": "relink_required"}}


# ---- assess ------------------------------------------------------------------------------


def test_exported_names_are_pinned() -> None:
    assert sorted(client.__all__) == sorted(
        [
            "PREVIEW_VERSION",
            "Assessment",
            "Attempt",
            "DebitDecision",
            "DebitReading",
            "Decision",
            "Flag",
            "MandateAcceptance",
            "Mark",
            "Outcome",
            "Payment",
            "PaymentSetup",
            "RecordingHTTPClient",
            "RelinkClient",
            "RelinkError",
            "RequestLog",
            "http_client_for",
            "is_loopback",
            "Resolution",
            "SessionStart",
            "UseCase",
            "Verification",
            "Watchlist",
            "fall_back_to_microdeposits",
            "verify_microdeposits",
            "apply_event",
            "assess",
            "mark_for_event",
            "read_debit",
            "resolve",
            "session_params",
        ]
    )


def test_active_account_under_active_authorization_is_healthy() -> None:
    a = assess(account(), authorization(), NOW)
    assert (a.decision, a.proactive, a.offer_relink) == (Decision.HEALTHY, False, False)


def test_inactive_account_under_relinkable_authorization_is_relinked_with_that_authorization() -> (
    None
):
    a = assess(
        account("inactive", **INACTIVE_RELINK), authorization("inactive", **AUTH_RELINK), NOW
    )
    assert (a.decision, a.authorization, a.cause) == (Decision.RELINK, "fcauth_1", "access_expired")
    assert a.offer_relink


def test_authorization_action_none_means_connect_from_scratch() -> None:
    a = assess(
        account("inactive", inactive={"action": "none", "cause": "unspecified"}),
        authorization("inactive", inactive={"action": "none"}),
        NOW,
    )
    assert a.decision is Decision.CONNECT_FROM_SCRATCH
    assert a.authorization is None and not a.offer_relink


def test_authorization_action_none_is_not_relinkable_even_if_the_account_says_relink() -> None:
    a = assess(
        account("inactive", **INACTIVE_RELINK),
        authorization("inactive", inactive={"action": "none"}),
        NOW,
    )
    assert a.decision is Decision.CONNECT_FROM_SCRATCH


def test_closed_account_under_active_authorization_means_connect_from_scratch() -> None:
    closed = account("inactive", inactive={"action": "none", "cause": "account_closed"})
    a = assess(closed, authorization(), NOW)
    assert a.decision is Decision.CONNECT_FROM_SCRATCH
    assert "account_closed" in a.reason


def test_inactive_account_under_active_authorization_is_never_relinked() -> None:
    # The seed: authorization active, account inactive -> from scratch, whatever the account says.
    a = assess(account("inactive", **INACTIVE_RELINK), authorization(), NOW)
    assert a.decision is Decision.CONNECT_FROM_SCRATCH


def test_closed_account_stays_from_scratch_when_its_authorization_later_expires() -> None:
    closed = account("inactive", inactive={"action": "none", "cause": "account_closed"})
    a = assess(closed, authorization("inactive", **AUTH_RELINK), NOW)
    assert a.decision is Decision.CONNECT_FROM_SCRATCH


@pytest.mark.parametrize("auth", [None, authorization("disconnected")])
def test_disconnected_authorization_means_connect_from_scratch(auth: Any) -> None:
    assert assess(account("inactive", **INACTIVE_RELINK), auth, NOW).decision is (
        Decision.CONNECT_FROM_SCRATCH
    )


def test_disconnected_account_means_connect_from_scratch() -> None:
    assert assess(account("disconnected"), authorization(), NOW).decision is (
        Decision.CONNECT_FROM_SCRATCH
    )


def test_upcoming_deactivation_flags_a_proactive_relink() -> None:
    when = NOW + 14 * DAY
    a = assess(
        account(
            active={
                "action": "relink_required",
                "cause": "access_expired",
                "expected_deactivation_date": when,
            }
        ),
        authorization(active={"action": "relink_required", "expected_deactivation_date": when}),
        NOW,
    )
    assert (a.decision, a.proactive, a.authorization) == (Decision.HEALTHY, True, "fcauth_1")
    assert a.expected_deactivation_date == when and a.offer_relink


def test_upcoming_deactivation_on_the_authorization_alone_flags_a_proactive_relink() -> None:
    a = assess(
        account(),
        authorization(
            active={"action": "relink_required", "expected_deactivation_date": NOW + DAY}
        ),
        NOW,
    )
    assert a.proactive


def test_upcoming_deactivation_with_action_none_is_not_proactive() -> None:
    a = assess(
        account(
            active={
                "action": "none",
                "cause": "unspecified",
                "expected_deactivation_date": NOW + DAY,
            }
        ),
        authorization(),
        NOW,
    )
    assert not a.proactive


def tan(status: str, expiry: int | None) -> dict[str, Any]:
    return {
        "identifier_type": "tokenized_account_number",
        "status": status,
        "expected_expiry_date": expiry,
        "supported_networks": ["ach"],
    }


def test_deactivated_tokenized_account_number_means_relink() -> None:
    acc = {**account(), "account_numbers": [tan("deactivated", NOW - DAY)]}
    a = assess(acc, authorization(), NOW)
    assert (a.decision, a.authorization) == (Decision.RELINK, "fcauth_1")


@pytest.mark.parametrize(("days_left", "proactive"), [(29, True), (30, True), (31, False)])
def test_tokenized_account_number_expiring_within_30_days_is_proactive(
    days_left: int, proactive: bool
) -> None:
    acc = {**account(), "account_numbers": [tan("transactable", NOW + days_left * DAY)]}
    assert assess(acc, authorization(), NOW).proactive is proactive


def test_an_account_read_without_a_preview_version_cannot_be_assessed() -> None:
    ga = {"id": "fca_1", "status": "inactive"}
    with pytest.raises(ValueError, match=r"\.preview"):
        assess(ga, authorization(), NOW)


# ---- the session -------------------------------------------------------------------------


def test_payments_session_params_follow_the_seed() -> None:
    p = session_params("cus_1", UseCase.PAYMENTS, authorization="fcauth_1")
    assert p == {
        "account_holder": {"type": "customer", "customer": "cus_1"},
        "permissions": ["payment_method", "balances"],
        "filters": {"account_subcategories": ["checking", "savings"]},
        "limits": {"accounts": 1},
        "relink_options": {"authorization": "fcauth_1"},
    }


def test_data_session_params_have_no_filters_and_no_limit() -> None:
    p = session_params(
        "cus_1",
        UseCase.DATA,
        authorization="fcauth_1",
        account="fca_1",
        permissions=["balances", "transactions"],
    )
    assert p == {
        "account_holder": {"type": "customer", "customer": "cus_1"},
        "permissions": ["balances", "transactions"],
        "relink_options": {"authorization": "fcauth_1", "account": "fca_1"},
    }


def test_session_params_for_connecting_from_scratch_have_no_relink_options() -> None:
    assert "relink_options" not in session_params("cus_1", UseCase.PAYMENTS)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"account": "fca_1"}, "needs relink_options"),
        ({"permissions": ["payment_method"]}, "not a data permission"),
    ],
)
def test_session_params_refuse_what_stripe_would_refuse(kwargs: Any, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        session_params("cus_1", UseCase.PAYMENTS, **kwargs)


# ---- resolve -----------------------------------------------------------------------------


def session(
    status: str, accounts: list[str], failure: str | None = None, auth: str | None = None
) -> dict[str, Any]:
    return {
        "id": "fcsess_1",
        "status": status,
        "accounts": {"object": "list", "data": [{"id": a} for a in accounts]},
        "relink_result": {"account": None, "authorization": auth, "failure_reason": failure},
    }


def test_same_account_back_is_reauthorized() -> None:
    r = resolve(
        session("succeeded", ["fca_1"], auth="fcauth_1"), ["fca_1", "fca_2"], UseCase.PAYMENTS
    )
    assert (r.outcome, r.ok, r.mandate_required, r.new_accounts) == (
        Outcome.REAUTHORIZED,
        True,
        False,
        (),
    )


def test_a_sibling_reauthorized_instead_of_the_account_to_repair_is_reported() -> None:
    r = resolve(
        session("succeeded", ["fca_2"], auth="fcauth_1"),
        ["fca_1", "fca_2"],
        UseCase.PAYMENTS,
        repairing="fca_1",
    )
    assert (r.outcome, r.accounts) == (Outcome.NOT_REPAIRED, ("fca_2",))
    assert "not fca_1" in r.message


def test_new_account_for_payments_needs_a_mandate() -> None:
    r = resolve(session("succeeded", ["fca_9"], auth="fcauth_1"), ["fca_1"], UseCase.PAYMENTS)
    assert (r.outcome, r.mandate_required, r.new_accounts) == (
        Outcome.NEW_ACCOUNT,
        True,
        ("fca_9",),
    )


def test_new_account_for_data_needs_no_mandate() -> None:
    r = resolve(session("succeeded", ["fca_9"]), ["fca_1"], UseCase.DATA)
    assert (r.outcome, r.mandate_required) == (Outcome.NEW_ACCOUNT, False)


def test_stripe_js_plain_array_of_accounts_is_understood() -> None:
    s = {"id": "fcsess_1", "status": "succeeded", "accounts": [{"id": "fca_1"}]}
    assert resolve(s, ["fca_1"], UseCase.PAYMENTS).outcome is Outcome.REAUTHORIZED


@pytest.mark.parametrize(
    ("status", "failure", "outcome"),
    [
        ("failed", "no_authorization", Outcome.NO_ACCOUNTS),
        ("failed", "no_account", Outcome.WRONG_ACCOUNT),
        ("failed", "other", Outcome.ERROR),
        ("cancelled", "no_authorization", Outcome.CANCELLED),
        ("pending", None, Outcome.PENDING),
    ],
)
def test_unsuccessful_sessions_are_reported_with_their_reason(
    status: str, failure: str | None, outcome: Outcome
) -> None:
    r = resolve(session(status, [], failure), ["fca_1"], UseCase.PAYMENTS)
    assert r.outcome is outcome and not r.ok
    assert r.failure_reason == failure


def test_a_stripe_js_error_is_reported_as_an_error() -> None:
    r = resolve(session("pending", []), ["fca_1"], UseCase.PAYMENTS, "The bank is down")
    assert (r.outcome, r.message) == (Outcome.ERROR, "The bank is down")


# ---- webhooks (pure) ---------------------------------------------------------------------


def event(
    type_: str, obj: dict[str, Any], id_: str = "evt_1", created: int = NOW
) -> dict[str, Any]:
    return {
        "id": id_,
        "object": "event",
        "type": type_,
        "created": created,
        "data": {"object": obj},
    }


ACC = "financial_connections.account."


def test_deactivated_event_marks_relink_or_new_link_by_action() -> None:
    relink = mark_for_event(ACC + "deactivated", account("inactive", **INACTIVE_RELINK))
    closed = mark_for_event(
        ACC + "deactivated",
        account("inactive", inactive={"action": "none", "cause": "account_closed"}),
    )
    assert relink is not None and relink.flag is Flag.NEEDS_RELINK
    assert closed is not None and closed.flag is Flag.NEEDS_NEW_LINK


def test_warnings_mark_relink_soon_with_the_date() -> None:
    upcoming = mark_for_event(
        ACC + "upcoming_deactivation",
        account(
            active={
                "action": "relink_required",
                "cause": "access_expired",
                "expected_deactivation_date": NOW + DAY,
            }
        ),
    )
    expiring = mark_for_event(
        ACC + "upcoming_account_number_expiry",
        {**account(), "account_numbers": [tan("transactable", NOW + 5)]},
    )
    assert upcoming is not None and (upcoming.flag, upcoming.until) == (Flag.RELINK_SOON, NOW + DAY)
    assert expiring is not None and (expiring.flag, expiring.until) == (Flag.RELINK_SOON, NOW + 5)


def test_account_numbers_deactivated_marks_relink_and_renewed_clears() -> None:
    dead = {**account(), "account_numbers": [tan("deactivated", NOW)]}
    fresh = {**account(), "account_numbers": [tan("transactable", NOW + 180 * DAY)]}
    w = Watchlist()
    apply_event(w, event(ACC + "account_numbers_updated", dead, "evt_1"))
    assert w.accounts(Flag.NEEDS_RELINK) == ["fca_1"]
    apply_event(w, event(ACC + "account_numbers_updated", fresh, "evt_2"))
    assert w.flags == {}


def test_unrelated_events_change_nothing() -> None:
    assert mark_for_event("customer.created", {"id": "cus_1"}) is None
    assert mark_for_event(ACC + "created", account()) is None


def test_repeated_delivery_is_applied_once() -> None:
    w = Watchlist()
    ev = event(ACC + "deactivated", account("inactive", **INACTIVE_RELINK))
    assert apply_event(w, ev) is not None
    assert apply_event(w, ev) is None


def test_a_late_retry_does_not_undo_a_newer_event() -> None:
    w = Watchlist()
    apply_event(w, event(ACC + "reactivated", account(), "evt_2", created=NOW + 60))
    apply_event(
        w, event(ACC + "deactivated", account("inactive", **INACTIVE_RELINK), "evt_1", created=NOW)
    )
    assert w.flags == {}


def test_a_warning_does_not_downgrade_an_outage() -> None:
    w = Watchlist()
    apply_event(w, event(ACC + "deactivated", account("inactive", **INACTIVE_RELINK), "evt_1"))
    apply_event(
        w,
        event(
            ACC + "upcoming_account_number_expiry",
            {**account(), "account_numbers": [tan("transactable", NOW)]},
            "evt_2",
        ),
    )
    assert w.accounts(Flag.NEEDS_RELINK) == ["fca_1"]


# ---- errors ------------------------------------------------------------------------------


def test_relink_error_names_step_status_code_param_and_request() -> None:
    err = stripe.InvalidRequestError(  # type: ignore[no-untyped-call]
        "Received unknown parameter: relink_options",
        "relink_options",
        code="parameter_unknown",
        http_status=400,
        json_body={
            "error": {
                "type": "invalid_request_error",
                "code": "parameter_unknown",
                "param": "relink_options",
                "message": "Received unknown parameter: relink_options",
            }
        },
        headers={"request-id": "req_123"},
    )
    e = RelinkError.from_stripe("create relink session", err, "2026-10-28.endive")
    assert str(e).startswith(
        "create relink session failed: 400 invalid_request_error parameter_unknown "
        "(param relink_options): Received unknown parameter: relink_options"
    )
    assert "`.preview` Stripe-Version (this client sent 2026-10-28.endive)" in str(e)
    assert str(e).endswith("[req_123]")


# ---- the client against the fake ---------------------------------------------------------


@pytest.fixture
def relink_client(
    mode: str, app: Any, key: str, request: pytest.FixtureRequest
) -> Iterator[RelinkClient]:
    target = app if mode == "inprocess" else request.getfixturevalue("server").url
    with RelinkClient.connect(target, key) as c:
        yield c


def helper(c: RelinkClient, path: str, /, **params: Any) -> dict[str, Any]:
    body = json.loads(c.stripe.raw_request("post", path, **params).body)
    assert isinstance(body, dict)
    return body


def linked(c: RelinkClient, institution: str = "fcinst_StripeBank") -> tuple[str, str]:
    """A customer with one checking account linked for payments: (customer, account)."""
    cus = c.stripe.v1.customers.create(params={"name": "Jenny Rosen"})
    start = c.start_link(cus.id, UseCase.PAYMENTS)
    helper(c, f"{TH}/sessions/{start.session}/complete", outcome="link", institution=institution)
    r = c.resolve(start.session, start.existing_account_ids, UseCase.PAYMENTS)
    assert r.outcome is Outcome.NEW_ACCOUNT and r.mandate_required
    c.set_up_payments(cus.id, r.new_accounts[0], MandateAcceptance("203.0.113.7", "pytest"))
    return cus.id, r.new_accounts[0]


def test_client_relinks_an_expired_account_end_to_end(relink_client: RelinkClient) -> None:
    c = relink_client
    customer, acc = linked(c)
    assert c.assess(acc).decision is Decision.HEALTHY
    helper(c, f"{TH}/accounts/{acc}/deactivate", reason="token_expired")
    a = c.assess(acc)
    assert a.decision is Decision.RELINK and a.authorization is not None
    start = c.start_relink(customer, a.authorization, UseCase.PAYMENTS)
    assert start.client_secret.startswith(start.session) and start.existing_account_ids == (acc,)
    helper(c, f"{TH}/sessions/{start.session}/complete", outcome="relink_same")
    r = c.resolve(start.session, start.existing_account_ids, UseCase.PAYMENTS)
    assert (r.outcome, r.accounts) == (Outcome.REAUTHORIZED, (acc,))
    assert c.assess(acc).decision is Decision.HEALTHY


def test_every_request_carries_the_preview_version(app: Any, key: str) -> None:
    seen: list[str] = []

    class Spy(stripe.HTTPClient):
        name = "spy"

        def __init__(self, inner: Any) -> None:
            super().__init__()
            self.inner = inner

        def request(
            self, method: str, url: str, headers: Any, post_data: Any = None, *, _usage: Any = None
        ) -> Any:
            seen.append(dict(headers)["Stripe-Version"])
            return self.inner.request(method, url, headers, post_data)

    from fake_stripe.sdk import http_client

    inner = http_client(app)
    with RelinkClient.connect(app, key, http_client=Spy(inner)) as c:
        linked(c)
    inner.close()
    assert seen and set(seen) == {client.PREVIEW_VERSION}


def test_a_500_is_retried_with_the_same_idempotency_key(relink_client: RelinkClient) -> None:
    c = relink_client
    customer, acc = linked(c)
    helper(c, f"{TH}/accounts/{acc}/deactivate", reason="mfa_changed")
    helper(
        c,
        "/v1/test_helpers/faults",
        method="POST",
        path="/v1/financial_connections/sessions",
        status="500",
    )
    a = c.assess(acc)
    assert a.authorization is not None
    start = c.start_relink(customer, a.authorization, UseCase.PAYMENTS)
    tries = c.requests.attempts("POST", "/v1/financial_connections/sessions")[-2:]
    assert [t.status for t in tries] == [500, 200]
    assert tries[0].idempotency_key == tries[1].idempotency_key is not None
    assert tries[1].object_id == start.session


def test_a_response_lost_after_create_is_replayed_not_created_again(
    relink_client: RelinkClient,
) -> None:
    c = relink_client
    customer, acc = linked(c)
    helper(c, f"{TH}/accounts/{acc}/deactivate", reason="token_expired")
    helper(
        c,
        "/v1/test_helpers/faults",
        method="POST",
        path="/v1/financial_connections/sessions",
        status="500",
        when="after",
    )
    a = c.assess(acc)
    assert a.authorization is not None
    start = c.start_relink(customer, a.authorization, UseCase.PAYMENTS)
    lost, retry = c.requests.attempts("POST", "/v1/financial_connections/sessions")[-2:]
    assert (lost.status, lost.object_id, lost.original_request) == (500, None, None)
    assert lost.idempotency_key == retry.idempotency_key is not None
    # The 200 is the stored result of the attempt whose answer was lost: the same session.
    assert (retry.status, retry.object_id) == (200, start.session)
    assert retry.original_request == lost.request_id is not None
    assert retry.request_id != lost.request_id


def test_an_explicit_idempotency_key_replays_the_same_session(relink_client: RelinkClient) -> None:
    c = relink_client
    customer, acc = linked(c)
    helper(c, f"{TH}/accounts/{acc}/deactivate", reason="token_expired")
    a = c.assess(acc)
    assert a.authorization is not None
    first = c.start_relink(customer, a.authorization, UseCase.PAYMENTS, idempotency_key="k1")
    again = c.start_relink(customer, a.authorization, UseCase.PAYMENTS, idempotency_key="k1")
    assert first.session == again.session


def test_stripe_errors_surface_with_step_code_and_param(relink_client: RelinkClient) -> None:
    with pytest.raises(RelinkError) as info:
        relink_client.assess("fca_doesnotexist")
    e = info.value
    assert (e.step, e.http_status, e.type, e.code, e.param) == (
        "retrieve account",
        404,
        "invalid_request_error",
        "resource_missing",
        "id",
    )
    assert e.request_id is not None and e.request_id.startswith("req_")


def test_relinking_an_unrelinkable_authorization_is_refused(relink_client: RelinkClient) -> None:
    c = relink_client
    customer, acc = linked(c)
    auth = c.assess(acc)
    helper(c, f"{TH}/accounts/{acc}/deactivate", reason="permanent")
    assert c.assess(acc).decision is Decision.CONNECT_FROM_SCRATCH
    fca = c.stripe.v1.financial_connections.accounts.retrieve(acc).to_dict()
    with pytest.raises(RelinkError) as info:
        c.start_relink(customer, fca["authorization"], UseCase.PAYMENTS)
    assert info.value.param == "relink_options[authorization]"
    assert auth.decision is Decision.HEALTHY


def test_connection_errors_are_retried_with_the_same_key_then_reported(key: str) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    with RelinkClient.connect(f"http://127.0.0.1:{port}", key, max_network_retries=1) as c:
        with pytest.raises(RelinkError, match="could not reach Stripe") as info:
            c.start_link("cus_1", UseCase.PAYMENTS)
    assert info.value.step == "create session"
    tries = c.requests.attempts("POST")
    assert len(tries) == 2 and tries[0].status is None
    assert tries[0].idempotency_key == tries[1].idempotency_key is not None


def signed(payload: str, secret: str, t: int | None = None) -> str:
    t = int(time.time()) if t is None else t
    sig = hmac.new(secret.encode(), f"{t}.{payload}".encode(), hashlib.sha256).hexdigest()
    return f"t={t},v1={sig}"


def test_webhook_handler_verifies_and_marks_accounts(relink_client: RelinkClient) -> None:
    c = relink_client
    _customer, acc = linked(c)
    helper(c, f"{TH}/accounts/{acc}/deactivate", reason="access_revoked")
    events = json.loads(
        c.stripe.raw_request(
            "get", "/v1/events", type="financial_connections.account.deactivated"
        ).body
    )["data"]
    payload = json.dumps(events[0])
    mark = c.handle_webhook(payload, signed(payload, "whsec_test"), "whsec_test")
    assert mark is not None and mark.flag is Flag.NEEDS_RELINK
    assert c.watchlist.accounts(Flag.NEEDS_RELINK) == [acc]
    with pytest.raises(stripe.SignatureVerificationError):
        c.handle_webhook(payload, signed(payload, "whsec_other"), "whsec_test")
    with pytest.raises(stripe.SignatureVerificationError):
        c.handle_webhook(
            payload, signed(payload, "whsec_test", int(time.time()) - 3600), "whsec_test"
        )


# ---- a debit's outcome read into the relink decision ---------------------------------------


def _failed(code: str, blocked: str | None = None) -> dict[str, Any]:
    details = {"blocked": {"network_code": None, "reason": blocked}} if blocked else None
    pm = {
        "id": "pm_1",
        "us_bank_account": {"financial_connections_account": "fca_1", "status_details": details},
    }
    return {
        "id": "pi_1",
        "status": "requires_payment_method",
        "last_payment_error": {"type": "card_error", "code": code, "payment_method": pm},
    }


@pytest.mark.parametrize(
    ("intent", "decision"),
    [
        ({"id": "pi_1", "status": "succeeded"}, client.DebitDecision.PAID),
        ({"id": "pi_1", "status": "processing"}, client.DebitDecision.PROCESSING),
        (
            _failed("bank_account_unusable", "tokenized_account_number_deactivated"),
            client.DebitDecision.RELINK,
        ),
        (_failed("account_closed"), client.DebitDecision.CONNECT_FROM_SCRATCH),
        (_failed("no_account"), client.DebitDecision.CONNECT_FROM_SCRATCH),
        (
            _failed("bank_account_unusable", "bank_account_closed"),
            client.DebitDecision.CONNECT_FROM_SCRATCH,
        ),
        (_failed("insufficient_funds"), client.DebitDecision.RETRY),
        (_failed("debit_not_authorized"), client.DebitDecision.CONTACT_CUSTOMER),
    ],
)
def test_a_debit_is_read_into_the_relink_decision(
    intent: dict[str, Any], decision: client.DebitDecision
) -> None:
    assert client.read_debit(intent).decision is decision


def test_a_failed_debit_webhook_flags_the_account_behind_it() -> None:
    closed = client.mark_for_event("payment_intent.payment_failed", _failed("account_closed"))
    assert closed == client.Mark("fca_1", client.Flag.NEEDS_NEW_LINK, detail="account_closed")
    tan = _failed("bank_account_unusable", "tokenized_account_number_deactivated")
    relink = client.mark_for_event("payment_intent.payment_failed", tan)
    assert relink is not None and relink.flag is client.Flag.NEEDS_RELINK
    nsf = client.mark_for_event("payment_intent.payment_failed", _failed("insufficient_funds"))
    assert nsf is None
