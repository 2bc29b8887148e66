"""A tenant's webhook settings (`/_fake/webhooks/settings`): its opt-in fault modes and its
overrides of the server's retry schedule, each within `schedule.BOUNDS`."""

from __future__ import annotations

import dataclasses
from typing import Any

from pydantic import Field

from ..core.objects import Model
from .schedule import BOUNDS, RetrySchedule


def _bounded(name: str) -> Any:
    low, high = BOUNDS[name]
    return Field(default=None, ge=low, le=high, allow_inf_nan=False)


class Settings(Model):
    """A tenant's opt-in fault modes and its overrides of the server's retry schedule."""

    duplicate: bool = False
    shuffle: bool = False
    shuffle_window: float = Field(default=0.25, ge=0.0, le=BOUNDS["shuffle_window"][1])
    base_delay: float | None = _bounded("base_delay")
    factor: float | None = _bounded("factor")
    max_attempts: int | None = _bounded("max_attempts")
    time_scale: float | None = _bounded("time_scale")
    timeout: float | None = _bounded("timeout")

    def schedule(self, default: RetrySchedule) -> RetrySchedule:
        overrides = {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(RetrySchedule)
            if getattr(self, f.name) is not None
        }
        return dataclasses.replace(default, **overrides)
