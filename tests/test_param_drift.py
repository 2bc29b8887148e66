"""The parameters each endpoint declares agree with Stripe's recorded spec.

For every implemented operation the recorded spec has, the endpoint's hand-written
`params.Spec` (from the routes table) is compared with the one `spec_params` derives from the
spec: the fake accepts no parameter the spec lacks, requires every parameter the spec requires,
declares the spec's enums, types and length limits, and accepts an empty string wherever the
spec does. Deliberate differences are listed below, each with its reason; a listed difference
that no longer occurs fails too, so the list cannot go stale.
"""

from __future__ import annotations

import pytest

from fake_stripe.app import routes_table
from fake_stripe.core.params import Spec as ParamSpec
from fake_stripe.financial_connections import sessions as fc_sessions
from fake_stripe.spec.params import Difference, differences, operation_params

from .spec_guard import recorded_spec

SPEC = recorded_spec()

_NEWER = (
    "newer than the recorded spec: this path comes from the 2023-09-12 GA spec, and the fake "
    "models the 2026 API, where Stripe has since added it"
)
_US_BANK_ONLY = (
    "deliberate subset: the fake creates only us_bank_account PaymentMethods (the Financial "
    "Connections surface); other types are rejected as an invalid enum value"
)

_OUTDATED_ENUM = (
    "the recorded enum (2023 GA spec, marked x-stripeBypassValidation) predates the newer "
    "Financial Connections events and the preview API versions; resources/webhook_endpoints.py "
    "checks the shape in its handler instead"
)

# (operation, param, kind) -> why the fake differs on purpose.
DELIBERATE: dict[tuple[str, str, str], str] = {
    **{
        (
            "POST /v1/setup_intents/{intent}/confirm",
            f"mandate_data[customer_acceptance][online][{name}]",
            "required",
        ): "the recorded spec's anyOf also has the client-key shape (Stripe.js confirming), where "
        "the browser's address and agent are optional; the converter reads the first branch"
        for name in ("ip_address", "user_agent")
    },
    (
        "POST /v1/financial_connections/sessions",
        "filters[country]",
        "unknown",
    ): "GUESS D10 (docs/guesses.md): the GA SDK sends the singular `country`; the fake reads it "
    "as `countries`",
    ("POST /v1/payment_methods", "allow_redisplay", "unknown"): _NEWER,
    ("POST /v1/payment_methods/{payment_method}", "allow_redisplay", "unknown"): _NEWER,
    **{
        ("POST /v1/payment_methods", f"card[{name}]", kind): "the spec's `card` is an anyOf "
        "(card details, or a token); the converter reads the first branch, the fake declares "
        "both in one hash and resources/cards.py checks which was given"
        for name, kind in (
            ("number", "required"),
            ("exp_month", "required"),
            ("exp_year", "required"),
            ("token", "unknown"),
        )
    },
    ("POST /v1/payment_methods/{payment_method}", "billing_details[tax_id]", "unknown"): _NEWER,
    ("POST /v1/payment_methods", "type", "enum"): _US_BANK_ONLY,
    ("POST /v1/webhook_endpoints", "api_version", "type"): _OUTDATED_ENUM,
    ("POST /v1/webhook_endpoints", "enabled_events[]", "type"): _OUTDATED_ENUM,
    ("POST /v1/webhook_endpoints/{webhook_endpoint}", "enabled_events[]", "type"): _OUTDATED_ENUM,
    (
        "POST /v1/payment_methods",
        "type",
        "required",
    ): "the spec leaves `type` out only to clone a PaymentMethod (`payment_method` with "
    "`customer`, for Connect), which the fake does not implement",
    ("POST /v1/setup_intents", "payment_method_data[type]", "enum"): _US_BANK_ONLY,
    ("POST /v1/setup_intents/{intent}/confirm", "payment_method_data[type]", "enum"): _US_BANK_ONLY,
    ("POST /v1/setup_intents/{intent}", "payment_method_data[type]", "enum"): _US_BANK_ONLY,
    ("POST /v1/payment_intents/{intent}", "payment_method_data[type]", "enum"): _US_BANK_ONLY,
    ("POST /v1/payment_intents", "payment_method_data[type]", "enum"): _US_BANK_ONLY,
    (
        "POST /v1/payment_intents/{intent}/confirm",
        "payment_method_data[type]",
        "enum",
    ): _US_BANK_ONLY,
    **{
        (
            "POST /v1/payment_intents/{intent}/confirm",
            f"mandate_data[customer_acceptance][online][{name}]",
            "required",
        ): "as for SetupIntents: the client-key shape (Stripe.js confirming) makes the browser's "
        "address and agent optional; the converter reads the first branch"
        for name in ("ip_address", "user_agent")
    },
    **{
        (operation, f"payment_method_options[us_bank_account]{suffix}", kind): _NEWER
        for operation in (
            "POST /v1/setup_intents",
            "POST /v1/setup_intents/{intent}",
            "POST /v1/setup_intents/{intent}/confirm",
        )
        for suffix, kind in (
            ("[financial_connections][filters]", "unknown"),
            ("[financial_connections][prefetch][]", "enum"),
            ("[mandate_options]", "unknown"),
        )
    },
    # Newer than the 2023 spec these operations come from: GA SetupIntents since stripe-node
    # 22.4.0 (`2026-07-29.dahlia`), `billing_details[tax_id]` in stripe-python 16.1.0's params.
    **{
        (operation, param, "unknown"): _NEWER
        for operation in (
            "POST /v1/setup_intents",
            "POST /v1/setup_intents/{intent}",
            "POST /v1/setup_intents/{intent}/confirm",
        )
        for param in (
            "allowed_payment_method_types",
            "payment_method_data[billing_details][tax_id]",
        )
    },
    ("POST /v1/payment_methods", "billing_details[tax_id]", "unknown"): _NEWER,
    **{
        (operation, "payment_method_data[billing_details][tax_id]", "unknown"): _NEWER
        for operation in (
            "POST /v1/payment_intents",
            "POST /v1/payment_intents/{intent}",
            "POST /v1/payment_intents/{intent}/confirm",
        )
    },
}

# A difference in whether "" unsets a parameter matters one way only: where the spec accepts
# "" and the fake does not, a valid request is refused. The other way round is the fake's
# leniency: it reads "" as "unset" wherever Stripe's SDKs send it to clear a field.
_KINDS = frozenset({"unknown", "required", "enum", "type", "max_length", "emptyable"})


def _declared(method: str, path: str, params: ParamSpec) -> ParamSpec:
    if params.open:
        # The route hands the raw form to the handler, which checks it against GA or PREVIEW
        # by version. The recorded spec is the private-preview one.
        assert (method, path) == ("POST", "/v1/financial_connections/sessions")
        return fc_sessions.PREVIEW
    return params


def _operations() -> list[tuple[str, str, ParamSpec]]:
    recorded = set(SPEC.operations())
    return [
        (ep.method, ep.path, _declared(ep.method, ep.path, ep.params))
        for ep in routes_table()
        if (ep.method, ep.path) in recorded
    ]


OPERATIONS = _operations()


def _relevant(found: list[Difference]) -> list[Difference]:
    return [
        d for d in found if d.kind in _KINDS and not (d.kind == "emptyable" and d.fake is not False)
    ]


def _drift(method: str, path: str, params: ParamSpec) -> list[Difference]:
    theirs = operation_params(SPEC, method, path)
    assert theirs is not None, f"{method} {path}: the spec has no request schema"
    return _relevant(differences(params, theirs))


@pytest.mark.parametrize(
    ("method", "path", "params"), OPERATIONS, ids=[f"{m} {p}" for m, p, _ in OPERATIONS]
)
def test_declared_params_match_the_recorded_spec(method: str, path: str, params: ParamSpec) -> None:
    operation = f"{method} {path}"
    found = _drift(method, path, params)
    unexpected = [str(d) for d in found if (operation, d.param, d.kind) not in DELIBERATE]
    assert not unexpected, f"{operation} drifts from the recorded spec:\n" + "\n".join(unexpected)


def test_every_deliberate_difference_still_occurs() -> None:
    occurring = {
        (f"{method} {path}", d.param, d.kind)
        for method, path, params in OPERATIONS
        for d in _drift(method, path, params)
    }
    stale = sorted(set(DELIBERATE) - occurring)
    assert not stale, "listed as deliberate but no longer different (remove them):\n" + "\n".join(
        map(str, stale)
    )


def test_the_comparison_covers_every_implemented_recorded_operation() -> None:
    implemented = {(ep.method, ep.path) for ep in routes_table()}
    compared = {(method, path) for method, path, _ in OPERATIONS}
    assert compared == implemented & set(SPEC.operations())
    assert ("POST", "/v1/financial_connections/sessions") in compared
