"""Relinking an inactive account from the sample merchant page, click by click.

Each test starts from an account linked earlier, makes it inactive with a test helper, then
drives the page and the fake Stripe.js authentication flow as a user would, and checks both what
the page says and what the API says afterwards.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from conftest import Shop
from playwright.sync_api import expect


def _start_relink(shop: Shop, account: Any, use_case: str = "payments") -> None:
    shop.open(use_case)
    row = shop.row(account)
    expect(row).to_contain_text("Inactive")
    row.get_by_role("button", name="Re-link your bank account").click()


def _payment_method_of(shop: Shop, account_id: str) -> Any:
    pms = shop.sdk.v1.payment_methods.list(
        params={"customer": shop.customer, "type": "us_bank_account"}
    )
    return next(
        pm for pm in pms.data if pm.us_bank_account.financial_connections_account == account_id
    )


def test_relink_of_the_same_account_after_token_expiry_reactivates_it(
    shop: Shop, request: pytest.FixtureRequest
) -> None:
    account = shop.link()
    shop.deactivate(account.id, "token_expired")
    _start_relink(shop, account)
    row = shop.row(account)
    expect(row).to_contain_text("authorization expired")

    flow = shop.flow()
    expect(flow.get_by_role("heading", name="Reconnect your StripeBank account")).to_be_visible()
    consent = flow.get_by_role("region", name="Data requested")
    expect(consent).to_contain_text("Account details")
    expect(consent).to_contain_text("Balances")
    shop.snapshot("consent", request)
    flow.get_by_role("button", name="Agree and continue").click()
    # a relink session skips the bank picker and opens on the authorization's institution
    expect(flow.get_by_role("heading", name="Sign in to StripeBank")).to_be_visible()
    shop.sign_in()
    expect(flow.get_by_role("heading", name="Select an account")).to_be_visible()
    expect(flow.get_by_label(re.compile(account.display_name))).to_be_checked()
    expect(flow.get_by_role("checkbox", name=re.compile("Credit Card"))).to_be_disabled()
    shop.snapshot("accounts", request)
    flow.get_by_role("button", name="Connect account").click()
    expect(flow.get_by_role("heading", name="Account reconnected")).to_be_visible()
    shop.snapshot("success", request)
    flow.get_by_role("button", name="Done").click()

    expect(shop.message()).to_have_text(re.compile("Your bank account is reconnected"))
    expect(row).to_contain_text("Active")
    expect(row.get_by_role("button")).to_have_count(0)
    expect(shop.page.locator("iframe")).to_have_count(0)
    assert shop.sdk.v1.financial_connections.accounts.retrieve(account.id).status == "active"
    session = shop.last_session()
    assert session.status == "succeeded"
    assert [a.id for a in session.accounts.data] == [account.id]
    assert session.relink_result.authorization == account.authorization
    auth = shop.sdk.v1.financial_connections.authorizations.retrieve(account.authorization)
    assert auth.status == "active"


def test_relink_that_picks_another_account_surfaces_the_mandate_and_saves_a_new_payment_method(
    shop: Shop,
) -> None:
    account = shop.link()
    shop.deactivate(account.id, "token_expired")
    _start_relink(shop, account)
    flow = shop.flow()
    flow.get_by_role("button", name="Agree and continue").click()
    shop.sign_in()
    flow.get_by_label(re.compile(account.display_name)).uncheck()
    flow.get_by_role("checkbox", name=re.compile("Savings")).check()
    flow.get_by_role("button", name="Connect account").click()
    expect(flow.get_by_role("heading", name="Account connected")).to_be_visible()
    flow.get_by_role("button", name="Done").click()

    session = shop.last_session()
    new = session.accounts.data[0]
    assert new.id != account.id
    assert new.authorization == account.authorization
    assert new.subcategory == "savings"
    mandate = shop.page.get_by_role("region", name="Authorize debits from your new account")
    expect(mandate).to_contain_text("By clicking Accept, you authorize Acme Supply Co.")
    expect(mandate).to_contain_text(f"ending in {new.last4}")
    mandate.get_by_role("button", name="Accept").click()

    expect(shop.message()).to_contain_text("Bank account saved")
    pm = _payment_method_of(shop, new.id)
    dots = "\u2022" * 4
    expect(shop.message()).to_contain_text(f"StripeBank {dots}{pm.us_bank_account.last4}")
    expect(shop.row(new)).to_contain_text("Active")
    # the old account, down with the login, came back with it (a relink of the
    # authorization relinks all of its accounts)
    expect(shop.row(account)).to_contain_text("Active")
    assert pm.customer == shop.customer
    events = shop.sdk.v1.events.list(params={"type": "setup_intent.succeeded"})
    intent = next(e.data.object for e in events.data if e.data.object.payment_method == pm.id)
    mandate_obj = shop.sdk.v1.mandates.retrieve(intent.mandate)
    assert mandate_obj.status == "active"
    assert mandate_obj.customer_acceptance.type == "online"


def test_relink_with_no_account_selected_leaves_the_account_inactive(shop: Shop) -> None:
    account = shop.link()
    shop.deactivate(account.id, "token_expired")
    _start_relink(shop, account)
    flow = shop.flow()
    flow.get_by_role("button", name="Agree and continue").click()
    shop.sign_in()
    flow.get_by_label(re.compile(account.display_name)).uncheck()
    flow.get_by_role("button", name="Connect account").click()
    expect(flow.get_by_role("heading", name="No accounts connected")).to_be_visible()
    flow.get_by_role("button", name="Done").click()

    expect(shop.message()).to_have_text(re.compile("No bank account was connected"))
    expect(
        shop.row(account).get_by_role("button", name="Re-link your bank account")
    ).to_be_visible()
    session = shop.last_session()
    assert session.status == "failed"
    assert session.relink_result.failure_reason == "no_authorization"
    assert shop.sdk.v1.financial_connections.accounts.retrieve(account.id).status == "inactive"


def test_error_username_fails_the_session_and_the_page_shows_the_error(shop: Shop) -> None:
    account = shop.link()
    shop.deactivate(account.id, "credentials_changed")
    _start_relink(shop, account)
    flow = shop.flow()
    flow.get_by_role("button", name="Agree and continue").click()
    shop.sign_in("error")
    expect(flow.get_by_role("heading", name="Something went wrong")).to_be_visible()
    expect(flow.get_by_text("StripeBank returned an error")).to_be_visible()
    flow.get_by_role("button", name="Return to site").click()

    expect(shop.message()).to_have_text(
        "Your bank account could not be linked: StripeBank returned an error while signing you in."
    )
    session = shop.last_session()
    assert session.status == "failed"
    assert session.relink_result.failure_reason == "other"
    assert shop.sdk.v1.financial_connections.accounts.retrieve(account.id).status == "inactive"


def test_escape_cancels_the_session_and_resolves_with_no_accounts(shop: Shop) -> None:
    account = shop.link()
    shop.deactivate(account.id, "access_revoked")
    _start_relink(shop, account)
    flow = shop.flow()
    flow.get_by_role("button", name="Agree and continue").click()
    flow.get_by_label("Username").fill("jenny")
    shop.page.keyboard.press("Escape")

    expect(shop.page.locator("iframe")).to_have_count(0)
    expect(shop.message()).to_have_text(re.compile("No bank account was connected"))
    session = shop.last_session()
    assert session.status == "cancelled"
    assert session.status_details.cancelled.reason == "other"
    assert session.accounts.data == []
    assert shop.sdk.v1.financial_connections.accounts.retrieve(account.id).status == "inactive"


def test_mfa_and_incorrect_usernames_prompt_in_the_flow_and_the_data_relink_succeeds(
    shop: Shop, request: pytest.FixtureRequest
) -> None:
    """Data use case, driven from the keyboard."""
    account = shop.link(use_case="data")
    shop.deactivate(account.id, "mfa_changed")
    _start_relink(shop, account, use_case="data")
    page, flow = shop.page, shop.flow()
    consent = flow.get_by_role("region", name="Data requested")
    expect(consent).to_contain_text("Transactions")
    expect(flow.get_by_role("button", name="Agree and continue")).to_be_focused()
    page.keyboard.press("Enter")

    expect(flow.get_by_label("Username")).to_be_focused()
    page.keyboard.type("incorrect")
    page.keyboard.press("Tab")
    page.keyboard.type("wrong")
    page.keyboard.press("Enter")
    expect(flow.get_by_role("alert")).to_contain_text("incorrect")
    shop.snapshot("retry", request)

    expect(flow.get_by_label("Username")).to_be_focused()
    page.keyboard.type("mfa")
    page.keyboard.press("Enter")
    expect(flow.get_by_role("heading", name="Verify it's you")).to_be_visible()
    expect(flow.get_by_label("Verification code")).to_be_focused()
    shop.snapshot("mfa", request)
    page.keyboard.type("123456")
    page.keyboard.press("Enter")

    expect(flow.get_by_role("heading", name="Select accounts")).to_be_visible()
    expect(flow.get_by_label(re.compile(account.display_name))).to_be_focused()
    expect(flow.get_by_label(re.compile(account.display_name))).to_be_checked()
    flow.get_by_role("button", name="Connect accounts").focus()
    page.keyboard.press("Enter")
    expect(flow.get_by_role("button", name="Done")).to_be_focused()
    page.keyboard.press("Enter")

    expect(shop.message()).to_have_text("Data access restored for 1 account.")
    expect(shop.row(account)).to_contain_text("Active")
    session = shop.last_session()
    assert session.status == "succeeded"
    assert session.permissions == ["balances", "transactions"]
    assert not hasattr(session, "limits") or session.limits is None
    assert shop.sdk.v1.financial_connections.accounts.retrieve(account.id).status == "active"


def test_chase_relink_issues_new_account_numbers_and_the_page_shows_the_new_last4(
    shop: Shop,
) -> None:
    account = shop.link("fcinst_Chase")
    before = _payment_method_of(shop, account.id).us_bank_account.last4
    shop.deactivate(account.id, "token_expired")
    _start_relink(shop, account)
    row = shop.row(account)
    expect(row).to_contain_text(f"Payments debit account \u2022\u2022\u2022\u2022{before}")
    flow = shop.flow()
    expect(flow.get_by_role("heading", name="Reconnect your Chase account")).to_be_visible()
    flow.get_by_role("button", name="Agree and continue").click()
    expect(flow.get_by_role("heading", name="Sign in to Chase")).to_be_visible()
    shop.sign_in()
    flow.get_by_role("button", name="Connect account").click()
    flow.get_by_role("button", name="Done").click()

    expect(shop.message()).to_have_text(re.compile("Your bank account is reconnected"))
    pm = _payment_method_of(shop, account.id)
    after = pm.us_bank_account.last4
    assert after != before
    expect(row).to_contain_text(f"Payments debit account \u2022\u2022\u2022\u2022{after}")
    expect(row).not_to_contain_text(before)
    acc = shop.sdk.v1.financial_connections.accounts.retrieve(account.id)
    assert acc.status == "active"
    assert acc.account_numbers[0].identifier_type == "tokenized_account_number"
    assert acc.account_numbers[0].status == "transactable"
