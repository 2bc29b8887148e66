"""The pytest plugin's fixtures, used as a project would use them."""

from __future__ import annotations

from typing import Any

import httpx


def test_plugin_client_reaches_the_fake_in_process(fake_stripe_client: Any) -> None:
    cus = fake_stripe_client.v1.customers.create(params={"email": "plugin@example.com"})
    assert fake_stripe_client.v1.customers.retrieve(cus.id).email == "plugin@example.com"


def test_plugin_gives_each_test_its_own_tenant(fake_stripe_http: httpx.Client) -> None:
    assert fake_stripe_http.get("/v1/customers").json()["data"] == []
    assert fake_stripe_http.post("/v1/customers").status_code == 200
