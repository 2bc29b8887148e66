"""`FakeStripe`: the server's state and services: the store and its tenants, the event log,
injected faults, webhook delivery, request ids and the strict-mode response check."""

from __future__ import annotations

import hashlib
import json
import logging
import random
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .core import kinds, turns
from .core.clock import Schedule, by_name
from .core.context import Ctx, Expansions
from .core.eventlog import EventLog, Recorded
from .core.faults import Faults
from .core.lanes import Lanes
from .core.render import Encoded
from .core.store import Backend
from .core.tenant import StagedTenant, Tenant
from .webhooks.schedule import LEASE_SECONDS, RetrySchedule

if TYPE_CHECKING:
    from .webhooks.delivery import Deliveries

log = logging.getLogger("fake_stripe")

TENANT_CACHE = 10_000

Validator = Callable[[str, str, int, Any], list[str]]

# Where each kind's model is defined, and its objects' id prefix: a module is imported when its
# model is first asked for (`core.kinds.expect`). `tests/test_lazy_start.py` checks that this
# lists every model, as defined.
MODELS: dict[str, tuple[str, str]] = {
    "event": ("evt", "fake_stripe.core.events"),
    "webhook_endpoint": ("we", "fake_stripe.resources.webhook_endpoints"),
    "webhook_delivery": ("", "fake_stripe.webhooks.delivery"),
    "financial_connections.account": ("fca", "fake_stripe.financial_connections.objects"),
    "financial_connections.authorization": ("fcauth", "fake_stripe.financial_connections.objects"),
    "financial_connections.session": ("fcsess", "fake_stripe.financial_connections.objects"),
    "financial_connections.account_ownership": (
        "fcaowns",
        "fake_stripe.financial_connections.objects",
    ),
    "financial_connections.transaction": ("fctxn", "fake_stripe.financial_connections.objects"),
    "financial_connections.institution": (
        "fcinst",
        "fake_stripe.financial_connections.institutions",
    ),
    "customer": ("cus", "fake_stripe.resources.customer_object"),
    "payment_method": ("pm", "fake_stripe.resources.payment_methods"),
    "charge": ("ch", "fake_stripe.payments.objects"),
    "payment_intent": ("pi", "fake_stripe.payments.objects"),
    "mandate": ("mandate", "fake_stripe.payments.objects"),
    "setup_attempt": ("setatt", "fake_stripe.payments.objects"),
    "setup_intent": ("seti", "fake_stripe.payments.objects"),
}
kinds.expect(MODELS)
# The fields each kind's model indexes (`StripeObject.indexed`), as a store opened is told of
# them (`core.indexes`): known without importing the models, which a store indexed for other
# fields imports to index its objects again. `tests/test_lazy_start.py` checks them.
INDEXED: dict[str, tuple[str, ...]] = {
    "event": ("type",),
    "financial_connections.account": ("account_holder.customer", "account_holder.account"),
    "financial_connections.transaction": ("account",),
    "customer": ("email",),
    "payment_method": ("customer", "type"),
    "charge": ("customer", "payment_intent"),
    "payment_intent": ("customer",),
    "mandate": ("payment_method",),
    "setup_intent": ("customer", "payment_method"),
}

# What the tenant clock runs when it is due, before each request's handler: each floor's
# schedule (`SCHEDULE` in its module, which `tests/test_lazy_start.py` checks these match),
# named here so that its module is imported only when something of it first comes due.
SCHEDULES: dict[str, Schedule[Ctx]] = by_name(
    Schedule(
        "financial_connections", "schedule", "fake_stripe.financial_connections.schedule:fire"
    ),
    Schedule("ach", "ach_schedule", "fake_stripe.payments.ach:settle_due"),
    Schedule(
        "microdeposits", "microdeposit_schedule", "fake_stripe.payments.microdeposits:expire_due"
    ),
)


class FakeStripe:
    """Server-wide state: the store, the seed, the default version, strict mode, delivery."""

    def __init__(
        self,
        backend: Backend,
        seed: int | None,
        api_version: str,
        frozen_at: int | None,
        strict: bool,
        control_token: str | None,
        webhook_retry_schedule: RetrySchedule | None = None,
        webhook_lease_seconds: float | None = None,
        allow_private_webhooks: bool = True,
        worker_threads: bool = True,
    ) -> None:
        self.backend = backend
        self.seed = (
            seed
            if seed is not None
            else int.from_bytes(hashlib.sha256(str(time.time_ns()).encode()).digest()[:4], "big")
        )
        self.api_version = api_version
        self.frozen_at = frozen_at
        self.strict = strict
        self.control_token = control_token
        self.allow_private_webhooks = allow_private_webhooks
        self.events = EventLog()
        self.faults = Faults()
        self.lanes = Lanes(threads=worker_threads)
        self.validator: Validator | None = None
        self.schedules = SCHEDULES
        # More work to run before each request's handler, after the clock's.
        self.due: list[Callable[[Ctx], None]] = []
        # What `expand[]` follows beyond the models (the generic resources, when served).
        self.expansions: Expansions | None = None
        self.violations: list[str] = []
        # Set by each of several server processes sharing a store, so request ids stay unique.
        self.instance = ""
        self._tenants: OrderedDict[str, Tenant] = OrderedDict()
        self._tenants_lock = threading.Lock()
        self.started = time.time()
        self.closed = False
        # Checked now: a schedule out of bounds fails `create_app` (ScheduleError).
        self._retry_schedule = (webhook_retry_schedule or RetrySchedule()).check()
        self._lease_seconds = webhook_lease_seconds or LEASE_SECONDS
        self._webhooks: Deliveries | None = None
        # Reentrant: the lease watcher holds it while delivery starts and resumes (`webhooks`
        # takes it again), so that `close` comes before or after, never between.
        self._webhooks_lock = threading.RLock()
        self._watching = threading.Event()  # set: the lease watcher stops
        self.events.routers.append(self._route_event)
        # Webhook delivery (its modules, pydantic's among them, and its thread) starts with the
        # first event or the first use. A file or database may also hold deliveries owed before
        # a restart, or by another process that died: resumed now if any lease has lapsed, and
        # looked for every third of the lease time until delivery starts (then its engine looks).
        if backend.shared:
            if backend.any_expired(time.time()):
                self.webhooks.resume_pending()
            else:
                threading.Thread(
                    target=self._watch_leases, name="fake-stripe-leases", daemon=True
                ).start()

    @property
    def webhooks(self) -> Deliveries:
        """Webhook delivery, started on first use."""
        found = self._webhooks
        if found is None:
            with self._webhooks_lock:
                found = self._webhooks
                if found is None:
                    if not turns.imported("fake_stripe.webhooks.delivery"):
                        turns.before_import()
                    from .webhooks.delivery import Deliveries

                    found = self._webhooks = Deliveries(
                        self.backend,
                        self._settled_tenant,
                        self.seed,
                        self._retry_schedule,
                        self._lease_seconds,
                        self.allow_private_webhooks,
                    )
                    self._watching.set()
                    routers = self.events.routers
                    if self._route_event in routers:  # events go to delivery directly now
                        routers[routers.index(self._route_event)] = found.route
                    if self.closed:
                        found.close()  # asked for after `close`: nothing may start
                    elif self.backend.shared:
                        found.engine.start()  # it renews leases and takes over lapsed ones
        return found

    def _watch_leases(self) -> None:
        """Until webhook delivery starts: every third of the lease time, whether a lease has
        lapsed (a process that shared the store died owing deliveries); if one has, delivery
        starts and takes it over."""
        while not self._watching.wait(self._lease_seconds / 3):
            try:
                lapsed = self.backend.any_expired(time.time())
            except Exception as exc:  # the store unreachable for now: look again later
                if self._watching.is_set():
                    return  # closed meanwhile
                log.warning("looking for lapsed webhook delivery leases failed (%s)", exc)
                continue
            if lapsed:
                with self._webhooks_lock:
                    # Closed meanwhile, its leases released: claiming them now would hold them
                    # from every other process until they lapse again.
                    if not self.closed and self._webhooks is None:
                        try:
                            self.webhooks.resume_pending()
                        except Exception as exc:  # its engine, started, claims them later
                            log.warning("resuming lapsed webhook deliveries failed (%s)", exc)
                return

    def _route_event(self, tenant: StagedTenant, ev: Recorded) -> None:
        self.webhooks.route(tenant, ev)

    def tenant(self, name: str) -> Tenant:
        # The most recently used tenants, at most TENANT_CACHE: one entry per key ever seen
        # would grow without bound, and a Tenant is cheap to make again (its state is in the
        # store). Called from the request loop and the delivery thread alike.
        with self._tenants_lock:
            t = self._tenants.get(name)
            if t is None:
                t = Tenant(self.backend, name, self.seed, self.frozen_at, self.schedules)
                self._tenants[name] = t
                if len(self._tenants) > TENANT_CACHE:
                    self._tenants.popitem(last=False)
            else:
                self._tenants.move_to_end(name)
            return t

    def _settled_tenant(self, name: str) -> Tenant:
        """A tenant as webhook delivery reads it: it hears of events from inside the request's
        transaction (so deliveries are stored with the request, or not at all), on a thread and
        a connection of its own that see only what was committed, so it first waits for that."""
        self.backend.settle(name)
        return self.tenant(name)

    def reset(self, name: str | None) -> None:
        self.backend.reset(name)
        self.faults.reset(name)
        if self._webhooks is not None:
            self._webhooks.reset(name)

    def close(self) -> None:
        """Stop delivering (pending deliveries stay stored, their leases released), stop the
        request workers and close the store (the one given to `create_app` too). Closing
        again does nothing."""
        if self.closed:
            return
        with self._webhooks_lock:
            self.closed = True
            webhooks = self._webhooks
            self._watching.set()
        if webhooks is not None:
            webhooks.close()
        self.lanes.close()
        self.backend.close()

    @property
    def instance(self) -> str:
        return self._instance

    @instance.setter
    def instance(self, name: str) -> None:
        # Request ids: 56 random bits each (14 hex digits, as long as Stripe's), from a
        # generator seeded by the server's seed and its instance, so a seeded server answers
        # the same ids in the same order. A third of a microsecond each, where a digest per id
        # took 0.8 µs.
        self._instance = name
        self._request_ids = random.Random(f"{self.seed}{name}:req")

    def request_id(self) -> str:
        return f"req_{self._request_ids.getrandbits(56):014x}"

    def quiet(self, write: bool = False) -> bool:
        # A write may wait for another process's lock in every shared store.
        return self.backend.inline_reads and not (write and self.backend.shared)

    def wall_now(self) -> int:
        return int(time.time()) if self.frozen_at is None else self.frozen_at

    def check_response(self, method: str, path: str, status: int, body: Any) -> list[str]:
        if not self.strict or self.validator is None:
            return []
        if isinstance(body, Encoded):
            body = json.loads(body.json)
        found = self.validator(method, path, status, body)
        if found:
            log.warning("response violates the recorded spec: %s %s: %s", method, path, found)
            self.violations.extend(f"{method} {path}: {v}" for v in found)
        return found
