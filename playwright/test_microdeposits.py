"""The ACH fallback on the sample merchant page: the relink fails at the bank, the customer
types the account and routing numbers, and verifies the microdeposit's descriptor code with
`stripe.verifyMicrodepositsForSetup` (a wrong code first); and the hosted verification page
that `next_action.verify_with_microdeposits.hosted_verification_url` leads to."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import ARTIFACTS, Shop
from playwright.sync_api import Page, expect


def test_failed_relink_falls_back_to_microdeposits_verified_on_the_page(
    shop: Shop, request: pytest.FixtureRequest
) -> None:
    account = shop.link()
    shop.deactivate(account.id, "credentials_changed")
    shop.open()
    shop.row(account).get_by_role("button", name="Re-link your bank account").click()
    flow = shop.flow()
    flow.get_by_role("button", name="Agree and continue").click()
    shop.sign_in("error")
    flow.get_by_role("button", name="Return to site").click()
    expect(shop.message()).to_contain_text("Your bank account could not be linked")

    typed = shop.page.get_by_role("region", name="Enter your bank details instead")
    expect(typed).to_be_visible()
    typed.get_by_label("Routing number").fill("110000000")
    typed.get_by_label("Account number").fill("000123456789")
    shop.snapshot("typed", request)
    typed.get_by_role("button", name="Save and verify with microdeposits").click()

    verify = shop.page.get_by_role("region", name="Verify your bank account")
    expect(verify).to_be_visible()
    expect(verify).to_contain_text("starting with SM")
    (si,) = shop.sdk.v1.setup_intents.list(params={"customer": shop.customer}).data[:1]
    assert si.status == "requires_action"
    assert si.next_action.type == "verify_with_microdeposits"

    verify.get_by_label("Code from your statement").fill("SM00XX")
    verify.get_by_role("button", name="Verify").click()
    expect(shop.message()).to_contain_text(
        "Verification failed: The verification code provided does not match"
    )
    shop.snapshot("wrong-code", request)
    assert shop.sdk.v1.setup_intents.retrieve(si.id).status == "requires_action"

    verify.get_by_label("Code from your statement").fill("SM11AA")
    verify.get_by_role("button", name="Verify").click()
    expect(shop.message()).to_have_text("Bank account verified. Payments will be debited from it.")
    expect(verify).to_be_hidden()
    shop.snapshot("verified", request)
    done = shop.sdk.v1.setup_intents.retrieve(si.id)
    assert done.status == "succeeded" and done.mandate is not None
    pm = shop.sdk.v1.payment_methods.retrieve(done.payment_method)
    assert pm.us_bank_account.last4 == "6789" and pm.customer == shop.customer


def test_hosted_verification_url_serves_the_page_that_verifies(
    page: Page, sdk: Any, stripe_js_hits: dict[str, int], request: pytest.FixtureRequest
) -> None:
    """The customer follows `next_action`'s link with no key (as from an email), enters a wrong
    descriptor code, sees Stripe's error, then the right one, and the intent moves on."""
    customer = sdk.v1.customers.create(params={"name": "Jenny Rosen"})
    si = sdk.v1.setup_intents.create(
        params={
            "customer": customer.id,
            "payment_method_types": ["us_bank_account"],
            "payment_method_data": {
                "type": "us_bank_account",
                "billing_details": {"name": "Jenny Rosen"},
                "us_bank_account": {
                    "routing_number": "110000000",
                    "account_number": "000123456789",
                },
            },
            "confirm": True,
            "mandate_data": {"customer_acceptance": {"type": "offline"}},
        }
    )
    assert si.status == "requires_action"
    page.goto(si.next_action.verify_with_microdeposits.hosted_verification_url)
    expect(page.get_by_role("heading", name="Verify your bank account")).to_be_visible()
    expect(page.locator("#summary")).to_contain_text("We sent a deposit to your bank account")

    page.get_by_label("Descriptor code").fill("SM00XX")
    page.get_by_role("button", name="Verify", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text(
        "The verification code provided does not match"
    )
    page.screenshot(path=str(ARTIFACTS / f"{request.node.name}--wrong-code.png"))
    assert sdk.v1.setup_intents.retrieve(si.id).status == "requires_action"

    page.get_by_label("Descriptor code").fill("SM11AA")
    page.get_by_role("button", name="Verify", exact=True).click()
    expect(page.get_by_role("status")).to_have_text(
        "Your bank account is verified. You can close this page."
    )
    expect(page.get_by_role("alert")).to_be_hidden()
    page.screenshot(path=str(ARTIFACTS / f"{request.node.name}--verified.png"))
    assert sdk.v1.setup_intents.retrieve(si.id).status == "succeeded"
