"""When failed webhook attempts go again: the server's `RetrySchedule`, and the bounds of it and
of a tenant's settings (`BOUNDS`, `webhooks.settings`), within which no retry time can
overflow."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

# Bounds of every retry-schedule and fault setting (a tenant's through
# `/_fake/webhooks/settings`, the server's through `create_app` or `Deliveries.configure`).
# Within them no retry time can overflow, and the longest wait is checked on its own.
BOUNDS: dict[str, tuple[float, float]] = {
    "base_delay": (0.0, 86_400.0),
    "factor": (0.0, 100.0),
    "max_attempts": (1, 100),
    "time_scale": (0.0, 1_000.0),
    "timeout": (0.001, 300.0),
    "shuffle_window": (0.0, 3_600.0),
}
MAX_RETRY_WAIT = 30 * 86_400.0  # seconds between two attempts, at most
# With a store other processes share: a dead process's deliveries are taken over after about
# this long, and every third of it each process renews its leases and looks for expired ones.
LEASE_SECONDS = 30.0


class ScheduleError(ValueError):
    """A setting out of its bounds; `param` names it."""

    def __init__(self, param: str, message: str) -> None:
        super().__init__(message)
        self.param = param


def check_bounds(name: str, value: float) -> None:
    low, high = BOUNDS[name]
    if not (math.isfinite(value) and low <= value <= high):
        raise ScheduleError(name, f"{name} must be between {low:g} and {high:g}.")


@dataclass(frozen=True)
class RetrySchedule:
    """When failed attempts are retried: `base_delay * factor**(n-1) * time_scale` seconds
    after failed attempt n, for at most `max_attempts` attempts in all.

    The default follows Stripe's test mode ("three retries over a few hours"; the exact
    intervals are not published): 1 min, 10 min, 100 min. `time_scale=0.001` makes that
    60 ms, 0.6 s, 6 s. `timeout` (seconds, never scaled) bounds one attempt.
    """

    base_delay: float = 60.0
    factor: float = 10.0
    max_attempts: int = 4
    time_scale: float = 1.0
    timeout: float = 10.0  # GUESS: Stripe does not publish its webhook timeout

    def delay(self, failed_attempt: int) -> float:
        # Bounded all the same: a schedule checked once may be combined later with another
        # tenant's or server's overrides.
        try:
            wait = self.base_delay * self.factor ** (failed_attempt - 1) * self.time_scale
        except OverflowError:
            wait = MAX_RETRY_WAIT
        return min(wait, MAX_RETRY_WAIT)

    def check(self) -> RetrySchedule:
        """Itself, or ScheduleError naming the first setting out of bounds."""
        for f in dataclasses.fields(self):
            check_bounds(f.name, getattr(self, f.name))
        retries = max(1, int(self.max_attempts) - 1)
        last = self.base_delay * self.factor ** (retries - 1) * self.time_scale
        longest = max(self.delay(1), last)
        if longest > MAX_RETRY_WAIT:
            raise ScheduleError(
                "max_attempts" if self.factor > 1 else "base_delay",
                f"The retry schedule's longest wait would be {longest:.3g} seconds; it can be "
                f"at most {MAX_RETRY_WAIT:g} seconds (30 days). Lower base_delay, factor, "
                "time_scale or max_attempts.",
            )
        return self
