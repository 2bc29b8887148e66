"""Accounts that cannot be relinked are connected from scratch: bank picker, sign-in, accounts."""

from __future__ import annotations

import re

import pytest
from conftest import Shop
from playwright.sync_api import expect


def test_closed_account_is_replaced_through_a_fresh_flow_with_the_bank_picker(
    shop: Shop, request: pytest.FixtureRequest
) -> None:
    account = shop.link()
    shop.deactivate(account.id, "account_closed")
    shop.open()
    row = shop.row(account)
    expect(row).to_contain_text("closed at your bank")
    expect(row.get_by_role("button", name="Re-link your bank account")).to_have_count(0)
    row.get_by_role("button", name="Connect a bank account").click()

    flow = shop.flow()
    expect(flow.get_by_role("heading", name="Connect your bank account")).to_be_visible()
    flow.get_by_role("button", name="Agree and continue").click()
    expect(flow.get_by_role("heading", name="Select your bank")).to_be_visible()
    banks = flow.get_by_role("list", name="Banks").get_by_role("button")
    expect(banks).to_have_count(5)
    shop.snapshot("bank-picker", request)
    flow.get_by_label("Search for your bank").fill("pnc")
    expect(banks).to_have_count(1)
    flow.get_by_role("button", name=re.compile("PNC Bank")).click()
    expect(flow.get_by_role("heading", name="Sign in to PNC Bank")).to_be_visible()
    shop.sign_in()
    expect(flow.get_by_role("checkbox", name=re.compile("Checking"))).not_to_be_checked()
    flow.get_by_role("checkbox", name=re.compile("Checking")).check()
    flow.get_by_role("button", name="Connect account").click()
    expect(flow.get_by_role("heading", name="Account connected")).to_be_visible()
    flow.get_by_role("button", name="Done").click()
    shop.page.get_by_role("region", name="Authorize debits from your new account").get_by_role(
        "button", name="Accept"
    ).click()

    expect(shop.message()).to_contain_text(
        "Bank account saved. Payments will be debited from PNC Bank"
    )
    session = shop.last_session()
    assert session.status == "succeeded"
    assert getattr(session, "relink_options", None) is None
    new = session.accounts.data[0]
    assert new.institution_name == "PNC Bank"
    assert new.authorization != account.authorization
    expect(shop.row(new)).to_contain_text("Active")
    old = shop.sdk.v1.financial_connections.accounts.retrieve(account.id)
    assert old.status_details.inactive.cause == "account_closed"
    pms = shop.sdk.v1.payment_methods.list(params={"customer": shop.customer})
    assert new.id in [pm.us_bank_account.financial_connections_account for pm in pms.data]


def test_authorization_with_action_none_is_connected_from_scratch_for_data(shop: Shop) -> None:
    account = shop.link(use_case="data")
    shop.deactivate(account.id, "permanent")
    auth = shop.sdk.v1.financial_connections.authorizations.retrieve(account.authorization)
    assert auth.status_details.inactive.action == "none"
    shop.open("data")
    row = shop.row(account)
    expect(row).to_contain_text("Access to this account was lost")
    row.get_by_role("button", name="Connect a bank account").click()

    flow = shop.flow()
    flow.get_by_role("button", name="Agree and continue").click()
    flow.get_by_role("button", name=re.compile("StripeBank")).click()
    shop.sign_in()
    expect(flow.get_by_role("heading", name="Select accounts")).to_be_visible()
    flow.get_by_role("checkbox", name=re.compile("Savings")).check()
    flow.get_by_role("button", name="Connect accounts").click()
    flow.get_by_role("button", name="Done").click()

    expect(shop.message()).to_have_text("Connected 1 account.")
    session = shop.last_session()
    assert session.status == "succeeded"
    new = session.accounts.data[0]
    assert new.authorization != account.authorization
    assert new.subcategory == "savings"
    expect(shop.row(new)).to_contain_text("Active")


def test_down_bank_fails_the_session_and_the_page_shows_the_error(
    shop: Shop, request: pytest.FixtureRequest
) -> None:
    page = shop.open()
    expect(page.get_by_text("No bank account is linked yet.")).to_be_visible()
    page.get_by_role("button", name="Connect a bank account").click()
    flow = shop.flow()
    flow.get_by_role("button", name="Agree and continue").click()
    flow.get_by_label("Search for your bank").fill("down")
    flow.get_by_role("button", name=re.compile("Down Bank")).click()
    shop.sign_in()
    expect(flow.get_by_role("heading", name="Something went wrong")).to_be_visible()
    expect(flow.get_by_text("could not be reached")).to_be_visible()
    shop.snapshot("error", request)
    flow.get_by_role("button", name="Return to site").click()

    expect(shop.message()).to_contain_text("Down Bank (Error) could not be reached")
    session = shop.last_session()
    assert session.status == "failed"
    assert session.accounts.data == []
