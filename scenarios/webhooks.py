"""How events reach the client's webhook handler in a scenario, and what `[expect] webhooks`
checks of it.

By default the runner replays them: after each step it signs every new event as Stripe does
(`fake_stripe.webhooks.signing.sign`) and calls the handler. With `[given] webhooks =
"delivered"` the fake delivers them: a `WebhookReceiver` on a loopback port, registered with
`POST /v1/webhook_endpoints`, the tenant's retry schedule shortened, and after each step a wait
until every event has been delivered (or given up).
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Mapping
from typing import Any

from .expect import Mismatch
from .observer import Observer
from .receiver import WebhookReceiver
from .relink_client import PREVIEW_VERSION, RelinkClient

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
# How long `settle` waits for the receiver's next answer before it asks the fake again. Every
# attempt, failed or not, ends in an answer of the receiver, so this bounds only the lag between
# an answer and the fake recording it; each question costs the fake (and the other scenarios on
# the same interpreter) a listing of the events since the last one and of the attempts since.
SETTLE_POLL = 0.01
# After an answer, the fake records the attempt once the response reaches it.
SETTLE_GRACE = 0.001


class Webhooks:
    """One scenario's webhooks; what differs from what was expected goes to `mismatches`."""

    def __init__(
        self, observer: Observer, client: RelinkClient, name: str, mismatches: list[Mismatch]
    ) -> None:
        self.observer = observer
        self.client = client
        self.name = name
        self.mismatches = mismatches
        self.delivered: set[str] = set()  # events replayed (or there before the scenario)
        # The newest event replayed or seen: a replay reads only the events after it, not the
        # tenant's whole list (each listed event carries its object) at every step.
        self.newest: str | None = None
        # Real delivery:
        self.receiver: WebhookReceiver | None = None
        self.endpoint: str | None = None
        self.endpoint_secret = ""
        self.before_endpoint: set[str] = set()  # events that are not the endpoint's to receive
        self.journal_mark = 0  # the delivery journal's last seq at the end of [given]
        # What `settle` has read so far; each look reads only what is new since the last one:
        # the events after `listed` (their `pending_webhooks` as listed) and the attempts after
        # `journal_read` (they never change). `unsettled`: events listed with deliveries still
        # owed (id -> type); `given_up`: an attempt failed and none is to follow; `succeeded`:
        # an attempt succeeded, so the event's `pending_webhooks` is worth reading again.
        self.listed: str | None = None
        self.unsettled: dict[str, str] = {}
        self.given_up: set[str] = set()
        self.succeeded: set[str] = set()
        self.journal_read = 0
        self.handled_mark = 0
        self.receiver_errors = 0

    def begin(self, delivered: bool) -> None:
        """At the start of [given]: a reused tenant (a fixed --seed against a long-running
        server) keeps its old events, which are not this run's to deliver or count."""
        events = self.observer.events()
        self.delivered = {ev["id"] for ev in events}
        self.newest = events[-1]["id"] if events else None
        if delivered:
            self.start_receiver()

    def end_of_given(self) -> None:
        """What [expect] webhooks counts from: the journal and the handler after [given]."""
        if self.receiver is not None:
            journal = self.observer.journal()
            self.journal_mark = journal[-1]["seq"] if journal else 0
            self.handled_mark = len(self.receiver.handled)

    def deliver(self, where: str) -> None:
        """Bring the client's webhook handler up to date with every event so far."""
        if self.receiver is not None:
            self.settle(where)
        else:
            self.replay()

    def replay(self) -> None:
        """Sign each new event as Stripe does and hand it to the client's webhook handler."""
        # Imported here: the signing module loads the fake's event models, which a run against
        # a fake at --base-url has no other use for.
        from fake_stripe.webhooks.signing import sign

        for ev in self.observer.events(newer_than=self.newest):
            self.newest = ev["id"]
            if ev["id"] in self.delivered:
                continue
            self.delivered.add(ev["id"])
            payload = json.dumps(ev)
            signature = sign(WEBHOOK_SECRET, int(time.time()), payload)
            try:
                self.client.handle_webhook(payload, signature, WEBHOOK_SECRET)
            except Exception as err:  # the handler under test failed on a genuine delivery
                self.mismatches.append(
                    Mismatch(
                        f"webhook {ev['type']} ({ev['id']})",
                        "handled",
                        f"{type(err).__name__}: {err}",
                        "the client's webhook handler raised",
                    )
                )

    def start_receiver(self) -> None:
        """The client's handler behind a local HTTP endpoint, registered for every event."""
        self.receiver = WebhookReceiver(
            lambda body, sig: self.client.handle_webhook(body, sig, self.endpoint_secret)
        )
        self.observer.call("post", "/_fake/webhooks/settings", "given.webhooks", **RETRY_SCHEDULE)
        before = self.observer.events()
        self.before_endpoint = {ev["id"] for ev in before}
        self.listed = before[-1]["id"] if before else None
        ep = self.observer.call(
            "post",
            "/v1/webhook_endpoints",
            "given.webhooks",
            url=self.receiver.url,
            enabled_events=["*"],
            api_version=PREVIEW_VERSION,
            description=f"fake-stripe scenario {self.name}",
        )
        self.endpoint, self.endpoint_secret = ep["id"], ep["secret"]

    def settle(self, where: str) -> None:
        """Wait until every event is delivered (`pending_webhooks` 0) or given up."""
        assert self.receiver is not None
        answered = self.receiver.answered
        deadline = time.monotonic() + SETTLE_TIMEOUT
        while True:
            answered.clear()  # an answer from now on wakes the wait below at once
            if not self._look():
                break
            if time.monotonic() > deadline:
                self.mismatches.append(
                    Mismatch(
                        f"{where}: webhook delivery",
                        "every event delivered or given up",
                        ", ".join(f"{t} ({e})" for e, t in self.unsettled.items()),
                        f"still pending after {SETTLE_TIMEOUT:g}s; is {self.receiver.url} "
                        "reachable from the fake?",
                    )
                )
                break
            if answered.wait(SETTLE_POLL):
                time.sleep(SETTLE_GRACE)
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

    def _look(self) -> bool:
        """Whether deliveries are still owed, from what changed since the last look: the new
        events, the new attempts, and the `pending_webhooks` of the unsettled events that an
        attempt has answered (an event may be owed to several endpoints)."""
        for ev in self.observer.events(newer_than=self.listed):
            self.listed = ev["id"]
            if ev["id"] not in self.before_endpoint and ev["pending_webhooks"] > 0:
                self.unsettled[ev["id"]] = ev["type"]
        if not self.unsettled:
            return False
        for a in self.observer.journal(after=self.journal_read):
            self.journal_read = a["seq"]
            if a["outcome"] == "succeeded":
                self.succeeded.add(a["event"])
            elif a["next_attempt_at"] is None:
                self.given_up.add(a["event"])
        for event in list(self.unsettled):
            if event in self.given_up:
                del self.unsettled[event]
            elif event in self.succeeded:
                ev = self.observer.get(f"/v1/events/{event}", "read an event")
                if ev["pending_webhooks"] == 0:
                    del self.unsettled[event]
        return bool(self.unsettled)

    def check(self, want: Mapping[str, Any], where: str, given_events: set[str]) -> list[Mismatch]:
        """`[expect] webhooks`: what the handler accepted, the journal, `pending_webhooks`,
        all after [given]."""
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
            journal = [a for a in self.observer.journal() if a["seq"] > self.journal_mark]
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
                ev["pending_webhooks"]
                for ev in self.observer.events(fresh=True)
                if ev["id"] not in given_events
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

    def close(self) -> None:
        """The fake stops retrying to a receiver that is about to go away."""
        try:
            if self.endpoint is not None:
                self.observer.delete_quietly(f"/v1/webhook_endpoints/{self.endpoint}")
        finally:
            if self.receiver is not None:
                self.receiver.close()
