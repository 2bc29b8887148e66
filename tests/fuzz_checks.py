"""Where a schemathesis check expects what Stripe does not do: the three wrapped checks and the
Stripe rules they tolerate, each with its reason. Used by tests/test_schemathesis.py."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import jsonschema
from schemathesis.core.failures import AcceptedNegativeData
from schemathesis.openapi.checks import RejectedPositiveData, UnsupportedMethodResponse
from schemathesis.specs.openapi.checks import (
    negative_data_rejection,
    positive_data_acceptance,
    unsupported_method,
)

from fake_stripe.app import routes_table
from fake_stripe.spec.rest import load_whole

from .fuzz_spec import FORM


@dataclass(frozen=True)
class Rule:
    """A Stripe rule the spec does not express, known by the error Stripe answers with.

    A schema-valid request answered 400 passes `positive_data_acceptance` only if its error
    matches a rule for its operation: the same `code`, a `param` and a `message` matching the
    regexes (None: anything).
    """

    operation: str  # "METHOD /path", or "*" for every operation
    code: str | None
    param: str | None
    message: str | None
    reason: str
    # A further condition on the case and the error's `param`.
    when: Callable[[Any, str], bool] | None = None

    def matches(self, label: str, error: Mapping[str, Any]) -> bool:
        param, message = str(error.get("param")), str(error.get("message"))
        return (
            self.operation in ("*", label)
            and self.code == error.get("code")
            and (self.param is None or re.fullmatch(self.param, param, re.S) is not None)
            and (self.message is None or re.match(self.message, message, re.S) is not None)
        )


STRIPE_RULES: tuple[Rule, ...] = (
    Rule(
        "*",
        None,
        r"(.+\[)?metadata(\]|\[.*)?",
        r".*(must be a string under (40|500) characters|You can specify up to 50 keys in metadata)",
        "Stripe's documented metadata limits (50 keys, keys up to 40 characters, values up to "
        "500): the spec types metadata as a free map of strings and carries none of them.",
    ),
    Rule(
        "*",
        "payment_intent_invalid_parameter",
        r"currency|payment_method_types\[\d+\]",
        None,
        "ACH Direct Debit takes `usd` only, and the fake has only the `us_bank_account` type; "
        "the spec's `currency` and `payment_method_types[]` are free strings.",
    ),
    Rule(
        "*",
        None,
        r"currency",
        r"Invalid currency: .*",
        "Stripe takes only the currency codes it supports (three-letter ISO codes); the spec's "
        "`currency` is a free string.",
    ),
    Rule(
        "*",
        r"amount_too_small",
        r"amount",
        r"Amount must be at least \$0\.50 usd",
        "Stripe's minimum charge in usd is $0.50; the spec's `amount` is any integer.",
    ),
    Rule(
        "*",
        r"amount_too_large",
        r"amount",
        None,
        "Stripe's maximum charge in usd ($999,999.99); the spec's `amount` is any integer.",
    ),
    Rule(
        "POST /v1/payment_intents",
        None,
        r"mandate_data|mandate|off_session",
        r".* can only be passed when confirming the PaymentIntent",
        "The spec's own descriptions: `mandate_data`, `mandate` and `off_session` \"can only be "
        'used with confirm=true".',
    ),
    Rule(
        "*",
        None,
        r"mandate_data",
        r"This PaymentIntent requires a mandate, but no existing mandate was found",
        "An ACH debit needs a mandate: accepted now (`mandate_data`), named (`mandate`) or the "
        "PaymentMethod's own; a state rule the spec cannot say (Stripe's documented message).",
    ),
    Rule(
        "*",
        "payment_intent_unexpected_state",
        None,
        r"You cannot (confirm|update|cancel) this PaymentIntent because it",
        "A PaymentIntent is confirmed with a payment method, and only from the states that "
        "allow it: state rules the spec cannot say.",
    ),
    Rule(
        "*",
        None,
        r"payment_method",
        r"The provided PaymentMethod (belongs to a Customer|is attached to another customer)",
        "A PaymentMethod attached to a customer is used only by that customer's PaymentIntents; "
        "the spec cannot tie `payment_method` to `customer`.",
    ),
    Rule(
        "*",
        None,
        r"client_secret",
        r"The client_secret provided does not match",
        "A client secret must be the intent's own; the spec cannot tie a parameter to the "
        "object in the path.",
    ),
    Rule(
        "*",
        "payment_intent_mandate_invalid",
        r"mandate",
        None,
        "A named mandate must be active and belong to the payment method: a referential rule.",
    ),
    Rule(
        "*",
        "parameter_missing",
        r"mandate_data\[customer_acceptance\]\[online\]",
        None,
        "An online acceptance needs its `online` hash (the acceptance's IP address and user "
        "agent); the spec makes every sub-hash of `customer_acceptance` optional.",
    ),
    Rule(
        "*",
        None,
        r"url",
        r"Invalid URL: ",
        "A webhook endpoint's `url` must be an absolute http(s) URL with a port from 1 to 65535 "
        "and no spaces or control characters; the spec says only `string`.",
    ),
    Rule(
        "POST /v1/webhook_endpoints",
        None,
        None,
        r"You have reached the maximum of 16 test webhook endpoints\.$",
        "Stripe's limit of 16 webhook endpoints per account: a state rule (the fuzzing tenant "
        "creates many), which a schema cannot say.",
    ),
    Rule(
        "*",
        "parameter_invalid_empty",
        None,
        None,
        "Stripe reads an empty string as 'unset this'; a parameter that cannot be unset refuses "
        'it. The spec\'s `type: string` admits "" (where Stripe accepts it, the spec says so '
        'with an `enum: [""]` branch, and tests/test_param_drift.py holds the fake to that).',
    ),
    Rule(
        "*",
        None,
        None,
        r"This property cannot be expanded \(",
        "Only fields Stripe marks expandable (`x-expandableFields`) can be expanded; `expand` "
        "is an array of free strings in the spec.",
    ),
    Rule(
        "*",
        "resource_missing",
        r".+",
        r"No such ",
        "A parameter that names an object must name one that exists (400 `resource_missing` "
        "at that parameter); the spec cannot say which ids exist. Ids in the path answer 404, "
        "which the check accepts anyway.",
    ),
    Rule(
        "*",
        None,
        r"query|page",
        r"Invalid (search query|page): ",
        "A search `query` is written in Stripe's search query language and `page` is the "
        "`next_page` of an earlier answer; the spec types both as free strings.",
    ),
    Rule(
        "*",
        None,
        None,
        r"Received both starting_after and ending_before parameters",
        "Stripe pages one way at a time: `starting_after` and `ending_before` exclude each other.",
    ),
    Rule(
        "POST /v1/financial_connections/sessions",
        None,
        r"relink_options\[authorization\]",
        r".*belongs to another account holder",
        "A relink session repairs the holder's own authorization: one of another holder than "
        "`account_holder` is refused (GUESS in docs/guesses.md); the spec cannot tie the two.",
    ),
    Rule(
        "POST /v1/financial_connections/sessions",
        "parameter_missing",
        r"account_holder",
        None,
        "The preview spec makes `account_holder` optional because a relink session takes its "
        "holder from the authorization (GUESS D4); any other session needs one.",
    ),
    Rule(
        "*",
        "parameter_missing",
        r"(payment_method_data\[billing_details\]|billing_details)\[name\]",
        None,
        "A us_bank_account PaymentMethod needs the account holder's name (a GUESS, in "
        "docs/guesses.md); the spec cannot tie a field to the type.",
    ),
    Rule(
        "POST /v1/setup_intents",
        None,
        r"mandate_data",
        r"mandate_data can only be passed when confirming",
        'The spec\'s own description: `mandate_data` "can only be used with confirm=true".',
    ),
    Rule(
        "*",
        "parameter_missing",
        r"mandate_data",
        r"Missing required param: mandate_data",
        "Confirming a us_bank_account SetupIntent needs the customer's mandate acceptance; "
        "the spec cannot tie a field to the payment method's type.",
    ),
    Rule(
        "*",
        "parameter_missing",
        None,
        r"Missing required param",
        "Form encoding cannot send an empty array or object: the SDKs (and this test) leave it "
        "out, so a required parameter generated as [] or {} arrives missing. Matched only when "
        "the generated value is empty.",
        when=lambda case, param: _generated(case, param) in ([], {}),
    ),
    Rule(
        "*",
        None,
        r".+",
        r"(Invalid value for .+: it is given both as a plain value and as a "
        r"hash|Invalid object$|Invalid parameter name: )",
        "A key the bracket encoding cannot carry: `metadata[]=x` is Rack's array push, not a "
        'key "", and a `]` inside a key ends it early. Matched only when the generated '
        "request has such a key.",
        when=lambda case, param: _has_unencodable_key(
            case.body if case.method == "POST" else case.query
        ),
    ),
    Rule(
        "*",
        "parameter_missing",
        r"(payment_method_data\[us_bank_account\]|us_bank_account)"
        r"(\[(account_number|routing_number)\])?",
        None,
        "A PaymentMethod of type `us_bank_account` needs the `us_bank_account` hash (Stripe's "
        "rule for every type), and in it either a Financial Connections account or both "
        "`account_number` and `routing_number`; the spec cannot tie fields together.",
    ),
    Rule(
        "POST /v1/financial_connections/sessions",
        None,
        r"hosted\[delivery_method\]",
        r"hosted\[delivery_method\] can only be used if relink_options is provided",
        "The spec's own description of `hosted[delivery_method]`: \"can only be used if "
        '`relink_options` is provided".',
    ),
    Rule(
        "POST /v1/financial_connections/sessions",
        "parameter_missing",
        r"account_holder\[(customer|account)\]",
        None,
        "The holder named by `account_holder[type]` must be given (`customer` for `customer`, "
        "`account` for `account`); the spec cannot tie one field to another's value.",
    ),
    Rule(
        "*",
        "setup_intent_unexpected_state",
        None,
        r"You cannot confirm this SetupIntent because it's missing a payment method",
        "Confirming needs a payment method: a state rule (`confirm=true` without "
        "`payment_method` or `payment_method_data`).",
    ),
    *(
        Rule(
            "*",
            f"{kind}_unexpected_state",
            None,
            r"This \w+Intent's payment method cannot be verified with microdeposits",
            "Microdeposits are verified only while the intent waits for them "
            "(`requires_action`): a state rule the spec cannot say.",
        )
        for kind in ("payment_intent", "setup_intent")
    ),
    *(
        Rule(
            "*",
            code,
            r"amounts|descriptor_code",
            None,
            "The values must be the microdeposits Stripe sent (and two positive amounts): "
            "Stripe's documented verification errors, which the spec cannot say.",
        )
        for code in (
            "payment_method_microdeposit_verification_amounts_invalid",
            "payment_method_microdeposit_verification_amounts_mismatch",
            "payment_method_microdeposit_verification_descriptor_code_mismatch",
            "payment_method_microdeposit_verification_attempts_exceeded",
            "payment_method_microdeposit_verification_timeout",
            "parameter_missing",
            "parameters_exclusive",
        )
    ),
    Rule(
        "*",
        "setup_intent_unexpected_state",
        None,
        r"You cannot cancel this SetupIntent because it has a status of",
        "A SetupIntent is canceled only from the states Stripe lists: a state rule the spec "
        "cannot say.",
    ),
    Rule(
        "POST /v1/payment_methods/{payment_method}",
        "payment_method_unexpected_state",
        None,
        r"You must save this PaymentMethod to a customer before you can update it",
        "Stripe's reference: a PaymentMethod must be attached to a customer to be updated.",
    ),
    Rule(
        "POST /v1/payment_methods/{payment_method}",
        "payment_method_invalid_parameter",
        r"card|us_bank_account",
        None,
        "Only the hash of the PaymentMethod's own type may be updated; the spec cannot tie a "
        "hash to the object's type.",
    ),
    *(
        Rule(
            "*",
            code,
            r"card\[(number|exp_month|exp_year)\]",
            None,
            "In test mode only Stripe's test card numbers, with an expiry in the future, make a "
            "card: Stripe's card errors (402), which the spec cannot say.",
        )
        for code in (
            "incorrect_number",
            "card_declined",
            "invalid_expiry_month",
            "invalid_expiry_year",
        )
    ),
    *(
        Rule(
            "POST /v1/payment_methods",
            code,
            r"card(\[\w+\])?",
            None,
            "A card PaymentMethod needs its `card` hash: a test token, or a number with its "
            "expiry, not both (the spec's anyOf, which the fuzzer's generated hashes mix).",
        )
        for code in ("parameter_missing", "parameters_exclusive", "resource_missing")
    ),
    Rule(
        "*",
        "payment_method_unsupported_type",
        r"payment_method",
        None,
        "Charging a card is outside the fake (cards are stored, never confirmed).",
    ),
    Rule(
        "POST /v1/payment_methods",
        "parameter_missing",
        r"type",
        None,
        "The spec leaves `type` out only to clone a PaymentMethod, which the fake does not "
        "implement (tests/test_param_drift.py lists it).",
    ),
    Rule(
        "POST /v1/financial_connections/sessions",
        None,
        r"account_holder\[(customer|account)\]",
        r".* is only available when type is ",
        "The spec's own descriptions: `account_holder[customer]` is \"only available when "
        '`type` is `customer`", `account_holder[account]` when it is `account`.',
    ),
    *(
        Rule(
            operation,
            None,
            r"invoice_settings\[default_payment_method\]",
            r"The customer does not have a payment method with the ID ",
            "A customer's default PaymentMethod must be one the customer holds (a new customer "
            "holds none): a state rule the spec cannot say.",
        )
        for operation in ("POST /v1/customers", "POST /v1/customers/{customer}")
    ),
    Rule(
        "*",
        None,
        r"payment_method",
        r"This PaymentMethod was previously used without being attached to a Customer",
        "A detached PaymentMethod, or one paid with while no customer held it, is not used "
        "again: a state rule the spec cannot say.",
    ),
    Rule(
        "*",
        None,
        r"payment_method",
        r"The (provided PaymentMethod (belongs to a Customer|is attached to another customer)"
        r"|PaymentMethod provided \(\w+\) is not allowed for this SetupIntent)",
        "A PaymentMethod a customer holds serves only that customer's intents, and a "
        "SetupIntent given `payment_method_types` sets up only those: rules tying objects "
        "together, which the spec cannot say.",
    ),
    Rule(
        "*",
        None,
        r"(payment_method_data\[us_bank_account\]|us_bank_account)"
        r"\[(routing_number|account_number)\]",
        r"(Routing|Account) number must have ",
        "A US routing number has 9 digits and an account number 4 to 17; the spec types both "
        "as free strings.",
    ),
    Rule(
        "*",
        "parameters_exclusive",
        None,
        None,
        "Parameters Stripe documents as mutually exclusive (`payment_method` and "
        "`payment_method_data`; `account_holder[customer]` and `account_holder[account]`, as "
        "the spec's own description says); a JSON schema cannot express exclusivity.",
    ),
    Rule(
        "*",
        None,
        r"id",
        r"Invalid string: .*; must be at most 500 characters",
        "An id of the caller's choosing is at most 500 characters (docs/guesses.md), where the "
        "spec allows 5000.",
        when=lambda case, param: len(str(_generated(case, param) or "")) > 500,
    ),
    Rule(
        "*",
        None,
        None,
        r"Invalid null byte in (parameter|the request URL)",
        "A string holding a NUL is refused (docs/api.md): the spec's strings are free.",
        when=lambda case, _param: _holds_nul([case.path_parameters, case.query, case.body]),
    ),
)


def _holds_nul(value: Any) -> bool:
    """Whether a NUL is in any string of the generated request, its keys included."""
    if isinstance(value, str):
        return "\0" in value
    if isinstance(value, dict):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_holds_nul(v) for v in value)
    return False


def _error(response: Any) -> dict[str, Any]:
    try:
        body = json.loads(response.content)
    except ValueError:
        return {}
    error = body.get("error") if isinstance(body, dict) else None
    return error if isinstance(error, dict) else {}


def _generated(case: Any, param: str) -> Any:
    """The generated value at Stripe bracket path `param` (None if there is none)."""
    value: Any = case.body if case.method == "POST" else case.query
    for key in re.findall(r"[^\[\]]+", param):
        if isinstance(value, dict) and key in value:
            value = value[key]
        elif isinstance(value, list) and key.isdigit() and int(key) < len(value):
            value = value[int(key)]
        else:
            return None
    return value


def _has_unencodable_key(value: Any) -> bool:
    if isinstance(value, dict):
        return any(
            k == "" or "[" in k or "]" in k or _has_unencodable_key(v) for k, v in value.items()
        )
    if isinstance(value, list):
        return any(_has_unencodable_key(v) for v in value)
    return False


def _stripe_rule(case: Any, response: Any) -> Rule | None:
    if response.status_code not in (400, 402):  # 402: a card error (Stripe's test cards only)
        return None
    error = _error(response)
    for rule in STRIPE_RULES:
        if rule.matches(case.operation.label, error):
            if rule.when is not None and not rule.when(case, str(error.get("param"))):
                continue
            return rule
    return None


def _another_operations_url(response: Any, case: Any) -> bool:
    """Whether the URL sent is another operation's with this method: a path parameter drawn as
    a literal segment (`GET /v1/payment_intents/search` for a PaymentIntent named `search`) is
    routed to that operation, by Stripe as by the fake, and its answer is right, whatever it is."""
    whole = load_whole()
    path = urlsplit(str(response.request.url)).path
    method = str(response.request.method)
    return whole is not None and whole.match(method, path) not in (None, case.path)


def stripe_positive_data_acceptance(ctx: Any, response: Any, case: Any) -> bool | None:
    try:
        return positive_data_acceptance(ctx, response, case)
    except RejectedPositiveData:
        if _stripe_rule(case, response) is not None:
            return None
        if _another_operations_url(response, case) and response.status_code < 500:
            return None
        raise


_FAKE_OPERATIONS = {(ep.method, ep.path) for ep in routes_table()}


def stripe_unsupported_method(ctx: Any, response: Any, case: Any) -> bool | None:
    """Stripe answers a method a URL lacks as it answers an unknown URL: 404, never 405.

    And a method the recorded spec leaves out may still be one of Stripe's that the fake
    implements, by hand or generically (`POST /v1/charges`): there a success is right.
    """
    try:
        return unsupported_method(ctx, response, case)
    except UnsupportedMethodResponse:
        method = str(response.request.method)
        if (method, case.path) in _FAKE_OPERATIONS and response.status_code < 500:
            return None
        generic = response.headers.get("fake-stripe-model") == ["generic"]
        if generic and response.status_code < 500:
            return None
        if _another_operations_url(response, case) and response.status_code < 500:
            return None
        message = str(_error(response).get("message", ""))
        if response.status_code == 404 and message.startswith(
            f"Unrecognized request URL ({method}: "
        ):
            return None
        raise


def _tree(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Rack-style: `a[b][0]=x` -> {"a": {"b": {"0": "x"}}} (arrays come from the schema)."""
    root: dict[str, Any] = {}
    for key, value in pairs:
        head, _, rest = key.partition("[")
        parts = [head, *re.findall(r"([^\[\]]*)\]", "[" + rest)] if rest else [head]
        node: Any = root
        for part in parts[:-1]:
            nxt = node.get(part) if isinstance(node, dict) else None
            if not isinstance(nxt, dict):
                nxt = {}
                if isinstance(node, dict):
                    node[part] = nxt
            node = nxt
        if isinstance(node, dict):
            node[parts[-1]] = value
    return root


# A number as text on the wire (`0.0`, `-12`, `1e3`).
_NUMBER = re.compile(r"-?\d+(\.\d+)?([eE][-+]?\d+)?")


def _coerce(value: Any, schema: Mapping[str, Any]) -> Any:
    """Read wire text the way the schema types it (what a server that honours it would read)."""
    if "anyOf" in schema:
        for branch in schema["anyOf"]:
            candidate = _coerce(value, branch)
            if jsonschema.Draft4Validator(branch).is_valid(candidate):
                return candidate
        return value
    kind = schema.get("type")
    if kind == "array" and isinstance(value, dict) and all(k.isdigit() for k in value):
        value = [value[k] for k in sorted(value, key=int)]
    if kind == "array" and isinstance(value, list):
        return [_coerce(item, schema.get("items", {})) for item in value]
    if kind == "array" and value == "":
        return []
    if kind == "object" and isinstance(value, dict):
        properties = schema.get("properties", {})
        extra = schema.get("additionalProperties")
        return {
            k: _coerce(v, properties.get(k, extra if isinstance(extra, dict) else {}))
            for k, v in value.items()
        }
    if kind == "integer" and isinstance(value, str) and re.fullmatch(r"-?\d+", value):
        return int(value)
    if kind == "number" and isinstance(value, str) and _NUMBER.fullmatch(value):
        return float(value)
    if kind == "boolean" and value in ("true", "false"):
        return value == "true"
    return value


def _path_values(template: str, path: str) -> dict[str, str] | None:
    expected, actual = template.strip("/").split("/"), path.strip("/").split("/")
    if len(expected) != len(actual):
        return None
    values: dict[str, str] = {}
    for segment, sent in zip(expected, actual, strict=True):
        if segment.startswith("{"):
            values[segment[1:-1]] = unquote(sent)
        elif segment != sent:
            return None
    return values


def read_as_typed(form: str, schema: Mapping[str, Any]) -> Any:
    """A form body, as the schema types its fields."""
    return _coerce(_tree(parse_qsl(form, keep_blank_values=True)), schema)


def _valid_on_the_wire(case: Any, response: Any) -> bool:
    """Whether the request, as actually sent in Stripe's encoding, satisfies the schema.

    Schemathesis judges its own encoding; this one differs (nulls and empty containers are not
    sent; every scalar becomes text), so some invalid values arrive as valid requests. Only
    then may a negative case be accepted.
    """
    operation = case.operation.definition.raw
    request = response.request
    query_schema: dict[str, Any] = {"type": "object", "properties": {}, "required": []}
    for parameter in operation.get("parameters", ()):
        if parameter["in"] == "query":
            query_schema["properties"][parameter["name"]] = parameter["schema"]
            if parameter.get("required"):
                query_schema["required"].append(parameter["name"])
        elif parameter["in"] == "path":
            sent = _path_values(case.path, urlsplit(request.url).path)
            value = None if sent is None else sent.get(parameter["name"])
            if value is None or not jsonschema.Draft4Validator(parameter["schema"]).is_valid(value):
                return False
    if not query_schema["required"]:
        del query_schema["required"]
    query_schema["additionalProperties"] = False
    sent_query = parse_qsl(urlsplit(request.url).query, keep_blank_values=True)
    query = _coerce(_tree(sent_query), query_schema)
    if not jsonschema.Draft4Validator(query_schema).is_valid(query):
        return False
    body_schema = operation.get("requestBody", {}).get("content", {}).get(FORM, {}).get("schema")
    if body_schema is not None:
        content = (request.body or b"").decode("utf-8", errors="replace")
        body = read_as_typed(content, body_schema)
        if not jsonschema.Draft4Validator(body_schema).is_valid(body):
            return False
    return True


def stripe_negative_data_rejection(ctx: Any, response: Any, case: Any) -> bool | None:
    try:
        return negative_data_rejection(ctx, response, case)
    except AcceptedNegativeData:
        if _valid_on_the_wire(case, response):
            return None
        raise


WRAPPED: dict[Callable[..., Any], Callable[..., Any]] = {
    positive_data_acceptance: stripe_positive_data_acceptance,
    unsupported_method: stripe_unsupported_method,
    negative_data_rejection: stripe_negative_data_rejection,
}
