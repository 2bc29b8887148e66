"""Every Financial Connections validation rule: status, error type, code and param."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from fake_stripe.core.versions import PREVIEW_VERSION
from tests.helpers import assert_error

PV = {"Stripe-Version": PREVIEW_VERSION}
TH = "/v1/test_helpers/financial_connections"


def post(api: httpx.Client, path: str, data: dict[str, Any] | None = None) -> httpx.Response:
    return api.post(path, data=data or {}, headers=PV)


def ok(resp: httpx.Response) -> Any:
    assert resp.status_code == 200, resp.text
    return resp.json()


def linked(
    api: httpx.Client, institution: str = "fcinst_StripeBank", **extra: Any
) -> dict[str, Any]:
    cus = ok(post(api, "/v1/customers"))
    s = ok(
        post(
            api,
            "/v1/financial_connections/sessions",
            {
                "account_holder[type]": "customer",
                "account_holder[customer]": cus["id"],
                "permissions[0]": extra.pop("permission", "payment_method"),
            },
        )
    )
    done = ok(
        post(
            api,
            f"{TH}/sessions/{s['id']}/complete",
            {"outcome": "link", "institution": institution, **extra},
        )
    )
    account: dict[str, Any] = done["accounts"]["data"][0]
    account["_customer"] = cus["id"]
    return account


def pm_from(api: httpx.Client, account_id: str) -> httpx.Response:
    """Create a PaymentMethod from a Financial Connections account."""
    return post(
        api,
        "/v1/payment_methods",
        {
            "type": "us_bank_account",
            "us_bank_account[financial_connections_account]": account_id,
            "billing_details[name]": "Jane",
        },
    )


def session_params(customer: str, **extra: str) -> dict[str, str]:
    return {
        "account_holder[type]": "customer",
        "account_holder[customer]": customer,
        "permissions[]": "payment_method",
        **extra,
    }


def test_session_create_without_permissions_is_rejected(api: httpx.Client) -> None:
    cus = ok(post(api, "/v1/customers"))
    resp = post(
        api,
        "/v1/financial_connections/sessions",
        {"account_holder[type]": "customer", "account_holder[customer]": cus["id"]},
    )
    assert_error(resp, 400, code="parameter_missing", param="permissions")


def test_session_create_with_an_unknown_permission_names_the_item(api: httpx.Client) -> None:
    cus = ok(post(api, "/v1/customers"))
    resp = post(
        api,
        "/v1/financial_connections/sessions",
        session_params(cus["id"], **{"permissions[]": "everything"}),
    )
    err = assert_error(resp, 400, param="permissions[0]")
    assert "must be one of balances, ownership, payment_method, or transactions" in err["message"]


def test_session_create_with_an_unknown_customer_is_resource_missing(api: httpx.Client) -> None:
    resp = post(api, "/v1/financial_connections/sessions", session_params("cus_nope"))
    assert_error(resp, 400, code="resource_missing", param="account_holder[customer]")


def test_ga_session_requires_an_account_holder(api: httpx.Client) -> None:
    resp = api.post("/v1/financial_connections/sessions", data={"permissions[]": "balances"})
    assert_error(resp, 400, code="parameter_missing", param="account_holder")


def test_relink_options_without_a_preview_version_is_an_unknown_parameter(
    api: httpx.Client,
) -> None:
    account = linked(api)
    resp = api.post(
        "/v1/financial_connections/sessions",
        data=session_params(
            account["_customer"], **{"relink_options[authorization]": account["authorization"]}
        ),
    )
    assert_error(resp, 400, code="parameter_unknown", param="relink_options")


def test_relink_options_with_an_unknown_authorization_is_404(api: httpx.Client) -> None:
    cus = ok(post(api, "/v1/customers"))
    resp = post(
        api,
        "/v1/financial_connections/sessions",
        session_params(cus["id"], **{"relink_options[authorization]": "fcauth_nope"}),
    )
    err = assert_error(resp, 404, code="resource_missing", param="relink_options[authorization]")
    assert err["message"] == "No such financial_connections.authorization: 'fcauth_nope'"


def test_relink_options_requires_the_authorization_key(api: httpx.Client) -> None:
    account = linked(api)
    resp = post(
        api,
        "/v1/financial_connections/sessions",
        session_params(account["_customer"], **{"relink_options[account]": account["id"]}),
    )
    assert_error(resp, 400, code="parameter_missing", param="relink_options[authorization]")


def test_session_create_with_a_disconnected_authorization_is_rejected(api: httpx.Client) -> None:
    account = linked(api)
    ok(post(api, f"/v1/financial_connections/accounts/{account['id']}/disconnect"))
    auth = ok(
        api.get(f"/v1/financial_connections/authorizations/{account['authorization']}", headers=PV)
    )
    assert auth["status"] == "disconnected"
    resp = post(
        api,
        "/v1/financial_connections/sessions",
        session_params(
            account["_customer"], **{"relink_options[authorization]": account["authorization"]}
        ),
    )
    assert_error(resp, 400, param="relink_options[authorization]")


def test_session_create_for_another_account_holder_is_rejected(api: httpx.Client) -> None:
    account = linked(api)
    other = ok(post(api, "/v1/customers"))
    resp = post(
        api,
        "/v1/financial_connections/sessions",
        session_params(other["id"], **{"relink_options[authorization]": account["authorization"]}),
    )
    assert_error(resp, 400, param="relink_options[authorization]")


def test_relink_options_account_must_belong_to_the_authorization(api: httpx.Client) -> None:
    a = linked(api)
    b = linked(api)
    resp = post(
        api,
        "/v1/financial_connections/sessions",
        session_params(
            a["_customer"],
            **{
                "relink_options[authorization]": a["authorization"],
                "relink_options[account]": b["id"],
            },
        ),
    )
    assert_error(resp, 400, param="relink_options[account]")


def test_relink_session_derives_the_account_holder_from_the_authorization(
    api: httpx.Client,
) -> None:
    account = linked(api)
    s = ok(
        post(
            api,
            "/v1/financial_connections/sessions",
            {
                "permissions[]": "balances",
                "relink_options[authorization]": account["authorization"],
            },
        )
    )
    assert s["account_holder"] == {"type": "customer", "customer": account["_customer"]}
    assert s["relink_options"] == {"authorization": account["authorization"], "account": None}


def test_limits_and_filters_bound_what_a_completion_may_link(api: httpx.Client) -> None:
    cus = ok(post(api, "/v1/customers"))
    s = ok(
        post(
            api,
            "/v1/financial_connections/sessions",
            session_params(
                cus["id"],
                **{"limits[accounts]": "1", "filters[account_subcategories][]": "checking"},
            ),
        )
    )
    two = {
        "outcome": "link",
        "accounts[0][subcategory]": "checking",
        "accounts[1][subcategory]": "checking",
    }
    assert_error(post(api, f"{TH}/sessions/{s['id']}/complete", two), 400, param="accounts")
    savings = {"outcome": "link", "accounts[0][subcategory]": "savings"}
    assert_error(post(api, f"{TH}/sessions/{s['id']}/complete", savings), 400, param="accounts")
    assert (
        ok(api.get(f"/v1/financial_connections/sessions/{s['id']}", headers=PV))["status"]
        == "pending"
    )


def test_limits_accounts_empty_string_means_any_number(api: httpx.Client) -> None:
    cus = ok(post(api, "/v1/customers"))
    s = ok(
        post(
            api,
            "/v1/financial_connections/sessions",
            session_params(cus["id"], **{"limits[accounts]": ""}),
        )
    )
    assert "limits" not in s


def test_completing_a_finished_session_is_rejected(api: httpx.Client) -> None:
    cus = ok(post(api, "/v1/customers"))
    s = ok(post(api, "/v1/financial_connections/sessions", session_params(cus["id"])))
    ok(post(api, f"{TH}/sessions/{s['id']}/complete", {"outcome": "cancel"}))
    assert_error(
        post(api, f"{TH}/sessions/{s['id']}/complete", {"outcome": "link"}), 400, param="session"
    )


def test_relink_outcomes_need_a_relink_session(api: httpx.Client) -> None:
    cus = ok(post(api, "/v1/customers"))
    s = ok(post(api, "/v1/financial_connections/sessions", session_params(cus["id"])))
    assert_error(
        post(api, f"{TH}/sessions/{s['id']}/complete", {"outcome": "relink_same"}),
        400,
        param="outcome",
    )


def test_down_bank_always_fails(api: httpx.Client) -> None:
    cus = ok(post(api, "/v1/customers"))
    s = ok(post(api, "/v1/financial_connections/sessions", session_params(cus["id"])))
    done = ok(
        post(
            api,
            f"{TH}/sessions/{s['id']}/complete",
            {"outcome": "link", "institution": "fcinst_DownBankError"},
        )
    )
    assert done["status"] == "failed"
    assert done["accounts"]["data"] == []


def test_payment_method_needs_the_payment_method_permission(api: httpx.Client) -> None:
    account = linked(api, permission="balances")
    resp = pm_from(api, account["id"])
    assert_error(resp, 400, param="us_bank_account[financial_connections_account]")


def test_payment_method_from_an_inactive_account_is_rejected(api: httpx.Client) -> None:
    account = linked(api)
    ok(post(api, f"{TH}/accounts/{account['id']}/deactivate", {"reason": "token_expired"}))
    resp = pm_from(api, account["id"])
    assert_error(
        resp,
        400,
        code="financial_connections_account_inactive",
        param="us_bank_account[financial_connections_account]",
    )


def test_payment_method_from_a_credit_card_account_is_rejected(api: httpx.Client) -> None:
    account = linked(api, **{"accounts[0][subcategory]": "credit_card"})
    resp = pm_from(api, account["id"])
    assert_error(
        resp,
        400,
        code="bank_account_unusable",
        param="us_bank_account[financial_connections_account]",
    )


def test_payment_method_from_an_unknown_account(api: httpx.Client) -> None:
    resp = pm_from(api, "fca_nope")
    assert_error(
        resp, 400, code="resource_missing", param="us_bank_account[financial_connections_account]"
    )


def test_payment_method_from_expired_account_numbers_is_rejected(api: httpx.Client) -> None:
    account = linked(api, institution="fcinst_Chase")
    ok(post(api, f"{TH}/accounts/{account['id']}/expire_account_numbers"))
    resp = pm_from(api, account["id"])
    assert_error(
        resp,
        400,
        code="financial_connections_account_unavailable_account_numbers",
        param="us_bank_account[financial_connections_account]",
    )


def test_expire_account_numbers_is_for_tan_accounts_only(api: httpx.Client) -> None:
    account = linked(api)
    assert_error(
        post(api, f"{TH}/accounts/{account['id']}/expire_account_numbers"), 400, param="account"
    )


def test_deactivate_helper_rejects_an_unknown_reason_and_cause_plus_reason(
    api: httpx.Client,
) -> None:
    account = linked(api)
    path = f"{TH}/accounts/{account['id']}/deactivate"
    assert_error(post(api, path, {"reason": "bored"}), 400, param="reason")
    assert_error(
        post(api, path, {"reason": "token_expired", "cause": "access_expired"}),
        400,
        code="parameters_exclusive",
        param="reason",
    )
    assert_error(post(api, path), 400, code="parameter_missing", param="cause")
    assert ok(api.get(f"/v1/financial_connections/accounts/{account['id']}"))["status"] == (
        "active"
    )


def test_authorizations_endpoint_exists_only_in_the_preview(api: httpx.Client) -> None:
    account = linked(api)
    resp = api.get(f"/v1/financial_connections/authorizations/{account['authorization']}")
    assert_error(resp, 404)


def test_refresh_of_an_inactive_account_is_rejected(api: httpx.Client) -> None:
    account = linked(api, permission="balances")
    ok(post(api, f"{TH}/accounts/{account['id']}/deactivate", {"reason": "mfa_changed"}))
    resp = post(
        api,
        f"/v1/financial_connections/accounts/{account['id']}/refresh",
        {"features[]": "balance"},
    )
    assert_error(resp, 400, code="financial_connections_account_inactive", param="account")


def test_refresh_needs_features(api: httpx.Client) -> None:
    account = linked(api, permission="balances")
    resp = post(api, f"/v1/financial_connections/accounts/{account['id']}/refresh")
    assert_error(resp, 400, code="parameter_missing", param="features")


@pytest.mark.parametrize("seconds", ["-1", "soon"])
def test_clock_advance_rejects_bad_seconds(api: httpx.Client, seconds: str) -> None:
    resp = post(api, "/v1/test_helpers/clock/advance", {"seconds": seconds})
    assert resp.status_code == 400
    assert resp.json()["error"]["param"] == "seconds"


def test_account_data_refresh_owners_and_transactions(api: httpx.Client) -> None:
    cus = ok(post(api, "/v1/customers"))
    s = ok(
        post(
            api,
            "/v1/financial_connections/sessions",
            {
                "account_holder[type]": "customer",
                "account_holder[customer]": cus["id"],
                "permissions[0]": "balances",
                "permissions[1]": "ownership",
                "permissions[2]": "transactions",
            },
        )
    )
    done = ok(post(api, f"{TH}/sessions/{s['id']}/complete", {"outcome": "link"}))
    fca = done["accounts"]["data"][0]["id"]
    acc = ok(
        post(
            api,
            f"/v1/financial_connections/accounts/{fca}/refresh",
            {"features[0]": "balance", "features[1]": "ownership", "features[2]": "transactions"},
        )
    )
    assert acc["balance"]["type"] == "cash"
    assert acc["balance_refresh"]["status"] == "succeeded"
    owners = ok(
        api.get(
            f"/v1/financial_connections/accounts/{fca}/owners",
            params={"ownership": acc["ownership"]},
        )
    )
    assert owners["data"][0]["ownership"] == acc["ownership"]
    txns = ok(api.get("/v1/financial_connections/transactions", params={"account": fca}))
    assert txns["data"] and all(t["account"] == fca for t in txns["data"])
    one = ok(api.get(f"/v1/financial_connections/transactions/{txns['data'][0]['id']}"))
    assert one == txns["data"][0]
    expanded = ok(
        api.get(f"/v1/financial_connections/accounts/{fca}", params={"expand[]": "ownership"})
    )
    assert expanded["ownership"]["object"] == "financial_connections.account_ownership"
    listed = ok(
        api.get(
            "/v1/financial_connections/accounts", params={"account_holder[customer]": cus["id"]}
        )
    )
    assert [a["id"] for a in listed["data"]] == [fca]
    by_session = ok(api.get("/v1/financial_connections/accounts", params={"session": s["id"]}))
    assert [a["id"] for a in by_session["data"]] == [fca]
    sub = ok(
        post(
            api,
            f"/v1/financial_connections/accounts/{fca}/subscribe",
            {"features[]": "transactions"},
        )
    )
    assert sub["subscriptions"] == ["transactions"]
    unsub = ok(
        post(
            api,
            f"/v1/financial_connections/accounts/{fca}/unsubscribe",
            {"features[]": "transactions"},
        )
    )
    assert unsub["subscriptions"] == []
    assert_error(
        api.get("/v1/financial_connections/transactions"),
        400,
        code="parameter_missing",
        param="account",
    )


def test_institutions_catalog_has_stable_ids(api: httpx.Client) -> None:
    got = ok(api.get("/v1/financial_connections/institutions"))
    assert [i["id"] for i in got["data"]] == [
        "fcinst_StripeBank",
        "fcinst_TestOAuthInstitution",
        "fcinst_Chase",
        "fcinst_PNCBank",
        "fcinst_DownBankError",
    ]
    one = ok(api.get("/v1/financial_connections/institutions/fcinst_Chase"))
    assert one["name"] == "Chase"
    assert_error(
        api.get("/v1/financial_connections/institutions/fcinst_nope"),
        404,
        code="resource_missing",
        param="id",
    )


def test_payment_method_attach_detach_and_list(api: httpx.Client) -> None:
    account = linked(api)
    pm = ok(pm_from(api, account["id"]))
    assert pm["customer"] is None
    att = ok(
        post(api, f"/v1/payment_methods/{pm['id']}/attach", {"customer": account["_customer"]})
    )
    assert att["customer"] == account["_customer"]
    listed = ok(
        api.get(
            "/v1/payment_methods",
            params={"customer": account["_customer"], "type": "us_bank_account"},
        )
    )
    assert [p["id"] for p in listed["data"]] == [pm["id"]]
    det = ok(post(api, f"/v1/payment_methods/{pm['id']}/detach"))
    assert det["customer"] is None
    assert_error(post(api, f"/v1/payment_methods/{pm['id']}/detach"), 400, param="payment_method")
    assert_error(
        post(api, f"/v1/payment_methods/{pm['id']}/attach"),
        400,
        code="parameter_missing",
        param="customer",
    )


def test_setup_intent_confirm_without_mandate_data_is_rejected(api: httpx.Client) -> None:
    account = linked(api)
    pm = ok(pm_from(api, account["id"]))
    si = ok(
        post(
            api,
            "/v1/setup_intents",
            {
                "customer": account["_customer"],
                "payment_method": pm["id"],
                "payment_method_types[]": "us_bank_account",
            },
        )
    )
    assert si["status"] == "requires_confirmation"
    assert_error(
        post(api, f"/v1/setup_intents/{si['id']}/confirm"),
        400,
        code="parameter_missing",
        param="mandate_data",
    )
    done = ok(
        post(
            api,
            f"/v1/setup_intents/{si['id']}/confirm",
            {"mandate_data[customer_acceptance][type]": "offline"},
        )
    )
    assert done["status"] == "succeeded"
    assert ok(api.get(f"/v1/payment_methods/{pm['id']}"))["customer"] == account["_customer"]


def test_relink_cannot_revive_a_closed_or_disconnected_account(api: httpx.Client) -> None:
    cus = ok(post(api, "/v1/customers"))
    s = ok(post(api, "/v1/financial_connections/sessions", session_params(cus["id"])))
    done = ok(
        post(
            api,
            f"{TH}/sessions/{s['id']}/complete",
            {
                "outcome": "link",
                "accounts[0][subcategory]": "checking",
                "accounts[1][subcategory]": "savings",
            },
        )
    )
    closed, gone = (a["id"] for a in done["accounts"]["data"])
    auth = done["accounts"]["data"][0]["authorization"]
    ok(post(api, f"{TH}/accounts/{closed}/deactivate", {"reason": "account_closed"}))
    ok(post(api, f"/v1/financial_connections/accounts/{gone}/disconnect"))
    for account in (closed, gone):
        resp = post(
            api,
            "/v1/financial_connections/sessions",
            session_params(
                cus["id"],
                **{"relink_options[authorization]": auth, "relink_options[account]": account},
            ),
        )
        assert_error(resp, 400, param="relink_options[account]")
    relink = ok(
        post(
            api,
            "/v1/financial_connections/sessions",
            session_params(cus["id"], **{"relink_options[authorization]": auth}),
        )
    )
    resp = post(
        api,
        f"{TH}/sessions/{relink['id']}/complete",
        {"outcome": "relink_same", "relink_accounts[]": closed},
    )
    assert_error(resp, 400, param="relink_accounts")
    assert ok(api.get(f"/v1/financial_connections/accounts/{closed}"))["status"] == "inactive"


def test_scheduled_deactivation_keeps_the_requested_action(api: httpx.Client) -> None:
    account = linked(api)
    ok(
        post(
            api,
            f"{TH}/accounts/{account['id']}/schedule_deactivation",
            {"days": "2", "action": "none", "cause": "unspecified"},
        )
    )
    ok(post(api, "/v1/test_helpers/clock/advance", {"seconds": str(3 * 86400)}))
    auth = ok(
        api.get(f"/v1/financial_connections/authorizations/{account['authorization']}", headers=PV)
    )
    assert auth["status_details"] == {"inactive": {"action": "none"}}


def test_emptied_shipping_address_is_a_400(api: httpx.Client) -> None:
    cus = ok(post(api, "/v1/customers"))
    resp = post(api, f"/v1/customers/{cus['id']}", {"shipping[name]": "x", "shipping[address]": ""})
    assert_error(resp, 400, param="shipping[address]")


def test_expand_only_replaces_an_id_of_the_declared_kind(api: httpx.Client) -> None:
    account = linked(api)
    # An invoice remembers what it is told: here an account's id where a PaymentMethod's goes.
    invoice = ok(
        post(
            api,
            "/v1/invoices",
            {"customer": account["_customer"], "default_payment_method": account["id"]},
        )
    )
    got = ok(
        api.get(f"/v1/invoices/{invoice['id']}", params={"expand[]": "default_payment_method"})
    )
    assert got["default_payment_method"] == account["id"]


def test_webhook_endpoint_with_a_malformed_url_is_a_400(api: httpx.Client) -> None:
    resp = api.post("/v1/webhook_endpoints", data={"url": "http://[::1", "enabled_events[]": "*"})
    assert_error(resp, 400, param="url")


def test_online_mandate_acceptance_needs_its_online_hash(api: httpx.Client) -> None:
    account = linked(api)
    pm = ok(pm_from(api, account["id"]))
    resp = post(
        api,
        "/v1/setup_intents",
        {
            "customer": account["_customer"],
            "payment_method": pm["id"],
            "confirm": "true",
            "payment_method_types[]": "us_bank_account",
            "mandate_data[customer_acceptance][type]": "online",
        },
    )
    assert_error(
        resp, 400, code="parameter_missing", param="mandate_data[customer_acceptance][online]"
    )


def test_transactions_after_a_refresh_list_only_later_refreshes(api: httpx.Client) -> None:
    account = linked(api, permission="transactions")
    path = f"/v1/financial_connections/accounts/{account['id']}/refresh"
    first = ok(post(api, path, {"features[]": "transactions"}))["transaction_refresh"]["id"]
    ok(post(api, "/v1/test_helpers/clock/advance", {"seconds": "60"}))
    second = ok(post(api, path, {"features[]": "transactions"}))["transaction_refresh"]["id"]
    later = ok(
        api.get(
            "/v1/financial_connections/transactions",
            params={"account": account["id"], "transaction_refresh[after]": first, "limit": 100},
        )
    )
    assert later["data"]
    assert {t["transaction_refresh"] for t in later["data"]} == {second}
