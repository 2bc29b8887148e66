"""Test helpers for any tenant: its clock (advance, read) and injected faults."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from ..core.context import Ctx
from ..core.errors import ParamError
from ..core.faults import MAX_GLOB, Rule
from ..core.params import Enum, Int, Spec, Str

ADVANCE = Spec({"seconds": Int(0, 10 * 365 * 86_400)}, required=("seconds",))
FAULT = Spec(
    {
        "method": Enum(("GET", "POST", "DELETE", "*")),
        "path": Str(max_length=MAX_GLOB),
        "count": Int(1, 1000),
        "status": Enum(("429", "500", "502", "503")),
        "delay_ms": Int(0, 30_000),
        "when": Enum(("before", "after")),
    },
    required=("path",),
)


class TenantClock(BaseModel):
    object: str = "test_helpers.tenant_clock"
    now: int


def advance_clock(ctx: Ctx, p: dict[str, Any]) -> TenantClock:
    ctx.clock.advance(p["seconds"])
    ctx.run_due()
    return TenantClock(now=ctx.now())


def clock(ctx: Ctx, p: dict[str, Any]) -> TenantClock:
    return TenantClock(now=ctx.now())


class FaultRule(BaseModel):
    object: str = "test_helpers.fault"
    method: str
    path: str
    count: int
    status: int | None
    delay_ms: int
    when: str


def add_fault(ctx: Ctx, p: dict[str, Any]) -> FaultRule:
    status = int(p["status"]) if "status" in p else None
    delay = p.get("delay_ms", 0)
    if status is None and not delay:
        raise ParamError("Give a status, a delay_ms, or both.", param="status")
    when = p.get("when", "before")
    if when == "after" and status is None:
        raise ParamError(
            "when=after needs a status: the response is replaced by it.", param="status"
        )
    rule = Rule(p.get("method", "*"), p["path"], p.get("count", 1), status, delay, when)
    ctx.faults.add(ctx.tenant.name, rule)
    return fault_rule(rule)


def fault_rule(rule: Rule) -> FaultRule:
    """An armed rule as the API shows it (`count`: the requests it still applies to)."""
    return FaultRule(
        method=rule.method,
        path=rule.path,
        count=rule.remaining,
        status=rule.status,
        delay_ms=rule.delay_ms,
        when=rule.when,
    )
