"""`RelinkClient`: the relink integration of Stripe's relink guide (docs/api.md names it), on the
official `stripe` SDK (public preview).

The I/O around the pure rules of `decisions.py`: read the account and its authorization, create
the relink session, read the finished session, turn a newly linked account into a PaymentMethod
behind an accepted mandate, and keep a watchlist from verified webhooks. Every request carries the
`.preview` Stripe-Version the guide requires; 5xx answers and broken connections are retried by the
SDK with the same idempotency key; any other Stripe error surfaces as a `RelinkError`.
"""

from __future__ import annotations

import importlib
import json
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

import stripe

from .decisions import (
    PREVIEW_VERSION,
    Assessment,
    DebitDecision,
    DebitReading,
    Mark,
    Resolution,
    UseCase,
    Watchlist,
    apply_event,
    assess,
    needs_preview_read,
    read_debit,
    resolve,
    session_params,
    with_object,
)
from .errors import RelinkError
from .transport import RecordingHTTPClient, RequestLog, http_client_for

MAX_NETWORK_RETRIES = 2


@dataclass(frozen=True)
class SessionStart:
    """A session waiting for the user: hand `client_secret` to Stripe.js, keep the rest."""

    session: str
    client_secret: str
    use_case: UseCase
    authorization: str | None  # None for a session that connects from scratch
    existing_account_ids: tuple[str, ...]  # the authorization's accounts before the flow
    repairing: str | None = None  # the account the relink was started for


@dataclass(frozen=True)
class MandateAcceptance:
    """The user's acceptance of the ACH mandate, as the browser reported it."""

    ip_address: str
    user_agent: str

    def mandate_data(self) -> dict[str, Any]:
        """`mandate_data` for a mandate the customer accepted online."""
        return {
            "customer_acceptance": {
                "type": "online",
                "online": {"ip_address": self.ip_address, "user_agent": self.user_agent},
            }
        }


@dataclass(frozen=True)
class Payment:
    """A debit from a linked account, and what its state means (`decisions.read_debit`)."""

    payment_intent: str
    status: str
    reading: DebitReading

    @property
    def decision(self) -> DebitDecision:
        return self.reading.decision


@dataclass(frozen=True)
class PaymentSetup:
    payment_method: str
    setup_intent: str
    mandate: str | None


class RelinkClient:
    """One merchant backend's view of Stripe, for one API key."""

    def __init__(
        self,
        stripe_client: stripe.StripeClient,
        *,
        stripe_version: str = PREVIEW_VERSION,
        requests: RequestLog | None = None,
        clock: Callable[[], int] | None = None,
        on_close: Callable[[], None] | None = None,
    ) -> None:
        self.stripe = stripe_client
        self.stripe_version = stripe_version
        self.requests = requests or RequestLog()
        self.watchlist = Watchlist()
        self._clock = clock or (lambda: int(time.time()))
        self._on_close = on_close

    @classmethod
    def connect(
        cls,
        target: Any,
        api_key: str,
        *,
        stripe_version: str = PREVIEW_VERSION,
        max_network_retries: int = MAX_NETWORK_RETRIES,
        http_client: stripe.HTTPClient | None = None,
        clock: Callable[[], int] | None = None,
        retry_time_scale: float = 1.0,
    ) -> RelinkClient:
        """A client for a base URL (`https://api.stripe.com`, a fake's URL) or an ASGI app.

        An app is reached in-process through `fake_stripe.sdk.http_client` (imported only then:
        a merchant's production path never loads the fake). `retry_time_scale` scales the SDK's
        back-off between retries (1, the default, keeps the SDK's own delays).
        """
        owned = http_client is None  # close only what this call created
        if http_client is None:
            if isinstance(target, str):
                http_client = http_client_for(target)
            else:
                http_client = _fake_sdk().http_client(target)
        base = target if isinstance(target, str) else _in_process_base()
        log = RequestLog()
        recording = RecordingHTTPClient(http_client, log, retry_time_scale)
        sdk = stripe.StripeClient(
            api_key,
            base_addresses={"api": base},
            stripe_version=stripe_version,
            max_network_retries=max_network_retries,
            http_client=recording,
        )
        return cls(
            sdk,
            stripe_version=stripe_version,
            requests=log,
            clock=clock,
            on_close=recording.close if owned else None,
        )

    def close(self) -> None:
        if self._on_close is not None:
            self._on_close()
            self._on_close = None

    def __enter__(self) -> RelinkClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _step(self, step: str) -> Iterator[None]:
        try:
            yield
        except stripe.StripeError as err:
            raise RelinkError.from_stripe(step, err, self.stripe_version) from err

    # ---- 1. understand when an account becomes inactive ------------------------------------

    def assess(self, account_id: str) -> Assessment:
        """Read the account and its authorization; decide healthy / relink / from scratch."""
        fc = self.stripe.v1.financial_connections
        with self._step("retrieve account"):
            account = fc.accounts.retrieve(account_id).to_dict()
        authorization = None
        auth_id = account.get("authorization")
        if auth_id:
            with self._step("retrieve authorization"):
                authorization = fc.authorizations.retrieve(auth_id).to_dict()
        try:
            return assess(account, authorization, self._clock())
        except ValueError as err:
            raise RelinkError("assess account", str(err)) from err

    def existing_account_ids(self, customer: str, authorization: str) -> list[str]:
        """The relink guide's `fetch_existing_accounts()`: the authorization's accounts now."""
        with self._step("list accounts"):
            page = self.stripe.v1.financial_connections.accounts.list(
                params={"account_holder": {"customer": customer}, "limit": 100}
            )
            return [
                a.id
                for a in page.auto_paging_iter()
                if a.to_dict(recursive=False).get("authorization") == authorization
            ]

    # ---- 2. create the session -------------------------------------------------------------

    def start_relink(
        self,
        customer: str,
        authorization: str,
        use_case: UseCase,
        *,
        account: str | None = None,
        require_account: bool = False,
        permissions: Sequence[str] = ("balances",),
        idempotency_key: str | None = None,
    ) -> SessionStart:
        """A relink session for `authorization`, started to repair `account` if given.

        With `require_account`, the session sends `relink_options[account]`: the user must
        repair that very account (a different pick fails with `no_account`). Without it, as in
        the relink guide, the user may pick another account, which `resolve` reports.
        """
        if require_account and account is None:
            raise ValueError("require_account needs the account to repair")
        existing = self.existing_account_ids(customer, authorization)
        params = session_params(
            customer,
            use_case,
            authorization=authorization,
            account=account if require_account else None,
            permissions=permissions,
        )
        start = self._create_session(
            "create relink session", params, use_case, authorization, existing, idempotency_key
        )
        return replace(start, repairing=account)

    def start_link(
        self,
        customer: str,
        use_case: UseCase,
        *,
        permissions: Sequence[str] = ("balances",),
        idempotency_key: str | None = None,
    ) -> SessionStart:
        """A session to connect an account from scratch (the usual flow, with the bank picker)."""
        params = session_params(customer, use_case, permissions=permissions)
        return self._create_session("create session", params, use_case, None, [], idempotency_key)

    def _create_session(
        self,
        step: str,
        params: dict[str, Any],
        use_case: UseCase,
        authorization: str | None,
        existing: Sequence[str],
        idempotency_key: str | None,
    ) -> SessionStart:
        options: dict[str, Any] = {}
        if idempotency_key is not None:
            options["idempotency_key"] = idempotency_key
        with self._step(step):
            session = self.stripe.v1.financial_connections.sessions.create(
                params=params,  # type: ignore[arg-type]
                options=options,  # type: ignore[arg-type]
            )
        if not session.client_secret:
            raise RelinkError(step, f"session {session.id} came back without a client_secret")
        return SessionStart(
            session.id, session.client_secret, use_case, authorization, tuple(existing)
        )

    # ---- 3. after the authentication flow --------------------------------------------------

    def resolve(
        self,
        session_id: str,
        existing_account_ids: Sequence[str],
        use_case: UseCase,
        browser_error: str | None = None,
        repairing: str | None = None,
    ) -> Resolution:
        """Read the finished session; reload what came back. See `decisions.resolve`."""
        with self._step("retrieve session"):
            session = self.stripe.v1.financial_connections.sessions.retrieve(session_id)
        resolution = resolve(
            session.to_dict(), existing_account_ids, use_case, browser_error, repairing
        )
        if resolution.ok:
            for account_id in resolution.accounts:
                self.reload_account(account_id)
        return resolution

    def reload_account(self, account_id: str) -> stripe.financial_connections.Account:
        with self._step("reload account"):
            account = self.stripe.v1.financial_connections.accounts.retrieve(account_id)
        if account.status == "active":
            self.watchlist.flags.pop(account.id, None)
        return account

    def set_up_payments(
        self,
        customer: str,
        account_id: str,
        acceptance: MandateAcceptance,
        *,
        billing_name: str | None = None,
    ) -> PaymentSetup:
        """After the user accepted the mandate: PaymentMethod from the account, SetupIntent with
        `mandate_data` (the relink guide's "convert the newly created Financial Connections account
        into a Payment Method")."""
        v1 = self.stripe.v1
        if billing_name is None:
            with self._step("retrieve customer"):
                billing_name = v1.customers.retrieve(customer).name
        if not billing_name:
            raise RelinkError(
                "create payment method",
                f"customer {customer} has no name, which a us_bank_account "
                "PaymentMethod needs as billing_details[name]",
            )
        with self._step("create payment method"):
            pm = v1.payment_methods.create(
                params={
                    "type": "us_bank_account",
                    "us_bank_account": {"financial_connections_account": account_id},
                    "billing_details": {"name": billing_name},
                }
            )
        with self._step("confirm setup intent"):
            si = v1.setup_intents.create(
                params={  # type: ignore[arg-type]
                    "customer": customer,
                    "payment_method": pm.id,
                    "payment_method_types": ["us_bank_account"],
                    "confirm": True,
                    "mandate_data": acceptance.mandate_data(),
                }
            )
        if si.status != "succeeded":
            raise RelinkError(
                "confirm setup intent", f"setup intent {si.id} is {si.status}, not succeeded"
            )
        mandate = si.mandate if isinstance(si.mandate, str) or si.mandate is None else si.mandate.id
        return PaymentSetup(pm.id, si.id, mandate)

    # ---- payments ----------------------------------------------------------------------------

    def charge(
        self,
        customer: str,
        payment_method: str,
        amount: int,
        *,
        currency: str = "usd",
        payment_intent: str | None = None,
    ) -> Payment:
        """Debit the customer's linked account off-session, under the mandate accepted when the
        PaymentMethod was set up; with `payment_intent`, confirm that (failed) intent again.

        A refusal at confirm (HTTP 402, a blocked PaymentMethod) is an answer, not an error:
        its PaymentIntent is read like any other. ACH settles later: `payment` reads it then.
        """
        v1 = self.stripe.v1
        try:
            with self._step("charge"):
                if payment_intent is None:
                    pi = v1.payment_intents.create(
                        params={
                            "amount": amount,
                            "currency": currency,
                            "customer": customer,
                            "payment_method": payment_method,
                            "confirm": True,
                            "off_session": True,
                        }
                    )
                else:
                    pi = v1.payment_intents.confirm(
                        payment_intent,
                        params={"payment_method": payment_method, "off_session": True},
                    )
        except RelinkError as err:
            refused = _refused_intent(err)
            if refused is None:
                raise
            return Payment(str(refused["id"]), str(refused["status"]), read_debit(refused))
        return self._payment(pi.to_dict())

    def payment(self, payment_intent: str) -> Payment:
        """Read a debit again (after the bank answered, or on a webhook)."""
        with self._step("retrieve payment"):
            pi = self.stripe.v1.payment_intents.retrieve(payment_intent)
        return self._payment(pi.to_dict())

    def _payment(self, pi: dict[str, Any]) -> Payment:
        reading = read_debit(pi)
        if reading.account is not None and reading.decision is DebitDecision.PAID:
            self.watchlist.flags.pop(reading.account, None)
        return Payment(str(pi["id"]), str(pi["status"]), reading)

    # ---- webhooks ----------------------------------------------------------------------------

    def handle_webhook(self, payload: str | bytes, signature: str, secret: str) -> Mark | None:
        """Verify a delivery (`stripe.WebhookSignature.verify_header`, the check
        `construct_event` makes) and update the watchlist.

        Raises `stripe.SignatureVerificationError` for a forged or stale delivery: answer it
        with 400 so Stripe keeps retrying a genuine one. The event is read as the JSON it is:
        the decisions take plain dicts, and an SDK object of every event delivered, made only
        to be turned back into a dict, cost more than the rest of handling it.
        """
        # (its tolerance given: without one, `verify_header` accepts a signature of any age)
        stripe.WebhookSignature.verify_header(
            payload, signature, secret, stripe.Webhook.DEFAULT_TOLERANCE
        )
        event = json.loads(payload)
        if not isinstance(event, dict):
            raise ValueError("a webhook's payload is a JSON object")
        if event.get("id") in self.watchlist.seen_events:
            return None
        account_id = needs_preview_read(event)
        if account_id is not None:
            with self._step("read the event's account"):
                account = self.stripe.v1.financial_connections.accounts.retrieve(account_id)
            event = with_object(event, account.to_dict())
        return apply_event(self.watchlist, event)


def _refused_intent(err: RelinkError) -> dict[str, Any] | None:
    """The PaymentIntent inside a 402 refusal (Stripe sends it in the error)."""
    cause = err.__cause__
    if err.http_status != 402 or not isinstance(cause, stripe.StripeError):
        return None
    body: dict[str, Any] = cause.json_body if isinstance(cause.json_body, dict) else {}
    error = body.get("error")
    intent = error.get("payment_intent") if isinstance(error, dict) else None
    return intent if isinstance(intent, dict) else None


def _fake_sdk() -> Any:
    # Imported by name, only for an in-process target: the client depends on nothing of the
    # fake but its public SDK adapter, and a production path never loads it.
    return importlib.import_module("fake_stripe.sdk")


def _in_process_base() -> str:
    return str(_fake_sdk().IN_PROCESS_BASE)
