"""What every Financial Connections module uses: loading accounts and authorizations, and the
name their timed work has on the tenant clock (`schedule.py` registers it)."""

from __future__ import annotations

from ..core.context import Ctx
from .objects import Account, Authorization

DAY = 86_400
# Scheduled deactivations and account-number expiries (`core.clock`).
CLOCK = "financial_connections"


def load_account(ctx: Ctx, account_id: str, param: str = "id") -> Account:
    return ctx.tenant.load(Account, account_id, param)


def load_authorization(ctx: Ctx, auth_id: str, param: str = "id") -> Authorization:
    # GUESS: an unknown authorization is a 404 `resource_missing` naming the parameter, even
    # inside a body (`relink_options[authorization]`), where Stripe answers most unknown ids
    # with a 400.
    return ctx.tenant.load(Authorization, auth_id, param, 404)
