"""What the tenant clock does for Financial Connections: an announced deactivation happens, and a
tokenized account number is about to expire (the warning event) or expires.

Items are `[due, what, target, extra]`: `deactivate` an authorization (extra: its cause and
action), or `tan_warning` / `tan_expiry` of an account (extra: the number's generation, so an
item for a number renewed since is stale). They are stored under `schedule`, the name they had
before the tenant clock's schedules were named, so stores keep what is pending.
"""

from __future__ import annotations

from ..core.clock import Item, Schedule
from ..core.context import Ctx
from .common import CLOCK
from .deactivation import deactivate_authorization
from .numbers import expire_account_numbers
from .objects import Account, Authorization


def fire(ctx: Ctx, items: list[Item]) -> None:
    for _when, what, target, extra in items:
        if what == "deactivate":
            auth = ctx.tenant.get(Authorization, target)
            if auth is None or auth.status != "active" or auth.status_details.active is None:
                continue
            # Deactivation replaces every status_details, the announced `active` one included.
            action = extra.get("action", "relink_required")
            deactivate_authorization(ctx, auth, extra["cause"], action)
            continue
        account = ctx.tenant.get(Account, target)
        if account is None or account.tan_generation != extra or account.status == "disconnected":
            continue  # numbers were renewed since: this item is stale
        if what == "tan_warning":
            ctx.emit("financial_connections.account.upcoming_account_number_expiry", account)
        elif what == "tan_expiry":
            expire_account_numbers(ctx, account)


SCHEDULE: Schedule[Ctx] = Schedule(CLOCK, "schedule", fire)
