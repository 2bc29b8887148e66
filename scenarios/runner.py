"""Playing scenarios: set up [given] through the fake's test helpers, run the relink client
through the flow, check every expectation, and report what differed.

Each scenario runs in its own tenant (its own `sk_test_…` key), so scenarios run in parallel
against one app or one server. Two SDK clients share that key: the merchant's `RelinkClient`
(whose request log the `requests` expectations read) and an observer the runner uses to set up
state, play the institution and the clock, act as the user in the flow and read objects back.

Events reach the client's webhook handler in one of two ways. By default the runner replays
them: after each step it signs every new event as Stripe does and calls the handler. With
`[given] webhooks = "delivered"` the fake delivers them: the runner starts a `WebhookReceiver`
on a loopback port, registers it with `POST /v1/webhook_endpoints`, shortens the tenant's retry
schedule, and after each step waits until every event has been delivered (or given up).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any

import stripe

from client import (
    PREVIEW_VERSION,
    Assessment,
    Decision,
    Flag,
    MandateAcceptance,
    RelinkError,
    Resolution,
    SessionStart,
)
from client.microdeposits import Verification, fall_back, verify

from .expect import MISSING, Matcher, Mismatch
from .model import NEW, Scenario, Step
from .receiver import WebhookReceiver
from .target import Target

WEBHOOK_SECRET = "whsec_scenario_runner_replay"
# The tenant's retry schedule with real delivery (`/_fake/webhooks/settings`): 4 attempts in
# all, 10, 20 and 40 ms after each failure, so a receiver that is down costs milliseconds.
RETRY_SCHEDULE = {
    "base_delay": "0.01",
    "factor": "2",
    "max_attempts": "4",
    "time_scale": "1",
    "timeout": "5",
}
SETTLE_TIMEOUT = 5.0  # seconds to wait for the deliveries of one step
ACCEPTANCE = MandateAcceptance("203.0.113.7", "Mozilla/5.0 (fake-stripe scenario)")
_TH = "/v1/test_helpers/financial_connections"
# Stripe's ACH test routing number and the test account number whose debits succeed.
TEST_ROUTING, TEST_ACCOUNT = "110000000", "000123456789"


@dataclass
class Result:
    scenario: Scenario
    outcome: str  # pass | fail | error
    seconds: float
    mismatches: list[Mismatch] = field(default_factory=list)
    error: str | None = None  # why the scenario could not be played (outcome "error")
    key: str = ""

    @property
    def passed(self) -> bool:
        return self.outcome == "pass"

    def details(self) -> list[str]:
        if self.error:
            return [self.error]
        return [str(m) for m in self.mismatches]


class SetupError(Exception):
    """A step of the scenario (not the client under test) could not be carried out."""


def tenant_key(scenario: Scenario, seed: int | None) -> str:
    nonce = f"s{seed}" if seed is not None else uuid.uuid4().hex[:10]
    return f"sk_test_scn_{scenario.name.replace('-', '_')}_{nonce}"


def run_scenario(
    scenario: Scenario, target: Target, *, key: str | None = None, seed: int | None = None
) -> Result:
    key = key or tenant_key(scenario, seed)
    start = time.perf_counter()
    play = _Play(scenario, target, key)
    try:
        play.run()
    except SetupError as err:
        return Result(scenario, "error", time.perf_counter() - start, error=str(err), key=key)
    finally:
        play.close()
    outcome = "fail" if play.mismatches else "pass"
    return Result(scenario, outcome, time.perf_counter() - start, play.mismatches, key=key)


def run_all(
    scenarios: Iterable[Scenario],
    target: Target,
    *,
    workers: int = 1,
    seed: int | None = None,
    on_done: Callable[[Result], None] | None = None,
) -> list[Result]:
    """Every scenario, `workers` at a time; results in the order given."""
    items = list(scenarios)
    lock = threading.Lock()

    def one(s: Scenario) -> Result:
        try:
            r = run_scenario(s, target, seed=seed)
        except Exception as err:  # a bug in the runner must not hide the other results
            r = Result(s, "error", 0.0, error=f"runner crashed: {type(err).__name__}: {err}")
        if on_done is not None:
            with lock:
                on_done(r)
        return r

    if workers <= 1:
        return [one(s) for s in items]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(one, items))


# ---- one scenario ----------------------------------------------------------------------------


class _Play:
    def __init__(self, scenario: Scenario, target: Target, key: str) -> None:
        self.s = scenario
        # The observer always reads with the preview version, whatever the client sends.
        self.observer = target.connect(key, PREVIEW_VERSION)
        self.client = target.connect(key, scenario.client.stripe_version, clock=self.now)
        self.ids: dict[str, str] = {}  # "customer", "authorization", "accounts.x", ...
        self.mismatches: list[Mismatch] = []
        self.baseline: dict[str, Any] = {}
        self.given_events: set[str] = set()
        self.delivered: set[str] = set()
        self.log_mark = 0
        self.assessment: Assessment | None = None
        self.resolution: Resolution | None = None
        self.verification: Verification | None = None
        self.error: dict[str, Any] | None = None
        self.matcher = Matcher(self._resolve_ref, self._baseline)
        # Real delivery ([given] webhooks = "delivered"):
        self.receiver: WebhookReceiver | None = None
        self.endpoint: str | None = None
        self.endpoint_secret = ""
        self.before_endpoint: set[str] = set()  # events that are not the endpoint's to receive
        self.journal_mark = 0  # the delivery journal's last seq at the end of [given]
        self.handled_mark = 0
        self.receiver_errors = 0

    def close(self) -> None:
        try:
            if self.endpoint is not None:
                # The fake stops retrying to a receiver that is about to go away.
                self.observer.stripe.raw_request("delete", f"/v1/webhook_endpoints/{self.endpoint}")
        except stripe.StripeError:
            pass
        finally:
            if self.receiver is not None:
                self.receiver.close()
            self.client.close()
            self.observer.close()

    # ---- the observer's requests ---------------------------------------------------------

    def call(self, method: str, path: str, where: str, /, **params: Any) -> dict[str, Any]:
        try:
            resp = self.observer.stripe.raw_request(method, path, **params)
        except stripe.StripeError as err:
            raise SetupError(
                f"{where}: {method.upper()} {path} failed: "
                f"{RelinkError.from_stripe(where, err, 'preview').message} "
                f"[{err.request_id}]"
            ) from err
        body = json.loads(resp.body)
        assert isinstance(body, dict)
        return body

    def get(self, path: str, where: str = "observe", /, **params: Any) -> dict[str, Any]:
        return self.call("get", path, where, **params)

    def now(self) -> int:
        return int(self.get("/v1/test_helpers/clock", "read the tenant clock")["now"])

    def events(self) -> list[dict[str, Any]]:
        """Every event of the tenant, oldest first."""
        out: list[dict[str, Any]] = []
        after: str | None = None
        while True:
            params: dict[str, Any] = {"limit": 100}
            if after:
                params["starting_after"] = after
            page = self.get("/v1/events", "list events", **params)
            out.extend(page["data"])
            if not page["has_more"]:
                break
            after = page["data"][-1]["id"]
        out.reverse()
        return out

    def deliver_webhooks(self, where: str) -> None:
        """Bring the client's webhook handler up to date with every event so far."""
        if self.receiver is not None:
            self.settle_webhooks(where)
        else:
            self.replay_webhooks()

    def replay_webhooks(self) -> None:
        """Sign each new event as Stripe does and hand it to the client's webhook handler."""
        for ev in self.events():
            if ev["id"] in self.delivered:
                continue
            self.delivered.add(ev["id"])
            payload = json.dumps(ev)
            t = int(time.time())
            sig = hmac.new(
                WEBHOOK_SECRET.encode(), f"{t}.{payload}".encode(), hashlib.sha256
            ).hexdigest()
            try:
                self.client.handle_webhook(payload, f"t={t},v1={sig}", WEBHOOK_SECRET)
            except Exception as err:  # the handler under test failed on a genuine delivery
                self.mismatches.append(
                    Mismatch(
                        f"webhook {ev['type']} ({ev['id']})",
                        "handled",
                        f"{type(err).__name__}: {err}",
                        "the client's webhook handler raised",
                    )
                )

    # ---- real delivery -----------------------------------------------------------------------

    def start_receiver(self) -> None:
        """The client's handler behind a local HTTP endpoint, registered for every event."""
        self.receiver = WebhookReceiver(
            lambda body, sig: self.client.handle_webhook(body, sig, self.endpoint_secret)
        )
        self.call("post", "/_fake/webhooks/settings", "given.webhooks", **RETRY_SCHEDULE)
        self.before_endpoint = {ev["id"] for ev in self.events()}
        ep = self.call(
            "post",
            "/v1/webhook_endpoints",
            "given.webhooks",
            url=self.receiver.url,
            enabled_events=["*"],
            api_version=PREVIEW_VERSION,
            description=f"fake-stripe scenario {self.s.name}",
        )
        self.endpoint, self.endpoint_secret = ep["id"], ep["secret"]

    def journal(self) -> list[dict[str, Any]]:
        """The fake's delivery journal for this tenant, oldest attempt first."""
        out: list[dict[str, Any]] = []
        after = 0
        while True:
            page = self.get(
                "/_fake/webhooks/deliveries", "read the delivery journal", after=after, limit=1000
            )
            out.extend(page["data"])
            if not page["has_more"] or not page["data"]:
                return out
            after = page["data"][-1]["seq"]

    def settle_webhooks(self, where: str) -> None:
        """Wait until every event is delivered (`pending_webhooks` 0) or given up."""
        assert self.receiver is not None
        deadline = time.monotonic() + SETTLE_TIMEOUT
        while True:
            pending = [
                ev
                for ev in self.events()
                if ev["id"] not in self.before_endpoint and ev["pending_webhooks"] > 0
            ]
            if pending:
                given_up = {
                    a["event"]
                    for a in self.journal()
                    if a["outcome"] == "failed" and a["next_attempt_at"] is None
                }
                pending = [ev for ev in pending if ev["id"] not in given_up]
            if not pending:
                break
            if time.monotonic() > deadline:
                self.mismatches.append(
                    Mismatch(
                        f"{where}: webhook delivery",
                        "every event delivered or given up",
                        ", ".join(f"{ev['type']} ({ev['id']})" for ev in pending),
                        f"still pending after {SETTLE_TIMEOUT:g}s; is {self.receiver.url} "
                        "reachable from the fake?",
                    )
                )
                break
            time.sleep(0.005)
        errors = self.receiver.errors[self.receiver_errors :]
        self.receiver_errors += len(errors)
        self.mismatches += [
            Mismatch(
                f"{where}: webhook delivery",
                "handled",
                e,
                "the receiver's answer to a delivery of the fake",
            )
            for e in errors
        ]

    # ---- phases ----------------------------------------------------------------------------

    def run(self) -> None:
        self.given()
        for step in self.s.happens:
            self.step(step)
        self.flow()
        self.deliver_webhooks("flow")
        self.check(self.s.expect, "expect")
        for step in self.s.then:
            self.step(step)

    def given(self) -> None:
        g = self.s.given
        # A reused tenant (a fixed --seed against a long-running server) keeps its old events:
        # they are not this run's to deliver or count.
        self.delivered = {ev["id"] for ev in self.events()}
        if g.webhooks == "delivered":
            self.start_receiver()
        cus = self.call("post", "/v1/customers", "given.customer", **g.customer)
        self.ids["customer"] = cus["id"]
        session = self.call(
            "post",
            "/v1/financial_connections/sessions",
            "given.accounts",
            account_holder={"type": "customer", "customer": cus["id"]},
            permissions=list(g.permissions),
        )
        accounts = []
        for a in g.accounts:
            wanted = {"subcategory": a.subcategory}
            if a.display_name:
                wanted["display_name"] = a.display_name
            if a.last4:
                wanted["last4"] = a.last4
            accounts.append(wanted)
        done = self.call(
            "post",
            f"{_TH}/sessions/{session['id']}/complete",
            "given.accounts",
            outcome="link",
            institution=g.institution,
            accounts=accounts,
        )
        linked = done["accounts"]["data"]
        if len(linked) != len(g.accounts):
            raise SetupError(
                f"given.accounts: linked {len(linked)} accounts, not {len(g.accounts)}"
            )
        for spec, acc in zip(g.accounts, linked, strict=True):
            self.ids[f"accounts.{spec.ref}"] = acc["id"]
        self.ids["authorization"] = linked[0]["authorization"]
        for ref in g.payment_methods:
            pm = self.call(
                "post",
                "/v1/payment_methods",
                f"given.payment_methods.{ref}",
                type="us_bank_account",
                us_bank_account={"financial_connections_account": self.ids[f"accounts.{ref}"]},
                billing_details={"name": g.customer.get("name", "Jenny Rosen")},
            )
            self.call(
                "post",
                "/v1/setup_intents",
                f"given.payment_methods.{ref}",
                customer=cus["id"],
                payment_method=pm["id"],
                payment_method_types=["us_bank_account"],
                confirm=True,
                mandate_data={
                    "customer_acceptance": {
                        "type": "online",
                        "online": {
                            "ip_address": ACCEPTANCE.ip_address,
                            "user_agent": ACCEPTANCE.user_agent,
                        },
                    }
                },
            )
            self.ids[f"payment_methods.{ref}"] = pm["id"]
        self.deliver_webhooks("given")
        self.given_events = {ev["id"] for ev in self.events()}
        if self.receiver is not None:
            journal = self.journal()
            self.journal_mark = journal[-1]["seq"] if journal else 0
            self.handled_mark = len(self.receiver.handled)
        self.log_mark = len(self.client.requests.attempts())
        self.baseline = {
            "authorization": self.get(
                f"/v1/financial_connections/authorizations/{self.ids['authorization']}"
            ),
            "accounts": {
                a.ref: self.get(
                    f"/v1/financial_connections/accounts/{self.ids['accounts.' + a.ref]}"
                )
                for a in g.accounts
            },
            "payment_methods": {
                ref: self.get(f"/v1/payment_methods/{self.ids['payment_methods.' + ref]}")
                for ref in g.payment_methods
            },
        }

    def step(self, step: Step) -> None:
        w, p = step.where, dict(step.params)
        if step.verb in ("deactivate", "schedule_deactivation", "expire_account_numbers"):
            account = self.ids[f"accounts.{step.value}"]
            self.call("post", f"{_TH}/accounts/{account}/{step.verb}", w, **p)
        elif step.verb == "deactivate_authorization":
            auth = self.get(
                f"/v1/financial_connections/accounts/{self.ids['accounts.' + step.value]}", w
            )["authorization"]
            self.call("post", f"{_TH}/authorizations/{auth}/deactivate", w, **p)
        elif step.verb == "disconnect":
            account = self.ids[f"accounts.{step.value}"]
            self.call("post", f"/v1/financial_connections/accounts/{account}/disconnect", w)
        elif step.verb in ("advance_days", "advance_seconds"):
            seconds = step.value * (86_400 if step.verb == "advance_days" else 1)
            self.call("post", "/v1/test_helpers/clock/advance", w, seconds=seconds)
        elif step.verb == "fault":
            fault = {k: str(v) for k, v in step.value.items()}
            self.call("post", "/v1/test_helpers/faults", w, **fault)
        elif step.verb in ("charge", "retry_charge"):
            self.charge(step, w)
        elif step.verb == "settle":
            intent = self.ids.get("payment_intent")
            if intent is None:
                raise SetupError(f"{w}: nothing was charged yet")
            outcome = {} if step.value == "bank" else {"outcome": step.value}
            self.call("post", f"/v1/test_helpers/payment_intents/{intent}/settle", w, **outcome)
        elif step.verb == "verify_microdeposits":
            intent = self.ids.get("setup_intent")
            if intent is None:
                raise SetupError(f"{w}: no SetupIntent waits for microdeposits")
            with self._client_errors():
                self.verification = verify(self.client, intent, **step.value)
        elif step.verb == "webhook_receiver":
            assert self.receiver is not None  # loading checked [given] webhooks = "delivered"
            self.receiver.go_down(step.value["count"], step.value.get("status", 500))
        self.deliver_webhooks(w)
        if step.expect is not None:
            self.check(step.expect, f"{w}.expect")

    def charge(self, step: Step, where: str) -> None:
        """The merchant's backend debits the account's PaymentMethod (`RelinkClient.charge`);
        `retry_charge` confirms the last (failed) PaymentIntent again."""
        pm = self.ids.get(f"payment_methods.{step.value}")
        if pm is None:
            raise SetupError(f"{where}: the account {step.value} has no PaymentMethod")
        again = self.ids.get("payment_intent") if step.verb == "retry_charge" else None
        if step.verb == "retry_charge" and again is None:
            raise SetupError(f"{where}: nothing was charged yet")
        with self._client_errors():
            payment = self.client.charge(
                self.ids["customer"], pm, int(step.params.get("amount", 1000)), payment_intent=again
            )
            self.ids["payment_intent"] = payment.payment_intent

    @contextmanager
    def _client_errors(self) -> Iterator[None]:
        try:
            yield
        except RelinkError as err:
            self.error = err.as_dict()
        except Exception as err:  # a crash of the client under test is its failure, reported
            self.error = {"step": "client crashed", "message": f"{type(err).__name__}: {err}"}

    def flow(self) -> None:
        f, c = self.s.flow, self.s.client
        customer = self.ids["customer"]
        start: SessionStart | None = None
        account = self.ids[f"accounts.{f.account}"]
        with self._client_errors():
            if f.from_watchlist:
                start = self.from_watchlist(account)
            elif f.stored_authorization:
                start = self.client.start_relink(
                    customer,
                    self.ids["authorization"],
                    c.use_case,
                    permissions=c.permissions,
                    account=account,
                    require_account=c.relink_account,
                )
            else:
                self.assessment = a = self.client.assess(account)
                if a.offer_relink and a.authorization is not None:
                    start = self.client.start_relink(
                        customer,
                        a.authorization,
                        c.use_case,
                        permissions=c.permissions,
                        account=account,
                        require_account=c.relink_account,
                    )
                elif a.decision is Decision.CONNECT_FROM_SCRATCH:
                    start = self.client.start_link(customer, c.use_case, permissions=c.permissions)
        if start is not None:
            self.ids["session"] = start.session
        if f.user is None:
            return
        if start is None:
            why = (
                f"the client's decision was {self.assessment.decision.value}"
                if self.assessment
                else "the client failed before opening a session"
            )
            self.mismatches.append(
                Mismatch("flow.user", f"a session for the user to {f.user}", "no session", why)
            )
            return
        if not self.user_completes(start):
            return
        with self._client_errors():
            self.resolution = r = self.client.resolve(
                start.session, start.existing_account_ids, c.use_case, repairing=start.repairing
            )
            if r.new_accounts:
                self.ids[f"accounts.{NEW}"] = r.new_accounts[0]
            if r.mandate_required and f.mandate == "accept":
                setup = self.client.set_up_payments(customer, r.new_accounts[0], ACCEPTANCE)
                self.ids[f"payment_methods.{NEW}"] = setup.payment_method
                self.ids["setup_intent"] = setup.setup_intent
            if f.fallback == "microdeposits" and not r.new_accounts:
                # The user linked nothing: the numbers typed by hand (Stripe's test account
                # that succeeds), verified with microdeposits.
                name = str(self.get(f"/v1/customers/{customer}")["name"])
                setup = fall_back(
                    self.client, customer, TEST_ROUTING, TEST_ACCOUNT, ACCEPTANCE, billing_name=name
                )
                self.ids[f"payment_methods.{NEW}"] = setup.payment_method
                self.ids["setup_intent"] = setup.setup_intent

    def from_watchlist(self, account: str) -> SessionStart | None:
        """What a webhook-driven backend does: act on the flag its handler recorded."""
        c = self.s.client
        mark = self.client.watchlist.flags.get(account)
        if mark is None:
            return None
        if mark.flag is Flag.NEEDS_NEW_LINK:
            return self.client.start_link(
                self.ids["customer"], c.use_case, permissions=c.permissions
            )
        if mark.flag is Flag.NEEDS_RELINK:
            return self.client.start_relink(
                self.ids["customer"],
                self.ids["authorization"],
                c.use_case,
                permissions=c.permissions,
                account=account,
            )
        return None

    def user_completes(self, start: SessionStart) -> bool:
        """What Stripe.js and the user do in the browser, done headlessly."""
        f = self.s.flow
        params: dict[str, Any] = {"outcome": f.user}
        if f.relink_accounts is not None:
            params["relink_accounts"] = [self.ids[f"accounts.{r}"] for r in f.relink_accounts]
        if f.new_account is not None:
            params["accounts"] = [{"subcategory": f.new_account}]
        if f.user == "link":
            params["institution"] = f.institution or self.s.given.institution
        try:
            self.call("post", f"{_TH}/sessions/{start.session}/complete", "flow.user", **params)
        except SetupError as err:
            # The client opened a session the user cannot finish this way (a wrong decision
            # shows up here): a failure of the client, not of the scenario.
            self.mismatches.append(
                Mismatch("flow.user", f"the user can {f.user}", "the flow refused it", str(err))
            )
            return False
        return True

    # ---- observations ----------------------------------------------------------------------

    def _resolve_ref(self, kind: str, ref: str | None) -> str | None:
        return self.ids.get(f"{kind}.{ref}" if ref else kind)

    def _baseline(self, where: str) -> Any:
        path = where.split("expect.", 1)[-1].split(".")
        cur: Any = self.baseline
        for part in path:
            if not isinstance(cur, Mapping) or part not in cur:
                return MISSING
            cur = cur[part]
        return cur

    def observe(self, key: str, sub: str | None = None) -> Any:
        """The current value of one observable (MISSING if it does not exist)."""
        fc = "/v1/financial_connections"
        if key == "decision":
            return self.assessment.decision.value if self.assessment else MISSING
        if key == "proactive":
            return self.assessment.proactive if self.assessment else MISSING
        if key == "resolution":
            return self.resolution.outcome.value if self.resolution else MISSING
        if key == "mandate_required":
            return self.resolution.mandate_required if self.resolution else MISSING
        if key == "error":
            return self.error if self.error is not None else MISSING
        if key == "payment":
            return self.observe_payment()
        if key == "verification":
            return asdict(self.verification) if self.verification else MISSING
        if key == "charge":
            intent = self.observe("payment_intent")
            if intent is MISSING or not intent.get("latest_charge"):
                return MISSING
            return self.get(f"/v1/charges/{intent['latest_charge']}")
        paths = {
            "payment_intent": ("payment_intent", "/v1/payment_intents/"),
            "session": ("session", f"{fc}/sessions/"),
            "authorization": ("authorization", f"{fc}/authorizations/"),
            "setup_intent": ("setup_intent", "/v1/setup_intents/"),
            "accounts": (f"accounts.{sub}", f"{fc}/accounts/"),
            "payment_methods": (f"payment_methods.{sub}", "/v1/payment_methods/"),
        }
        ref, prefix = paths[key]
        obj_id = self.ids.get(ref)
        return MISSING if obj_id is None else self.get(prefix + obj_id)

    def observe_payment(self) -> Any:
        """The client's reading of the last debit (`RelinkClient.payment`), read again now,
        with the last4 the charge was made with and whether it is the PaymentMethod's current
        one (a relinked Chase account charges with its new number)."""
        intent = self.ids.get("payment_intent")
        if intent is None:
            return MISSING
        payment = self.client.payment(intent)
        charge_id = self.get(f"/v1/payment_intents/{intent}").get("latest_charge")
        charge = self.get(f"/v1/charges/{charge_id}") if charge_id else {}
        details = (charge.get("payment_method_details") or {}).get("us_bank_account") or {}
        pm = self.get(f"/v1/payment_methods/{charge['payment_method']}") if charge else {}
        return {
            "payment_intent": payment.payment_intent,
            "status": payment.status,
            "decision": payment.decision.value,
            "failure_code": payment.reading.failure_code,
            "account": payment.reading.account,
            "payment_method": charge.get("payment_method"),
            "last4": details.get("last4"),
            "charged_current_last4": details.get("last4")
            == (pm.get("us_bank_account") or {}).get("last4"),
        }

    def check(self, expect: Mapping[str, Any], where: str) -> None:
        out: list[Mismatch] = []
        m = self.matcher
        if where == "expect" and self.error is not None and "error" not in expect:
            out.append(
                Mismatch(
                    "flow", "no error", _error_line(self.error), "the client raised it and stopped"
                )
            )
        for key, want in expect.items():
            w = f"{where}.{key}"
            if key in ("accounts", "payment_methods"):
                for ref, sub in want.items():
                    out += m.match(sub, self.observe(key, ref), f"{w}.{ref}")
            elif key == "events":
                out += self._check_events(want, w)
            elif key == "requests":
                out += self._check_requests(want, w)
            elif key == "watchlist":
                out += self._check_watchlist(want, w)
            elif key == "webhooks":
                out += self._check_webhooks(want, w)
            else:
                out += m.match(want, self.observe(key), w)
        self.mismatches.extend(out)

    def _check_events(self, want: Mapping[str, int], where: str) -> list[Mismatch]:
        seen = Counter(ev["type"] for ev in self.events() if ev["id"] not in self.given_events)
        return [
            Mismatch(f"{where}.{etype!r}", n, seen.get(etype, 0), "events after [given]")
            for etype, n in want.items()
            if seen.get(etype, 0) != n
        ]

    def _check_requests(self, want: Mapping[str, Any], where: str) -> list[Mismatch]:
        out: list[Mismatch] = []
        attempts = self.client.requests.attempts()[self.log_mark :]
        sent = {a.request_id for a in attempts if a.request_id}
        for req, spec in want.items():
            method, path = req.split(" ", 1)
            mine = [a for a in attempts if a.method == method and a.path == path]
            actual = {
                "attempts": len(mine),
                "statuses": [a.status for a in mine],
                "idempotency_keys": len({a.idempotency_key for a in mine if a.idempotency_key}),
                "created": len({a.object_id for a in mine if a.object_id}),
                "replayed": len(
                    [
                        a
                        for a in mine
                        if a.original_request is not None and a.original_request in sent
                    ]
                ),
            }
            for k, v in spec.items():
                if actual[k] != v:
                    out.append(
                        Mismatch(
                            f"{where}.{req!r}.{k}",
                            v,
                            actual[k],
                            "the client's requests after [given]",
                        )
                    )
        return out

    def _check_watchlist(self, want: Mapping[str, list[str]], where: str) -> list[Mismatch]:
        by_id = {v: k.split(".", 1)[1] for k, v in self.ids.items() if k.startswith("accounts.")}
        out = []
        for flag_name, refs in want.items():
            flagged = self.client.watchlist.accounts(Flag(flag_name))
            actual = sorted(by_id.get(a, a) for a in flagged)
            if actual != sorted(refs):
                out.append(
                    Mismatch(
                        f"{where}.{flag_name}",
                        sorted(refs),
                        actual,
                        "accounts the client's webhook handler flagged",
                    )
                )
        return out

    def _check_webhooks(self, want: Mapping[str, Any], where: str) -> list[Mismatch]:
        assert self.receiver is not None
        out: list[Mismatch] = []
        handled = Counter(h.type for h in self.receiver.handled[self.handled_mark :])
        for etype, n in want.get("delivered", {}).items():
            if handled.get(etype, 0) != n:
                out.append(
                    Mismatch(
                        f"{where}.delivered.{etype!r}",
                        n,
                        handled.get(etype, 0),
                        "events the client's handler verified and accepted after [given]",
                    )
                )
        if "journal" in want:
            journal = [a for a in self.journal() if a["seq"] > self.journal_mark]
            for etype, statuses in want["journal"].items():
                actual = [a["status_code"] for a in journal if a["type"] == etype]
                if actual != statuses:
                    out.append(
                        Mismatch(
                            f"{where}.journal.{etype!r}",
                            statuses,
                            actual,
                            "the fake's delivery attempts after [given]",
                        )
                    )
        if "pending_webhooks" in want:
            pending = sum(
                ev["pending_webhooks"] for ev in self.events() if ev["id"] not in self.given_events
            )
            if pending != want["pending_webhooks"]:
                out.append(
                    Mismatch(
                        f"{where}.pending_webhooks",
                        want["pending_webhooks"],
                        pending,
                        "summed over the events after [given]",
                    )
                )
        return out


def _error_line(err: Mapping[str, Any]) -> str:
    parts = [str(err.get(k)) for k in ("step", "http_status", "code") if err.get(k)]
    return " ".join(parts) + (f": {err['message']}" if err.get("message") else "")
