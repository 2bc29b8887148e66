"""Paying for an order by bank (ACH Direct Debit) on the sample merchant page: through
`collectBankAccountForPayment` and `confirmUsBankAccountPayment`, and with a saved Chase account
that is refused while its tokenized number is expired and charges again after a relink."""

from __future__ import annotations

import re
from typing import Any

import pytest
from conftest import Shop
from playwright.sync_api import expect

TH = "/v1/test_helpers"


def _settle(shop: Shop, intent: str) -> Any:
    resp = shop.sdk.raw_request("post", f"{TH}/payment_intents/{intent}/settle")
    return shop.sdk.deserialize(resp, api_mode="V1")


def _payments(shop: Shop) -> Any:
    return shop.page.get_by_role("list", name="Payments").get_by_role("listitem")


def test_pay_by_bank_links_an_account_in_the_modal_and_confirms_with_the_mandate(
    shop: Shop, request: pytest.FixtureRequest
) -> None:
    shop.open()
    checkout = shop.page.get_by_role("region", name="Order #1001")
    expect(checkout.get_by_text("No payments yet.")).to_be_visible()
    checkout.get_by_role("button", name="Pay $10 by bank").click()

    flow = shop.flow()
    expect(flow.get_by_role("heading", name="Connect your bank account")).to_be_visible()
    flow.get_by_role("button", name="Agree and continue").click()
    flow.get_by_role("button", name=re.compile("StripeBank")).click()
    shop.sign_in()
    flow.get_by_role("checkbox", name=re.compile("Checking")).check()
    expect(flow.get_by_role("checkbox", name=re.compile("Credit Card"))).to_be_disabled()
    flow.get_by_role("button", name="Connect account").click()
    expect(flow.get_by_role("heading", name="Account connected")).to_be_visible()
    flow.get_by_role("button", name="Done").click()

    expect(shop.message()).to_contain_text("accept the mandate to pay by bank")
    shop.snapshot("mandate", request)
    checkout.get_by_role("button", name="Accept and pay $10").click()
    expect(shop.message()).to_have_text("Thank you! Your payment of $10.00 is processing.")
    expect(_payments(shop)).to_have_count(1)
    expect(_payments(shop).first).to_contain_text("Processing")
    expect(checkout.get_by_text("No payments yet.")).to_be_hidden()

    listed = shop.sdk.v1.payment_intents.list(params={"customer": shop.customer})
    assert len(listed.data) == 1
    pi = listed.data[0]
    assert (pi.status, pi.amount, pi.currency) == ("processing", 1000, "usd")
    pm = shop.sdk.v1.payment_methods.retrieve(pi.payment_method)
    assert pm.customer == shop.customer  # setup_future_usage: saved for the next order
    assert pm.billing_details.name == "Jenny Rosen"
    account = shop.sdk.v1.financial_connections.accounts.retrieve(
        pm.us_bank_account.financial_connections_account
    )
    expect(shop.row(account)).to_contain_text("Active")

    # The bank answers (the settle helper stands in for about 4 business days).
    assert _settle(shop, pi.id).status == "succeeded"
    shop.page.reload()
    expect(_payments(shop).first).to_contain_text("Paid")
    expect(_payments(shop).first).to_contain_text(
        f"\u2022\u2022\u2022\u2022{pm.us_bank_account.last4}"
    )


def test_a_saved_chase_account_is_refused_while_its_number_is_expired_and_pays_after_a_relink(
    shop: Shop, request: pytest.FixtureRequest
) -> None:
    account = shop.link("fcinst_Chase")
    pm = next(
        p
        for p in shop.sdk.v1.payment_methods.list(params={"customer": shop.customer}).data
        if p.us_bank_account.financial_connections_account == account.id
    )
    old_last4 = pm.us_bank_account.last4
    shop.sdk.raw_request(
        "post", f"{TH}/financial_connections/accounts/{account.id}/expire_account_numbers"
    )
    shop.deactivate(account.id, "token_expired")
    shop.open()
    checkout = shop.page.get_by_role("region", name="Order #1001")
    checkout.get_by_role(
        "button", name=f"Pay $10 with Chase \u2022\u2022\u2022\u2022{old_last4}"
    ).click()
    expect(shop.message()).to_contain_text(
        "Your bank refused the payment: The bank account provided cannot be used."
    )
    expect(_payments(shop).first).to_contain_text("Failed")
    shop.snapshot("refused", request)

    shop.row(account).get_by_role("button", name="Re-link your bank account").click()
    flow = shop.flow()
    flow.get_by_role("button", name="Agree and continue").click()
    expect(flow.get_by_role("heading", name="Sign in to Chase")).to_be_visible()
    shop.sign_in()
    flow.get_by_role("button", name="Connect account").click()
    flow.get_by_role("button", name="Done").click()
    expect(shop.message()).to_have_text(re.compile("Your bank account is reconnected"))

    new_last4 = shop.sdk.v1.payment_methods.retrieve(pm.id).us_bank_account.last4
    assert new_last4 != old_last4
    checkout.get_by_role(
        "button", name=f"Pay $10 with Chase \u2022\u2022\u2022\u2022{new_last4}"
    ).click()
    expect(shop.message()).to_have_text("Thank you! Your payment of $10.00 is processing.")
    paid = shop.sdk.v1.payment_intents.list(params={"customer": shop.customer}).data[0]
    assert paid.payment_method == pm.id  # the same pm_, updated in place by the relink
    assert _settle(shop, paid.id).status == "succeeded"
    charge = shop.sdk.v1.charges.retrieve(paid.latest_charge)
    assert charge.payment_method_details.us_bank_account.last4 == new_last4
    shop.page.reload()
    expect(_payments(shop).first).to_contain_text("Paid")
    expect(_payments(shop).first).to_contain_text(f"Chase \u2022\u2022\u2022\u2022{new_last4}")
    expect(_payments(shop).nth(1)).to_contain_text("Failed")
