"""Financial Connections sessions: create (with `relink_options` under a preview version) and
retrieve. Completion is the end user's doing: see `completion.complete`.
"""

from __future__ import annotations

from typing import Any

from ..core.context import Ctx
from ..core.errors import InvalidRequestError, ParamError, missing_param
from ..core.params import UNSET, Arr, Enum, Hash, Int, Spec, Str, check
from ..resources import customers
from .common import load_authorization
from .completion import relinkable, with_accounts
from .institutions import bank
from .objects import (
    PERMISSIONS,
    SUBCATEGORIES,
    AccountHolder,
    RelinkOptions,
    Session,
    SessionFilters,
)

_HOLDER = Hash(
    {
        "type": Enum(("account", "customer")),
        "customer": Str(),
        "account": Str(),
        "customer_account": Str(),
    },
    required=("type",),
)
# GUESS (docs/guesses.md): `permissions`, `prefetch` and `account_subcategories` are sets: a
# value named twice counts once.
_GA_FIELDS = {
    "account_holder": _HOLDER,
    "permissions": Arr(Enum(PERMISSIONS), unique=True),
    "filters": Hash(
        {
            "account_subcategories": Arr(Enum(SUBCATEGORIES), unique=True),
            "countries": Arr(Str()),
            # GUESS (D10): the GA SDK sends the singular `country`.
            "country": Str(),
        }
    ),
    "prefetch": Arr(Enum(("balances", "ownership", "transactions")), unique=True),
    "return_url": Str(),
    "limits": Hash({"accounts": Int(1, 100, emptyable=True)}, required=("accounts",)),
    "expand": Arr(Str()),
}
GA = Spec(_GA_FIELDS, required=("account_holder", "permissions"))
PREVIEW = Spec(
    {
        **_GA_FIELDS,
        "filters": Hash(
            {
                "account_subcategories": Arr(Enum(SUBCATEGORIES), unique=True),
                "countries": Arr(Str()),
                "country": Str(),
                "institution": Str(),
                "require_payment_method_support": Enum(("all", "at_least_one", "none")),
            }
        ),
        "prefetch": Arr(
            Enum(("balances", "inferred_balances", "ownership", "transactions")), unique=True
        ),
        "relink_options": Hash(
            {"authorization": Str(), "account": Str()}, required=("authorization",)
        ),
        "ui_mode": Enum(("hosted", "modal")),
        "hosted": Hash({"delivery_method": Enum(("email", "url"))}),
        "manual_entry": Hash({"mode": Enum(("automatic", "custom", "disabled"))}),
    },
    required=("permissions",),
)
# The route's own spec accepts anything; `new_session` checks against GA or PREVIEW by version.
CREATE = Spec({}, open=True)


def _holder(ctx: Ctx, raw: dict[str, Any]) -> AccountHolder:
    if raw["type"] == "customer":
        if not raw.get("customer"):
            raise missing_param("account_holder[customer]")
        if raw.get("account"):
            raise ParamError(
                "account_holder[account] is only available when type is account.",
                param="account_holder[account]",
            )
        cus = customers.load(ctx, raw["customer"], "account_holder[customer]")
        return AccountHolder(type="customer", customer=cus.id)
    if not raw.get("account"):
        raise missing_param("account_holder[account]")
    if raw.get("customer"):
        raise ParamError(
            "account_holder[customer] is only available when type is customer.",
            param="account_holder[customer]",
        )
    return AccountHolder(type="account", account=raw["account"])


def new_session(ctx: Ctx, raw: dict[str, Any]) -> Session:
    """A session made from the request's parameters (checked here, by version) and stored."""
    p = check(PREVIEW if ctx.preview else GA, raw)
    permissions = p["permissions"]
    if not permissions:
        raise missing_param("permissions")
    holder = _holder(ctx, p["account_holder"]) if "account_holder" in p else None
    relink = None
    if "relink_options" in p:
        relink = _relink_options(ctx, p["relink_options"], holder)
        if holder is None:
            auth = load_authorization(ctx, relink.authorization)
            holder = auth.account_holder  # GUESS (D4): derived from the authorization
    elif p.get("hosted", {}).get("delivery_method"):
        raise ParamError(
            "hosted[delivery_method] can only be used if relink_options is provided.",
            param="hosted[delivery_method]",
        )
    if holder is None:
        raise missing_param("account_holder")
    if p.get("ui_mode") == "hosted" and not p.get("hosted"):
        raise missing_param("hosted")
    filters = p.get("filters")
    institution = None
    if filters and filters.get("institution"):
        institution = bank(filters["institution"], "filters[institution]").id
    limits = p.get("limits")
    sid = ctx.tenant.new_id("fcsess")
    session = Session(
        id=sid,
        account_holder=holder,
        client_secret=ctx.tenant.client_secret(sid),
        filters=SessionFilters(
            account_subcategories=filters.get("account_subcategories"),
            countries=filters.get("countries")
            or ([filters["country"]] if filters.get("country") else None),
            institution=filters.get("institution"),
            require_payment_method_support=filters.get("require_payment_method_support"),
        )
        if filters
        else None,
        limits={"accounts": limits["accounts"]}
        if limits and limits.get("accounts") not in (None, UNSET)
        else None,
        manual_entry=p.get("manual_entry"),
        permissions=permissions,
        prefetch=p.get("prefetch") or None,
        relink_options=relink,
        return_url=p.get("return_url"),
        ui_mode=p.get("ui_mode", "modal"),
        hosted={"delivery_method": p["hosted"].get("delivery_method"), "return_url": None}
        if p.get("hosted")
        else None,
        created=ctx.now(),
        institution_id=institution,
    )
    ctx.tenant.put(session)
    return session


def _relink_options(ctx: Ctx, raw: dict[str, Any], holder: AccountHolder | None) -> RelinkOptions:
    param = "relink_options[authorization]"
    auth = load_authorization(ctx, raw["authorization"], param)
    if auth.status == "disconnected":
        raise InvalidRequestError(
            f"The authorization {auth.id} is disconnected and cannot be relinked. Collect a "
            "new account with a session without relink_options.",
            param=param,
        )
    inactive = auth.status_details.inactive
    if auth.status == "inactive" and inactive is not None and inactive.action == "none":
        # Stripe's relink guide: action `none` means relink is impossible; connect from scratch.
        raise InvalidRequestError(
            f"The authorization {auth.id} cannot be relinked (status_details.inactive.action "
            "is none). Collect a new account with a session without relink_options.",
            param=param,
        )
    if (
        holder is not None
        and auth.account_holder is not None
        and (
            holder.customer != auth.account_holder.customer
            or holder.account != auth.account_holder.account
        )
    ):
        raise InvalidRequestError(
            f"The authorization {auth.id} belongs to another account holder than account_holder.",
            param=param,
        )
    account = raw.get("account")
    if account is not None and account not in auth.account_ids:
        raise InvalidRequestError(
            f"The account {account} does not belong to the authorization {auth.id}.",
            param="relink_options[account]",
        )
    if account is not None and account not in {a.id for a in relinkable(ctx, auth)}:
        raise InvalidRequestError(
            f"The account {account} cannot be relinked: it is closed or disconnected.",
            param="relink_options[account]",
        )
    return RelinkOptions(authorization=auth.id, account=account)


def load(ctx: Ctx, session_id: str, param: str = "id") -> Session:
    return ctx.tenant.load(Session, session_id, param)


def retrieve(ctx: Ctx, p: dict[str, Any]) -> Session:
    return with_accounts(ctx, load(ctx, ctx.path["session"]))


def create(ctx: Ctx, p: dict[str, Any]) -> Session:
    return with_accounts(ctx, new_session(ctx, p))
