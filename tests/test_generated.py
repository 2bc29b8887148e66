"""The made-up data of linked accounts (`financial_connections/generated.py`): the same seed and
the same requests give the same names, numbers, owners and transactions; another seed others."""

from __future__ import annotations

import re
from typing import Any

from fake_stripe import create_app
from fake_stripe.core.versions import PREVIEW_VERSION
from fake_stripe.financial_connections.generated import Generator
from fake_stripe.inprocess import client as inprocess_client

PV = {"Stripe-Version": PREVIEW_VERSION, "Authorization": "Bearer sk_test_gen"}
TH = "/v1/test_helpers/financial_connections"


def linked_world(seed: int) -> dict[str, Any]:
    app = create_app(seed=seed)
    try:
        with inprocess_client(app, headers=PV) as api:
            customer = api.post("/v1/customers").json()["id"]
            session = api.post(
                "/v1/financial_connections/sessions",
                data={"account_holder[type]": "customer", "account_holder[customer]": customer}
                | {"permissions[0]": "ownership", "permissions[1]": "transactions"},
            ).json()
            done = api.post(f"{TH}/sessions/{session['id']}/complete", data={"outcome": "link"})
            (account,) = done.json()["accounts"]["data"]
            fca = f"/v1/financial_connections/accounts/{account['id']}"
            ownership = api.post(
                f"{fca}/refresh", data={"features[0]": "ownership", "features[1]": "transactions"}
            ).json()
            owners = api.get(f"{fca}/owners", params={"ownership": ownership["ownership"]})
            txns = api.get(
                "/v1/financial_connections/transactions", params={"account": account["id"]}
            )
            return {
                "account": (account["display_name"], account["last4"]),
                "owners": owners.json()["data"],
                "transactions": [(t["description"], t["amount"]) for t in txns.json()["data"]],
            }
    finally:
        app.fake.close()


def test_the_same_seed_makes_the_same_data_and_another_seed_other_data() -> None:
    first, again, other = linked_world(11), linked_world(11), linked_world(12)
    assert first == again
    assert first != other
    assert first["owners"] and first["transactions"]


def test_generated_values_look_like_a_banks_and_are_plainly_invented() -> None:
    gen = Generator(5)
    for _ in range(50):
        assert re.fullmatch(r"[a-z]+\.[a-z]+\d+@example\.com", gen.email())
        assert re.fullmatch(r"\+1[2-9]\d\d55501\d\d", gen.phone())
        assert re.fullmatch(r"\d+ [A-Za-z ]+, [A-Za-z ]+, [A-Z]{2} \d{5}", gen.address())
        assert re.fullmatch(r"\d{4}", gen.numerify("####"))
        assert 3 <= gen.random_int(3, 8) <= 8
