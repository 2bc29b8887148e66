"""Scenario files: loading a TOML file into a checked `Scenario` (the format is FORMAT.md).

A file is data: what exists, what happens, what the user does, what must be observed. Loading
rejects unknown keys, wrong types and references to accounts the scenario never names, so a typo
is a clear error before anything runs, not a silently skipped check.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from .relink_client import PREVIEW_VERSION, UseCase

REASONS = (
    "token_expired",
    "mfa_changed",
    "account_locked",
    "account_closed",
    "credentials_changed",
    "access_revoked",
    "permanent",
)
CAUSES = (
    "access_denied",
    "access_expired",
    "account_closed",
    "account_unavailable",
    "institution_requirement",
    "unspecified",
)
ACTIONS = ("none", "relink_required")
USER_ACTIONS = ("relink_same", "relink_new", "no_accounts", "failure", "cancel", "link")
SUBCATEGORIES = ("checking", "savings", "credit_card", "line_of_credit", "mortgage")
DECISIONS = ("healthy", "relink", "connect_from_scratch")
RESOLUTIONS = (
    "reauthorized",
    "not_repaired",
    "new_account",
    "no_accounts",
    "wrong_account",
    "error",
    "cancelled",
    "pending",
)
NEW = "new"  # the ref of an account the user links during the flow
WEBHOOKS = ("replayed", "delivered")  # [given].webhooks: how events reach the client's handler

# verb -> (the verb's value kind, allowed extra keys, required extra keys)
VERBS: dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]] = {
    "deactivate": ("account", ("reason", "cause", "action"), ()),
    "deactivate_authorization": ("account", ("cause", "action"), ("cause",)),
    "schedule_deactivation": ("account", ("days", "cause", "action"), ("days",)),
    "expire_account_numbers": ("account", (), ()),
    "disconnect": ("account", (), ()),
    "advance_days": ("int", (), ()),
    "advance_seconds": ("int", (), ()),
    "fault": ("fault", (), ()),
    "webhook_receiver": ("receiver", (), ()),
    "charge": ("payment_account", ("amount",), ()),
    "retry_charge": ("payment_account", (), ()),
    "settle": ("settle", (), ()),
}
# `settle`: the bank's answer now (`bank`: as the account's state dictates) or a forced one.
SETTLE_OUTCOMES = (
    "bank",
    "succeeded",
    "account_closed",
    "no_account",
    "insufficient_funds",
    "debit_not_authorized",
    "invalid_currency",
    "bank_account_unusable",
)
FAULT_KEYS = {"method", "path", "count", "status", "delay_ms", "when"}
RECEIVER_KEYS = {"count", "status"}
STEP_EXPECT_KEYS = {
    "authorization",
    "accounts",
    "payment_methods",
    "events",
    "watchlist",
    "requests",
    "webhooks",
    "payment",
    "payment_intent",
    "charge",
}
EXPECT_KEYS = STEP_EXPECT_KEYS | {
    "decision",
    "proactive",
    "resolution",
    "mandate_required",
    "error",
    "session",
    "setup_intent",
}
_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_REF_RE = re.compile(r"\{([a-z_]+)(?:\.([A-Za-z0-9_-]+))?\}")


class ScenarioFormatError(ValueError):
    def __init__(self, path: Path | str, message: str) -> None:
        self.path = str(path)
        super().__init__(f"{path}: {message}")


@dataclass(frozen=True)
class AccountSpec:
    ref: str
    subcategory: str
    display_name: str | None = None
    last4: str | None = None


@dataclass(frozen=True)
class ClientSpec:
    use_case: UseCase = UseCase.PAYMENTS
    permissions: tuple[str, ...] = ("balances",)
    relink_account: bool = False
    stripe_version: str = PREVIEW_VERSION


@dataclass(frozen=True)
class Given:
    customer: Mapping[str, str]
    institution: str
    accounts: tuple[AccountSpec, ...]
    permissions: tuple[str, ...]
    payment_methods: tuple[str, ...]
    # "replayed": the runner signs each new event and calls the handler itself; "delivered":
    # the fake delivers them to a local receiver registered as a webhook endpoint.
    webhooks: str = "replayed"


@dataclass(frozen=True)
class Step:
    where: str  # "happens[2]"
    verb: str
    value: Any
    params: Mapping[str, Any]
    expect: Mapping[str, Any] | None


@dataclass(frozen=True)
class Flow:
    account: str
    user: str | None = None
    relink_accounts: tuple[str, ...] | None = None
    new_account: str | None = None
    institution: str | None = None
    mandate: str = "accept"
    stored_authorization: bool = False  # start the relink from a stored id, without assessing
    # act on what the client's webhook handler flagged (a failed debit), without assessing
    from_watchlist: bool = False


@dataclass(frozen=True)
class Scenario:
    name: str
    path: Path
    description: str
    tags: tuple[str, ...]
    client: ClientSpec
    given: Given
    happens: tuple[Step, ...]
    flow: Flow
    expect: Mapping[str, Any]
    then: tuple[Step, ...] = field(default=())

    def matches(self, text: str) -> bool:
        t = text.lower()
        return (
            t in self.name.lower()
            or t in self.description.lower()
            or any(t in tag.lower() for tag in self.tags)
        )


# ---- loading -----------------------------------------------------------------------------


class _Checker:
    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, message: str) -> ScenarioFormatError:
        return ScenarioFormatError(self.path, message)

    def table(self, value: Any, where: str) -> dict[str, Any]:
        if value is None:
            raise self.fail(f"{where} is missing: it must be a table")
        if not isinstance(value, dict):
            raise self.fail(f"{where} must be a table, not {type(value).__name__}")
        return value

    def keys(self, table: Mapping[str, Any], allowed: Iterable[str], where: str) -> None:
        allowed = set(allowed)
        unknown = sorted(set(table) - allowed)
        if unknown:
            raise self.fail(
                f"unknown key {where}.{unknown[0]} (allowed: {', '.join(sorted(allowed))})"
            )

    def str_(self, value: Any, where: str, choices: Iterable[str] | None = None) -> str:
        if not isinstance(value, str):
            raise self.fail(f"{where} must be a string")
        if choices is not None and value not in tuple(choices):
            raise self.fail(f"{where} = {value!r} is not one of {', '.join(choices)}")
        return value

    def strs(self, value: Any, where: str, choices: Iterable[str] | None = None) -> tuple[str, ...]:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list):
            raise self.fail(f"{where} must be a list of strings")
        return tuple(self.str_(v, f"{where}[{i}]", choices) for i, v in enumerate(value))

    def int_(self, value: Any, where: str) -> int:
        if not isinstance(value, int) or isinstance(value, bool):
            raise self.fail(f"{where} must be an integer")
        return value

    def bool_(self, value: Any, where: str) -> bool:
        if not isinstance(value, bool):
            raise self.fail(f"{where} must be true or false")
        return value


def load(path: Path) -> Scenario:
    c = _Checker(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as err:
        raise c.fail(f"not valid TOML: {err}") from None
    name = path.stem
    if not _NAME_RE.match(name):
        raise c.fail("a scenario file is named in lower-case-with-dashes.toml")
    c.keys(
        data, ("description", "tags", "client", "given", "happens", "flow", "expect", "then"), ""
    )
    if "description" not in data:
        raise c.fail("missing description")
    description = c.str_(data["description"], "description")
    client = _client(c, data.get("client", {}))
    given = _given(c, data.get("given"), client)
    refs = {a.ref for a in given.accounts} | {NEW}
    delivered = given.webhooks == "delivered"
    happens = _steps(c, data.get("happens", []), "happens", refs, delivered)
    flow = _flow(c, data.get("flow"), refs)
    expect = c.table(data.get("expect", {}), "expect")
    _expect(c, expect, "expect", EXPECT_KEYS, refs, delivered)
    then = _steps(c, data.get("then", []), "then", refs, delivered)
    return Scenario(
        name,
        path,
        description,
        c.strs(data.get("tags", []), "tags"),
        client,
        given,
        happens,
        flow,
        expect,
        then,
    )


def _client(c: _Checker, raw: Any) -> ClientSpec:
    t = c.table(raw, "client")
    c.keys(t, ("use_case", "permissions", "relink_account", "stripe_version"), "client")
    return ClientSpec(
        use_case=UseCase(
            c.str_(t.get("use_case", "payments"), "client.use_case", [u.value for u in UseCase])
        ),
        permissions=c.strs(
            t.get("permissions", ["balances"]),
            "client.permissions",
            ("balances", "ownership", "transactions"),
        ),
        relink_account=c.bool_(t.get("relink_account", False), "client.relink_account"),
        stripe_version=c.str_(t.get("stripe_version", PREVIEW_VERSION), "client.stripe_version"),
    )


def _given(c: _Checker, raw: Any, client: ClientSpec) -> Given:
    if raw is None:
        raise c.fail("missing [given]")
    t = c.table(raw, "given")
    c.keys(
        t,
        ("customer", "institution", "accounts", "permissions", "payment_methods", "webhooks"),
        "given",
    )
    customer = c.table(
        t.get("customer", {"name": "Jenny Rosen", "email": "jenny.rosen@example.com"}),
        "given.customer",
    )
    c.keys(customer, ("name", "email"), "given.customer")
    accounts = []
    for ref, spec in c.table(t.get("accounts"), "given.accounts").items():
        if ref == NEW:
            raise c.fail(f"given.accounts.{NEW}: `{NEW}` names the account linked in the flow")
        if isinstance(spec, str):
            spec = {"subcategory": spec}
        spec = c.table(spec, f"given.accounts.{ref}")
        c.keys(spec, ("subcategory", "display_name", "last4"), f"given.accounts.{ref}")
        accounts.append(
            AccountSpec(
                ref,
                c.str_(spec.get("subcategory"), f"given.accounts.{ref}.subcategory", SUBCATEGORIES),
                spec.get("display_name"),
                spec.get("last4"),
            )
        )
    if not accounts:
        raise c.fail("given.accounts names no account")
    default = (
        ("payment_method", *client.permissions)
        if client.use_case is UseCase.PAYMENTS
        else client.permissions
    )
    refs = [a.ref for a in accounts]
    return Given(
        customer={k: str(v) for k, v in customer.items()},
        institution=c.str_(t.get("institution", "fcinst_StripeBank"), "given.institution"),
        accounts=tuple(accounts),
        permissions=c.strs(t.get("permissions", list(default)), "given.permissions"),
        payment_methods=c.strs(t.get("payment_methods", []), "given.payment_methods", refs),
        webhooks=c.str_(t.get("webhooks", "replayed"), "given.webhooks", WEBHOOKS),
    )


def _steps(c: _Checker, raw: Any, where: str, refs: set[str], delivered: bool) -> tuple[Step, ...]:
    if not isinstance(raw, list):
        raise c.fail(f"{where} must be an array of tables ([[{where}]])")
    steps = []
    for i, item in enumerate(raw):
        w = f"{where}[{i}]"
        t = c.table(item, w)
        verbs = [k for k in t if k in VERBS]
        if len(verbs) != 1:
            raise c.fail(
                f"{w} needs exactly one of {', '.join(VERBS)} (found {', '.join(verbs) or 'none'})"
            )
        verb = verbs[0]
        kind, allowed, required = VERBS[verb]
        c.keys(t, (verb, *allowed, "expect"), w)
        for r in required:
            if r not in t:
                raise c.fail(f"{w}: {verb} needs {r}")
        value = t[verb]
        if kind == "account":
            c.str_(value, f"{w}.{verb}", sorted(refs - {NEW}))
        elif kind == "payment_account":
            c.str_(value, f"{w}.{verb}", sorted(refs))
        elif kind == "settle":
            c.str_(value, f"{w}.{verb}", SETTLE_OUTCOMES)
        elif kind == "int":
            c.int_(value, f"{w}.{verb}")
        elif kind == "fault":
            fault = c.table(value, f"{w}.fault")
            c.keys(fault, FAULT_KEYS, f"{w}.fault")
            if "path" not in fault:
                raise c.fail(f"{w}.fault needs path")
            if "when" in fault:
                c.str_(fault["when"], f"{w}.fault.when", ("before", "after"))
                if fault["when"] == "after" and "status" not in fault:
                    raise c.fail(
                        f'{w}.fault: when = "after" needs a status (the lost '
                        "response is replaced by it)"
                    )
        else:
            _receiver(c, value, f"{w}.{verb}", delivered)
        params = {k: v for k, v in t.items() if k not in (verb, "expect")}
        if verb == "deactivate" and ("reason" in params) == ("cause" in params):
            raise c.fail(f"{w}: deactivate needs one of reason, cause")
        if "reason" in params:
            c.str_(params["reason"], f"{w}.reason", REASONS)
        if "cause" in params:
            c.str_(params["cause"], f"{w}.cause", CAUSES)
        if "action" in params:
            c.str_(params["action"], f"{w}.action", ACTIONS)
        if "days" in params:
            c.int_(params["days"], f"{w}.days")
        if "amount" in params:
            c.int_(params["amount"], f"{w}.amount")
        expect = None
        if "expect" in t:
            expect = c.table(t["expect"], f"{w}.expect")
            _expect(c, expect, f"{w}.expect", STEP_EXPECT_KEYS, refs, delivered)
        steps.append(Step(w, verb, value, params, expect))
    return tuple(steps)


def _receiver(c: _Checker, value: Any, where: str, delivered: bool) -> None:
    if not delivered:
        raise c.fail(f'{where}: the receiver exists only with [given] webhooks = "delivered"')
    t = c.table(value, where)
    c.keys(t, RECEIVER_KEYS, where)
    if "count" not in t:
        raise c.fail(f"{where} needs count")
    if c.int_(t["count"], f"{where}.count") < 1:
        raise c.fail(f"{where}.count must be at least 1")
    if "status" in t and not 300 <= c.int_(t["status"], f"{where}.status") <= 599:
        raise c.fail(f"{where}.status must be a failure status (300-599)")


def _flow(c: _Checker, raw: Any, refs: set[str]) -> Flow:
    if raw is None:
        raise c.fail("missing [flow]")
    t = c.table(raw, "flow")
    c.keys(
        t,
        (
            "account",
            "user",
            "relink_accounts",
            "new_account",
            "institution",
            "mandate",
            "stored_authorization",
            "from_watchlist",
        ),
        "flow",
    )
    given_refs = sorted(refs - {NEW})
    return Flow(
        account=c.str_(t.get("account"), "flow.account", given_refs),
        user=c.str_(t["user"], "flow.user", USER_ACTIONS) if "user" in t else None,
        relink_accounts=c.strs(t["relink_accounts"], "flow.relink_accounts", given_refs)
        if "relink_accounts" in t
        else None,
        new_account=c.str_(t["new_account"], "flow.new_account", SUBCATEGORIES)
        if "new_account" in t
        else None,
        institution=c.str_(t["institution"], "flow.institution") if "institution" in t else None,
        mandate=c.str_(t.get("mandate", "accept"), "flow.mandate", ("accept", "decline")),
        stored_authorization=c.bool_(
            t.get("stored_authorization", False), "flow.stored_authorization"
        ),
        from_watchlist=c.bool_(t.get("from_watchlist", False), "flow.from_watchlist"),
    )


def _expect(
    c: _Checker,
    t: Mapping[str, Any],
    where: str,
    allowed: set[str],
    refs: set[str],
    delivered: bool,
) -> None:
    c.keys(t, allowed, where)
    if "decision" in t:
        c.str_(t["decision"], f"{where}.decision", (*DECISIONS, "<absent>"))
    if "resolution" in t:
        c.str_(t["resolution"], f"{where}.resolution", (*RESOLUTIONS, "<absent>"))
    for key in ("proactive", "mandate_required"):
        if key in t:
            c.bool_(t[key], f"{where}.{key}")
    for key in ("accounts", "payment_methods"):
        for ref, sub in c.table(t.get(key, {}), f"{where}.{key}").items():
            if ref not in refs:
                raise c.fail(f"{where}.{key}.{ref}: no account is named {ref!r}")
            _object(c, sub, f"{where}.{key}.{ref}")
    for key in ("session", "authorization", "setup_intent", "payment", "payment_intent", "charge"):
        if key in t:
            _object(c, t[key], f"{where}.{key}")
    if "error" in t:
        err = c.table(t["error"], f"{where}.error")
        c.keys(err, ("step", "http_status", "type", "code", "param", "message"), f"{where}.error")
    for etype, n in c.table(t.get("events", {}), f"{where}.events").items():
        c.int_(n, f"{where}.events.{etype!r}")
    for req, spec in c.table(t.get("requests", {}), f"{where}.requests").items():
        if not re.match(r"^(GET|POST|DELETE) /v1/\S+$", req):
            raise c.fail(f"{where}.requests: {req!r} is not 'METHOD /v1/path'")
        spec = c.table(spec, f"{where}.requests.{req!r}")
        c.keys(
            spec,
            ("attempts", "statuses", "idempotency_keys", "created", "replayed"),
            f"{where}.requests.{req!r}",
        )
    if "watchlist" in t:
        wl = c.table(t["watchlist"], f"{where}.watchlist")
        c.keys(wl, ("needs_relink", "needs_new_link", "relink_soon"), f"{where}.watchlist")
        for k, v in wl.items():
            c.strs(v, f"{where}.watchlist.{k}", sorted(refs))
    if "webhooks" in t:
        _webhooks_expect(c, t["webhooks"], f"{where}.webhooks", delivered)
    _check_refs(c, t, where, refs)


def _webhooks_expect(c: _Checker, value: Any, where: str, delivered: bool) -> None:
    if not delivered:
        raise c.fail(
            f'{where}: webhook delivery is observed only with [given] webhooks = "delivered"'
        )
    wh = c.table(value, where)
    c.keys(wh, ("delivered", "journal", "pending_webhooks"), where)
    for etype, n in c.table(wh.get("delivered", {}), f"{where}.delivered").items():
        c.int_(n, f"{where}.delivered.{etype!r}")
    for etype, statuses in c.table(wh.get("journal", {}), f"{where}.journal").items():
        if not isinstance(statuses, list):
            raise c.fail(f"{where}.journal.{etype!r} must be a list of HTTP statuses")
        for i, status in enumerate(statuses):
            c.int_(status, f"{where}.journal.{etype!r}[{i}]")
    if "pending_webhooks" in wh:
        c.int_(wh["pending_webhooks"], f"{where}.pending_webhooks")


def _object(c: _Checker, value: Any, where: str) -> None:
    """An object expectation: a table, or one of the markers `<absent>` / `<any>`."""
    if isinstance(value, str):
        c.str_(value, where, ("<absent>", "<any>"))
    else:
        c.table(value, where)


def _check_refs(c: _Checker, value: Any, where: str, refs: set[str]) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            _check_refs(c, v, f"{where}.{k}", refs)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _check_refs(c, v, f"{where}[{i}]", refs)
    elif isinstance(value, str):
        for kind, ref in _REF_RE.findall(value):
            if kind in ("accounts", "payment_methods"):
                if ref not in refs:
                    raise c.fail(f"{where}: {{{kind}.{ref}}} names no account")
            elif (
                kind
                not in ("customer", "authorization", "session", "setup_intent", "payment_intent")
                or ref
            ):
                raise c.fail(f"{where}: unknown reference {{{kind}{'.' + ref if ref else ''}}}")


# ---- finding files -----------------------------------------------------------------------


def catalog_dir() -> Path:
    return Path(str(resources.files(__package__ or "scenarios") / "catalog"))


def discover(paths: Iterable[str | Path] = ()) -> list[Path]:
    """The scenario files named by `paths` (files or directories); the catalog by default."""
    found: list[Path] = []
    for p in [Path(x) for x in paths] or [catalog_dir()]:
        if p.is_dir():
            found.extend(sorted(p.glob("*.toml"), key=lambda f: f.stem))
        elif p.is_file():
            found.append(p)
        else:
            raise ScenarioFormatError(p, "no such file or directory")
    return found


def load_all(paths: Iterable[str | Path] = ()) -> list[Scenario]:
    return [load(p) for p in discover(paths)]
