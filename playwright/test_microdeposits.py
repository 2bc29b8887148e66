"""The ACH fallback on the sample merchant page: the relink fails at the bank, the customer
types the account and routing numbers, and verifies the microdeposit's descriptor code with
`stripe.verifyMicrodepositsForSetup` (a wrong code first)."""

from __future__ import annotations

import pytest
from conftest import Shop
from playwright.sync_api import expect


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
