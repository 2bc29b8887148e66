"""Schemathesis fuzzes the fake with Stripe's recorded spec, over every implemented operation.

Each implemented operation of the recorded spec is one test: schemathesis generates valid and
invalid requests for it (its examples, coverage and fuzzing phases) and runs its checks on each
answer. How the requests get to Stripe's shape, and where a check expects something Stripe does
not do, is decided here, narrowly, with the reason next to it:

- **Encoding** (tests/fuzz_wire.py). Requests are sent the way Stripe's SDKs send them: form
  bodies and query strings in bracket style (`a[b][c]=v`, arrays as `a[0]=x`, arrays of objects
  as `a[0][k]=v`), empty arrays and objects and nulls left out, booleans as `true`/`false`.
  They go straight into the ASGI app, authenticated with one tenant's secret key and a
  `.preview` `Stripe-Version` (the recorded spec is the private-preview one).
- **Existing objects** (tests/fuzz_wire.py). Before the run, a tenant world is built through
  the API (a customer, a linked Financial Connections authorization with accounts, ownership
  and transactions, a PaymentMethod, a SetupIntent, PaymentIntents, charges processing,
  succeeded and failed with their mandates, events, a webhook endpoint). Wherever a path or a
  parameter names an object, most generated requests get the id of a real one (only where
  that part of the request was generated valid: an invalid id stays invalid), so GET and POST
  on `{id}` paths reach objects instead of only answering 404. One-shot operations (detach,
  confirm, cancel, PaymentIntent updates, disconnect, delete) get a fresh object each time, so
  an earlier case cannot leave it in a state that refuses the next. For half of those cases
  the body also gets the values Stripe's cross-field rules need (a holder name, mandate
  acceptance, ...), so valid requests reach success, not only Stripe's refusals.
- **The document** (tests/fuzz_spec.py). The recorded spec, narrowed to the parameters the fake
  implements (the drift test keeps those a subset of the spec), with Stripe's single-parameter
  rules that the spec leaves out added where a schema can say them: unknown keys are refused at
  every depth, integers are 64-bit, metadata has its limits, and `REFINEMENTS` (`limit` is 1 to
  100, ...). Valid requests then stay within Stripe's rules and invalid ones probe their edges.
- **Checks** (tests/fuzz_checks.py). Every check schemathesis enables by default runs. Three are
  wrapped, not turned off: `positive_data_acceptance` tolerates only the Stripe rules in
  `STRIPE_RULES` (cross-field, referential and state rules a schema cannot say, each known by
  its error code, parameter and message, with its reason); `unsupported_method` accepts
  Stripe's answer to a method a URL lacks (404 "Unrecognized request URL", never 405);
  `negative_data_rejection` accepts an invalid request only if, as sent in Stripe's encoding,
  it was valid after all (`_valid_on_the_wire`).

Run it alone with `pytest tests/test_schemathesis.py -s` to see the case count and time.
"""

from __future__ import annotations

from typing import Any

from fake_stripe.app import routes_table

from .fuzz_checks import STRIPE_RULES, read_as_typed
from .fuzz_run import start
from .fuzz_spec import REFINEMENTS, fuzzed_document
from .fuzz_wire import World, build_world, prepare, stripe_encode
from .spec_guard import recorded_spec

SPEC = recorded_spec()

IMPLEMENTED: list[tuple[str, str]] = sorted(
    {(ep.method, ep.path) for ep in routes_table()} & set(SPEC.operations()),
    key=lambda op: (op[1], op[0]),
)
# The recorded spec is the private-preview one: its version, without the beta flags.
VERSION = str(SPEC.raw["info"]["version"]).split(";")[0]
AUTH = {"Authorization": "Bearer sk_test_schemathesis", "Stripe-Version": VERSION}

# Cases per operation in the fuzzing phase (the examples and coverage phases add their own).
MAX_EXAMPLES = 150
# The conformance bar for the whole run.
MIN_CASES = 5_000

DOCUMENT, UNIMPLEMENTED_PARAMS = fuzzed_document(SPEC, IMPLEMENTED)
schema, RUN, CLIENT = start(DOCUMENT, MAX_EXAMPLES, 4242, AUTH)
WORLD: list[World] = []


@schema.parametrize()
def test_fake_answers_as_the_recorded_spec_says(case: Any) -> None:
    if not WORLD:
        WORLD.append(build_world(CLIENT))
    prepare(case, WORLD[0])
    RUN.check(case)


def test_the_run_reached_every_operation_and_the_case_budget() -> None:
    """Runs after the parametrized test (pytest keeps definition order): the totals."""
    RUN.report((f"{method} {path}" for method, path in IMPLEMENTED), "schemathesis", MIN_CASES)


def test_stripe_encoding_uses_brackets_and_indexes() -> None:
    body = {
        "permissions": ["balances", "ownership"],
        "filters": {"account_subcategories": ["checking"]},
        "accounts": [{"last4": "0001"}, {"last4": "0002", "x": None}],
        "empty": [],
        "flag": False,
        "limit": 3,
    }
    assert stripe_encode(body).replace("%5B", "[").replace("%5D", "]") == (
        "permissions[0]=balances&permissions[1]=ownership"
        "&filters[account_subcategories][0]=checking"
        "&accounts[0][last4]=0001&accounts[1][last4]=0002&flag=false&limit=3"
    )


def test_wire_text_is_read_as_the_schema_types_it() -> None:
    # What judges a negative case accepted: the request as sent, every scalar text.
    schema = {
        "type": "object",
        "properties": {
            "fee": {"type": "number"},
            "count": {"type": "integer"},
            "on": {"type": "boolean"},
            "name": {"type": "string"},
        },
    }
    sent = "fee=0.0&count=-3&on=true&name=1.5"
    assert read_as_typed(sent, schema) == {"fee": 0.0, "count": -3, "on": True, "name": "1.5"}
    assert read_as_typed("fee=1e3", schema) == {"fee": 1000.0}
    assert read_as_typed("fee=abc", schema) == {"fee": "abc"}  # left as text: invalid


def test_every_tolerance_and_refinement_gives_its_reason() -> None:
    for rule in STRIPE_RULES:
        assert len(rule.reason) > 40, rule
    for *_, reason in REFINEMENTS:
        assert len(reason) > 20, reason


def test_what_the_fuzzed_document_leaves_out_is_what_the_fake_lacks() -> None:
    # Stripe parameters the fake does not implement (cut from the fuzzed document so requests
    # reach the code under test); the drift test holds the fake to a subset of the spec.
    cut = {label: names for label, names in UNIMPLEMENTED_PARAMS.items() if names}
    assert set(cut) <= {
        "GET /v1/charges",
        "GET /v1/customers",
        "POST /v1/customers",
        "POST /v1/customers/{customer}",
        "POST /v1/payment_methods",
        "POST /v1/payment_intents",
        "POST /v1/payment_intents/{intent}",
        "POST /v1/payment_intents/{intent}/confirm",
        "POST /v1/setup_intents",
        "POST /v1/setup_intents/{intent}",
        "POST /v1/setup_intents/{intent}/confirm",
    }, cut
    assert (
        "relink_options"
        in DOCUMENT["paths"]["/v1/financial_connections/sessions"]["post"]["requestBody"][
            "content"
        ]["application/x-www-form-urlencoded"]["schema"]["properties"]
    )
