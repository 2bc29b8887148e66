"""Playing scenarios: set up [given] through the fake's test helpers, run the relink client
through the flow, check every expectation, and report what differed.

Each scenario runs in its own tenant (its own `sk_test_…` key), so scenarios run in parallel
against one app or one server. Two SDK clients share that key: the merchant's `RelinkClient`
(whose request log the `requests` expectations read) and an observer the runner uses to set up
state, play the institution and the clock, act as the user in the flow and read objects back.

Beside this module: [given] set up (`given.py`), the observer's requests (`observer.py`),
events replayed to the client's webhook handler or delivered by the fake (`webhooks.py`), and
the checks read from the client's side (`checks.py`).
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any

from .checks import check_events, check_requests, check_watchlist, error_line
from .expect import MISSING, Matcher, Mismatch
from .given import ACCEPTANCE, TEST_HELPERS, baseline, set_up
from .model import NEW, Scenario, Step
from .observer import Observer, SetupError
from .relink_client import (
    Assessment,
    Decision,
    Flag,
    RelinkError,
    Resolution,
    SessionStart,
    Verification,
    fall_back_to_microdeposits,
    verify_microdeposits,
)
from .target import Target
from .webhooks import Webhooks

# Stripe's ACH test routing number and the test account number whose debits succeed: what the
# customer types when the flow's fallback takes the numbers by hand.
TYPED_ACCOUNT = ("110000000", "000123456789")


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
    """Every scenario, `workers` at a time; results in the order given.

    With more than one worker, the scenarios whose webhooks the fake delivers start first: most
    of their time is spent waiting for deliveries, which then overlaps the others' work instead
    of being the tail of the run."""
    items = list(scenarios)
    lock = threading.Lock()

    def one(s: Scenario) -> Result:
        r = play(s, target, seed)
        if on_done is not None:
            with lock:
                on_done(r)
        return r

    if workers <= 1:
        return [one(s) for s in items]
    order = waiting_first(items)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {i: pool.submit(one, items[i]) for i in order}
        return [futures[i].result() for i in range(len(items))]


def play(scenario: Scenario, target: Target, seed: int | None = None) -> Result:
    """`run_scenario`, a crash of the runner itself reported as the scenario's error."""
    try:
        return run_scenario(scenario, target, seed=seed)
    except Exception as err:  # a bug in the runner must not hide the other results
        return Result(scenario, "error", 0.0, error=f"runner crashed: {type(err).__name__}: {err}")


def waiting_first(items: list[Scenario]) -> list[int]:
    """The order to start scenarios in: those whose webhooks the fake delivers first (most of
    their time is spent waiting for deliveries, which then overlaps the others' work)."""
    return sorted(range(len(items)), key=lambda i: items[i].given.webhooks != "delivered")


# ---- one scenario ----------------------------------------------------------------------------


class _Play:
    def __init__(self, scenario: Scenario, target: Target, key: str) -> None:
        self.s = scenario
        self.observer = Observer(target, key)
        self.call, self.get = self.observer.call, self.observer.get
        self.client = target.connect(key, scenario.client.stripe_version, clock=self.observer.now)
        self.ids: dict[str, str] = {}  # "customer", "authorization", "accounts.x", ...
        self.mismatches: list[Mismatch] = []
        self.baseline: dict[str, Any] = {}
        self.given_events: set[str] = set()
        self.log_mark = 0
        self.assessment: Assessment | None = None
        self.resolution: Resolution | None = None
        self.verification: Verification | None = None
        self.error: dict[str, Any] | None = None
        self.matcher = Matcher(self._resolve_ref, self._baseline)
        self.webhooks = Webhooks(self.observer, self.client, scenario.name, self.mismatches)

    def close(self) -> None:
        try:
            self.webhooks.close()
        finally:
            self.client.close()
            self.observer.close()

    # ---- phases ----------------------------------------------------------------------------

    def run(self) -> None:
        self.given()
        for step in self.s.happens:
            self.step(step)
        self.flow()
        self.webhooks.deliver("flow")
        self.check(self.s.expect, "expect")
        for step in self.s.then:
            self.step(step)

    def given(self) -> None:
        g = self.s.given
        self.webhooks.begin(g.webhooks == "delivered")
        self.ids.update(set_up(self.observer, g))
        self.webhooks.deliver("given")
        self.given_events = {ev["id"] for ev in self.observer.events()}
        self.webhooks.end_of_given()
        self.log_mark = len(self.client.requests.attempts())
        self.baseline = baseline(self.observer, g, self.ids)

    def step(self, step: Step) -> None:
        w, p = step.where, dict(step.params)
        if step.verb in ("deactivate", "schedule_deactivation", "expire_account_numbers"):
            account = self.ids[f"accounts.{step.value}"]
            self.call("post", f"{TEST_HELPERS}/accounts/{account}/{step.verb}", w, **p)
        elif step.verb == "deactivate_authorization":
            auth = self.get(
                f"/v1/financial_connections/accounts/{self.ids['accounts.' + step.value]}", w
            )["authorization"]
            self.call("post", f"{TEST_HELPERS}/authorizations/{auth}/deactivate", w, **p)
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
                self.verification = verify_microdeposits(self.client, intent, **step.value)
        elif step.verb == "webhook_receiver":
            receiver = self.webhooks.receiver
            assert receiver is not None  # loading checked [given] webhooks = "delivered"
            receiver.go_down(step.value["count"], step.value.get("status", 500))
        self.webhooks.deliver(w)
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
                setup = fall_back_to_microdeposits(
                    self.client, customer, *TYPED_ACCOUNT, ACCEPTANCE, billing_name=name
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
            self.call(
                "post", f"{TEST_HELPERS}/sessions/{start.session}/complete", "flow.user", **params
            )
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
                    "flow", "no error", error_line(self.error), "the client raised it and stopped"
                )
            )
        for key, want in expect.items():
            w = f"{where}.{key}"
            if key in ("accounts", "payment_methods"):
                for ref, sub in want.items():
                    out += m.match(sub, self.observe(key, ref), f"{w}.{ref}")
            elif key == "events":
                out += check_events(self.observer.events(), self.given_events, want, w)
            elif key == "requests":
                out += check_requests(self.client.requests.attempts()[self.log_mark :], want, w)
            elif key == "watchlist":
                out += check_watchlist(self.client.watchlist, self.ids, want, w)
            elif key == "webhooks":
                out += self.webhooks.check(want, w, self.given_events)
            else:
                out += m.match(want, self.observe(key), w)
        self.mismatches.extend(out)
