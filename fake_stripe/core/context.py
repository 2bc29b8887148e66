"""What a handler sees of its request (`Ctx`), how an endpoint is declared (`Endpoint`), and
what the wire layer needs of the server that runs it (`Services`)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from .clock import Clock
from .errors import StripeError
from .eventlog import EventLog, Recorded
from .faults import Faults
from .lanes import Lanes
from .params import Spec
from .raw import RawObject
from .store import Backend
from .tenant import StagedTenant, Tenant
from .versions import is_preview

if TYPE_CHECKING:
    from .objects import StripeObject


class Expansions(Protocol):
    """What `expand[]` knows beyond the models' own `expandable`: for an object kind and a
    field (dotted, relative to the object), the object kinds the field's id may name; None
    when the field does not expand."""

    def targets(self, kind: str, field: str) -> frozenset[str] | None: ...


@dataclass
class Ctx:
    """One request, as its handler sees it: the tenant (writes staged until the request
    succeeds), the API version, the request's ids, and the server's event log and faults."""

    tenant: StagedTenant
    version: str
    request_id: str
    path: dict[str, str]
    events: EventLog
    faults: Faults
    # Work run before the handler, after what the tenant clock has due.
    due: Sequence[Callable[[Ctx], None]] = ()
    idempotency_key: str | None = None
    key: str = ""
    # True while the fake acts on its own (an institution event, the clock): events it records
    # carry no request id. Set only through `acting_alone`.
    background: bool = False
    # The account's default version (the server's `--api-version`): Stripe renders events at it,
    # whatever version the request that caused them sent.
    account_version: str = ""
    # Fields `expand[]` may follow beyond what the models declare (the generic resources).
    expansions: Expansions | None = None
    # False on a server reachable beyond loopback: webhook endpoints must then point at public
    # addresses (`resources/webhook_urls.py`).
    allow_private_webhooks: bool = True
    # True while the request runs on the event loop itself (a light request under a server):
    # work the clock has due must then run on a worker thread instead (the wire layer moves
    # the request there).
    on_loop: bool = False
    # The scheme and host the request came in on, read when asked for (building the request's
    # URL costs more than most reads): addresses the fake serves itself (the hosted microdeposit
    # page) are built on it, as Stripe.js is.
    request_origin: Callable[[], str] | None = None

    @property
    def origin(self) -> str:
        return "" if self.request_origin is None else self.request_origin()

    @property
    def preview(self) -> bool:
        return is_preview(self.version)

    @property
    def publishable(self) -> bool:
        """Whether the request came with a publishable key (Stripe.js)."""
        return self.key.startswith("pk_")

    @property
    def clock(self) -> Clock:
        return self.tenant.clock

    def now(self) -> int:
        return self.tenant.clock.now()

    def emit(
        self,
        type: str,
        obj: StripeObject | RawObject,
        previous_attributes: dict[str, Any] | None = None,
        stored: str | None = None,
    ) -> Recorded:
        """Record an event caused by this request (or, inside `acting_alone`, by nobody).
        `stored`: `obj`'s JSON as `tenant.put` returned it, `obj` unchanged since (the event's
        snapshot is that JSON: serialized once)."""
        return self.events.emit(
            self.tenant,
            type,
            obj,
            version=self.account_version or self.version,
            request_id=None if self.background else self.request_id,
            idempotency_key=None if self.background else self.idempotency_key,
            previous_attributes=previous_attributes,
            stored=stored,
        )

    @contextlib.contextmanager
    def acting_alone(self, alone: bool = True) -> Iterator[None]:
        """Within the block, what happens is the fake's own doing (the institution, the clock),
        or, with `alone=False`, the request's again."""
        before, self.background = self.background, alone
        try:
            yield
        finally:
            self.background = before

    def run_due(self, clock_due: bool = True) -> None:
        """What is due before the handler: the tenant clock's schedules (unless the caller
        just found nothing due), then the server's `due` work."""
        if clock_due:
            self.tenant.clock.run_due(self)
        for work in self.due:
            work(self)


@dataclass(frozen=True)
class Failed:
    """What a handler returns for a request that fails after changing state that stands (a
    debit the bank refused, a bank that failed the Stripe.js sign-in): the answer is `error`,
    and the request's writes are committed with it. A raised error changes nothing."""

    error: StripeError


Handler = Callable[[Ctx, dict[str, Any]], Any]


@dataclass
class Endpoint:
    method: str
    path: str
    handler: Handler
    params: Spec = field(default_factory=lambda: Spec({}))
    keys: tuple[str, ...] = ("sk", "rk")
    status: int = 200
    # Sent with every answer of the endpoint (`Fake-Stripe-Model: generic`).
    headers: dict[str, str] = field(default_factory=dict)
    # Bounded small work: a GET of one object of bounded size, or a write of one small object.
    # It may run on the event loop itself, saving the hand-off to a worker thread, when the
    # store cannot make it wait (`Services.quiet`) and the request is small (a GET with no
    # parameters, a write with a short body).
    light: bool = False
    # Work with an effect that no rollback undoes (a fault rule added, a host name resolved):
    # never tried on the event loop. Any other request that is not light is tried there within
    # a budget (`wire.LOOP_BUDGET`), and starts again on a worker thread if it runs over.
    worker: bool = False


class Services(Protocol):
    """What the wire layer needs of the server (`FakeStripe` provides it)."""

    api_version: str
    events: EventLog
    faults: Faults
    due: list[Callable[[Ctx], None]]
    expansions: Expansions | None
    allow_private_webhooks: bool
    lanes: Lanes
    backend: Backend
    strict: bool  # responses are checked against the spec (`check_response`)

    def tenant(self, name: str) -> Tenant: ...

    def request_id(self) -> str: ...

    def wall_now(self) -> int: ...

    def quiet(self, write: bool = False) -> bool:
        """Whether a light request may run on the event loop: the store's reads (and, for a
        `write`, its writes) wait for no lock of another process and do no network I/O. (Should
        the tenant clock have work due, the request moves to a worker thread: `Ctx.on_loop`.)"""
        ...

    def check_response(self, method: str, path: str, status: int, body: Any) -> list[str]: ...
