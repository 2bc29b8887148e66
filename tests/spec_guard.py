"""The recorded Stripe spec for conformance tests: the packaged one (or `$FAKE_STRIPE_OPENAPI`)."""

from __future__ import annotations

import pytest

from fake_stripe.spec.load import SPEC_ENV, Spec, load_spec, spec_path


def recorded_spec() -> Spec:
    """The spec; a failure (never a skip) when `$FAKE_STRIPE_OPENAPI` names no file."""
    spec = load_spec()
    if spec is None:
        pytest.fail(f"{SPEC_ENV} names no file ({spec_path()}); unset it", pytrace=False)
    return spec
