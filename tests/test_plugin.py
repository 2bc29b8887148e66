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


def test_plugin_serves_code_written_against_the_global_stripe_configuration(
    fake_stripe_globals: Any,
) -> None:
    import stripe

    customer = stripe.Customer.create(email="global@example.com")
    assert stripe.Customer.retrieve(customer.id).email == "global@example.com"
    assert stripe.api_key.startswith("sk_test_")


def test_installing_fake_stripe_brings_no_pytest_plugin_that_acts_on_its_own() -> None:
    """A plain install (no extras) registers fake-stripe's own plugin, whose fixtures a test
    must ask for, and anyio's, which comes with Starlette and httpx and acts only on tests
    marked `anyio`; nothing else (Faker's used to add a `faker` fixture and reseed per test in
    every suite of a project that installed fake-stripe)."""
    from importlib.metadata import PackageNotFoundError, distribution

    from packaging.requirements import Requirement

    seen: set[tuple[str, frozenset[str]]] = set()
    plugins: set[str] = set()

    def walk(name: str, extras: frozenset[str]) -> None:
        try:
            dist = distribution(name)
        except PackageNotFoundError:
            return  # an optional dependency not installed here: it registers nothing
        plugins.update(ep.value for ep in dist.entry_points.select(group="pytest11"))
        for text in dist.requires or []:
            req = Requirement(text)
            wanted = extras or frozenset({""})
            if req.marker is None or any(req.marker.evaluate({"extra": e}) for e in wanted):
                node = (req.name.lower(), frozenset(req.extras))
                if node not in seen:
                    seen.add(node)
                    walk(req.name, frozenset(req.extras))

    walk("fake-stripe", frozenset())
    assert plugins == {"fake_stripe.pytest_plugin", "anyio.pytest_plugin"}
