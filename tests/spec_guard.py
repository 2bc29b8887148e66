"""The recorded Stripe spec for conformance tests: skip without it, unless CI requires it."""

from __future__ import annotations

import os

import pytest

from fake_stripe.spec.load import SPEC_ENV, Spec, load_spec, spec_path

REQUIRE_ENV = "FAKE_STRIPE_REQUIRE_SPEC"


def recorded_spec() -> Spec:
    """The spec, or a module-level skip naming the variable (a failure under REQUIRE_ENV=1)."""
    spec = load_spec()
    if spec is not None:
        return spec
    message = (
        f"Stripe's recorded OpenAPI spec not found at {spec_path()}; set {SPEC_ENV} to the path "
        "of financial_connections.subset.json"
    )
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"{message} ({REQUIRE_ENV}=1: conformance tests may not skip)", pytrace=False)
    pytest.skip(message, allow_module_level=True)
