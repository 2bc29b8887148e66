"""A schemathesis run against a strict app: its settings, one case sent and checked, and the
totals. Shared by tests/test_schemathesis.py (the modelled operations) and
tests/test_schemathesis_generic.py."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import schemathesis
from schemathesis.core.transport import Response as StResponse

from fake_stripe import create_app
from fake_stripe.inprocess import InProcessTransport, LoopThread

from .fuzz_checks import WRAPPED
from .fuzz_wire import as_sent, send


def config(max_examples: int) -> Any:
    return schemathesis.Config.from_dict(
        {
            "generation": {
                "mode": "all",
                "max-examples": max_examples,
                "database": "none",
                "deterministic": True,
                # The tenant key is always sent (auth is checked by `ignored_auth` on its own).
                "with-security-parameters": False,
            },
            # Links would need the test helpers (not in Stripe's spec) to create linked
            # accounts; the tenant world gives every operation existing objects instead.
            "phases": {"stateful": {"enabled": False}},
        }
    )


def start(
    document: Mapping[str, Any], max_examples: int, seed: int, auth: Mapping[str, str]
) -> tuple[Any, Run, httpx.Client]:
    """The schema to parametrize with, the run (a strict app of `seed`), and a client of the
    app for building the world."""
    app = create_app(seed=seed, strict=True)
    schema = schemathesis.openapi.from_dict(dict(document), config=config(max_examples))
    # Checks that send requests of their own (ignored_auth, ...) send them into the same app.
    schema.app = app
    loop = LoopThread()
    client = httpx.Client(
        transport=InProcessTransport(app, loop=loop),
        base_url="http://fake-stripe.local",
        headers=dict(auth),
    )
    return schema, Run(app, loop, auth), client


@dataclass
class Run:
    """The cases of one run, per operation, and their answers."""

    app: Any
    loop: LoopThread
    auth: Mapping[str, str]
    counts: Counter[str] = field(default_factory=Counter)
    answers: Counter[tuple[str, int]] = field(default_factory=Counter)  # (operation, status)
    started: list[float] = field(default_factory=list)

    def check(self, case: Any, extra: Callable[[Any, StResponse], None] | None = None) -> None:
        """Send `case` and run every check on its answer (the wrapped ones, no strict-mode
        violation, and `extra`)."""
        if not self.started:
            self.started.append(time.perf_counter())
        self.counts[case.operation.label] += 1
        response, headers = send(self.app, self.loop, case, self.auth)
        self.answers[(case.operation.label, response.status_code)] += 1
        try:
            case.validate_response(
                response,
                excluded_checks=list(WRAPPED),
                additional_checks=list(WRAPPED.values()),
                headers=headers,
                transport_kwargs={"app": self.app, "headers": headers},
            )
            violations = response.headers.get("x-fake-stripe-violations")
            assert not violations, violations
            if extra is not None:
                extra(case, response)
        except BaseException as exc:
            exc.add_note(as_sent(response))
            raise

    def report(self, labels: Iterable[str], title: str, min_cases: int) -> None:
        """Print the totals; fail below `min_cases`, skip when only part of the run ran."""
        wanted = set(labels)
        if set(self.counts) != wanted:
            pytest.skip("only part of the run was selected; the budget applies to the whole run")
        total = sum(self.counts.values())
        elapsed = time.perf_counter() - self.started[0]
        report = "\n".join(
            f"  {self.counts[label]:5d}  {label}  ("
            + ", ".join(
                f"{status}: {n}" for (op, status), n in sorted(self.answers.items()) if op == label
            )
            + ")"
            for label in sorted(wanted)
        )
        print(
            f"\n{title}: {total} cases over {len(wanted)} operations in {elapsed:.0f} s\n{report}"
        )
        assert total >= min_cases, f"only {total} cases (the bar is {min_cases})\n{report}"
        assert not self.app.fake.violations, self.app.fake.violations
