"""Financial Connections objects: account, authorization, session, ownership, owner, transaction.

Shapes follow the recorded private-preview spec. The relink surface (`account.authorization`,
session `relink_options`/`relink_result`/`status`, the authorization's `account_holder` and
`institution`) is rendered only for a `.preview` `Stripe-Version`; a GA reader sees the GA shapes
of the official GA SDKs. `account.status_details` reached GA on `2026-06-24` (stripe-node 22.3.0)
with its `active` part only: a GA reader from that date sees `status_details.active`, never
`inactive`.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from ..core.objects import Model, StripeObject
from ..core.versions import is_preview

Action = Literal["none", "relink_required"]
InactiveCause = Literal[
    "access_denied",
    "access_expired",
    "account_closed",
    "account_unavailable",
    "institution_requirement",
    "unspecified",
]
ActiveCause = Literal["access_expired", "institution_requirement", "unspecified"]
Category = Literal["cash", "credit", "investment", "other"]
Subcategory = Literal["checking", "credit_card", "line_of_credit", "mortgage", "other", "savings"]
# The GA version date from which accounts carry `status_details` (stripe-node 22.3.0, pinned to
# `2026-06-24.dahlia`: "Add support for `status_details` on `FinancialConnections.Account`").
STATUS_DETAILS_GA = "2026-06-24"
PERMISSIONS = ("balances", "ownership", "payment_method", "transactions")
SUBCATEGORIES = ("checking", "credit_card", "line_of_credit", "mortgage", "savings")


class AccountHolder(Model):
    type: Literal["account", "customer"]
    customer: str | None = None
    account: str | None = None

    def to_api(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True)


class InactiveDetails(Model):
    action: Action
    cause: InactiveCause


class AccountActiveDetails(Model):
    action: Action
    cause: ActiveCause
    expected_deactivation_date: int


class AccountStatusDetails(Model):
    active: AccountActiveDetails | None = None
    inactive: InactiveDetails | None = None


class AuthorizationActiveDetails(Model):
    action: Action
    expected_deactivation_date: int


class AuthorizationInactiveDetails(Model):
    action: Action


class AuthorizationStatusDetails(Model):
    active: AuthorizationActiveDetails | None = None
    inactive: AuthorizationInactiveDetails | None = None


class AccountNumber(Model):
    expected_expiry_date: int | None
    identifier_type: Literal["account_number", "tokenized_account_number"]
    status: Literal["deactivated", "transactable"]
    supported_networks: list[str] = ["ach"]


class Balance(Model):
    as_of: int
    cash: dict[str, Any] | None = None
    credit: dict[str, Any] | None = None
    current: dict[str, int]
    type: Literal["cash", "credit"]


class Refresh(Model):
    last_attempted_at: int
    next_refresh_available_at: int | None
    status: Literal["failed", "pending", "succeeded"]


class TransactionRefresh(Refresh):
    id: str


def _drop_none_hashes(data: dict[str, Any], *names: str) -> None:
    for name in names:
        value = data.get(name)
        if isinstance(value, dict):
            for k in [k for k, v in value.items() if v is None]:
                del value[k]


class Account(StripeObject):
    kind: ClassVar[str] = "financial_connections.account"
    prefix: ClassVar[str] = "fca"
    noun: ClassVar[str] = "financial_connections.account"
    internal: ClassVar[frozenset[str]] = frozenset(
        {"institution_id", "payment_methods", "tan_generation", "routing_number"}
    )
    preview: ClassVar[frozenset[str]] = frozenset(
        {"authorization", "status_details", "institution", "inferred_balances_refresh"}
    )
    ga_since: ClassVar[dict[str, str]] = {"status_details": STATUS_DETAILS_GA}
    expandable: ClassVar[dict[str, str]] = {
        "ownership": "financial_connections.account_ownership",
        "institution": "financial_connections.institution",
        "account_holder.customer": "customer",
    }
    indexed: ClassVar[tuple[str, ...]] = ("account_holder.customer", "account_holder.account")

    object: str = "financial_connections.account"
    account_holder: AccountHolder | None
    account_numbers: list[AccountNumber] | None
    authorization: str
    balance: Balance | None = None
    balance_refresh: Refresh | None = None
    category: Category = "cash"
    created: int
    display_name: str | None
    inferred_balances_refresh: Refresh | None = None
    institution: str | None
    institution_name: str
    last4: str | None
    livemode: bool = False
    ownership: str | None = None
    ownership_refresh: Refresh | None = None
    permissions: list[str] | None
    status: Literal["active", "disconnected", "inactive"] = "active"
    status_details: AccountStatusDetails = AccountStatusDetails()
    subcategory: Subcategory
    subscriptions: list[str] | None = []
    supported_payment_method_types: list[str] = ["us_bank_account"]
    transaction_refresh: TransactionRefresh | None = None
    # internal
    institution_id: str
    payment_methods: list[str] = []
    tan_generation: int = 0
    routing_number: str = ""

    def adjust(self, data: dict[str, Any], version: str) -> dict[str, Any]:
        if data.get("account_holder") is not None and self.account_holder is not None:
            data["account_holder"] = self.account_holder.to_api()
        if "status_details" in data:
            if not is_preview(version):
                # GA's StatusDetails has only `active` (stripe-python 16.1.0, stripe-node 23.1.0).
                data["status_details"].pop("inactive", None)
            _drop_none_hashes(data, "status_details")
        _drop_none_hashes(data, "balance")
        return data


class Authorization(StripeObject):
    kind: ClassVar[str] = "financial_connections.authorization"
    prefix: ClassVar[str] = "fcauth"
    noun: ClassVar[str] = "financial_connections.authorization"
    internal: ClassVar[frozenset[str]] = frozenset({"account_ids", "created"})
    # GA has the object (in events) but not these fields (stripe-node 23.1.0 Authorization).
    preview: ClassVar[frozenset[str]] = frozenset({"account_holder", "institution"})
    expandable: ClassVar[dict[str, str]] = {
        "institution": "financial_connections.institution",
        "account_holder.customer": "customer",
    }

    object: str = "financial_connections.authorization"
    account_holder: AccountHolder | None
    institution: str | None
    institution_name: str
    livemode: bool = False
    status: Literal["active", "disconnected", "inactive"] = "active"
    status_details: AuthorizationStatusDetails = AuthorizationStatusDetails()
    account_ids: list[str] = []
    created: int = 0

    def adjust(self, data: dict[str, Any], version: str) -> dict[str, Any]:
        if "account_holder" in data and self.account_holder is not None:
            data["account_holder"] = self.account_holder.to_api()
        _drop_none_hashes(data, "status_details")
        return data


class SessionFilters(Model):
    account_subcategories: list[str] | None = None
    countries: list[str] | None = None
    institution: str | None = None
    require_payment_method_support: str | None = None


class RelinkOptions(Model):
    authorization: str
    account: str | None = None


class RelinkResult(Model):
    account: str | None = None
    authorization: str | None = None
    failure_reason: Literal["no_account", "no_authorization", "other"] | None = None


class SessionAccounts(Model):
    object: str = "list"
    data: list[Account] = []
    has_more: bool = False
    url: str = "/v1/financial_connections/accounts"


class Session(StripeObject):
    kind: ClassVar[str] = "financial_connections.session"
    prefix: ClassVar[str] = "fcsess"
    noun: ClassVar[str] = "financial_connections.session"
    internal: ClassVar[frozenset[str]] = frozenset(
        {"account_ids", "created", "institution_id", "error_message"}
    )
    omit_if_none: ClassVar[frozenset[str]] = frozenset(
        {
            "filters",
            "limits",
            "manual_entry",
            "relink_options",
            "relink_result",
            "return_url",
            "status_details",
            "hosted",
        }
    )
    preview: ClassVar[frozenset[str]] = frozenset(
        {"relink_options", "relink_result", "status", "status_details", "ui_mode", "hosted", "url"}
    )
    expandable: ClassVar[dict[str, str]] = {"account_holder.customer": "customer"}
    rendered_apart: ClassVar[dict[str, Any]] = {"accounts": {"data"}}

    object: str = "financial_connections.session"
    account_holder: AccountHolder | None
    accounts: SessionAccounts = SessionAccounts()
    client_secret: str | None
    filters: SessionFilters | None = None
    hosted: dict[str, Any] | None = None
    limits: dict[str, int] | None = None
    livemode: bool = False
    manual_entry: dict[str, str] | None = None
    permissions: list[str]
    prefetch: list[str] | None = None
    relink_options: RelinkOptions | None = None
    relink_result: RelinkResult | None = None
    return_url: str | None = None
    status: Literal["cancelled", "failed", "pending", "succeeded"] = "pending"
    status_details: dict[str, Any] | None = None
    ui_mode: Literal["hosted", "modal"] = "modal"
    url: str | None = None
    # internal
    account_ids: list[str] = []
    created: int = 0
    institution_id: str | None = None
    error_message: str | None = None

    @property
    def is_relink(self) -> bool:
        return self.relink_options is not None

    def adjust(self, data: dict[str, Any], version: str) -> dict[str, Any]:
        if self.account_holder is not None:
            data["account_holder"] = self.account_holder.to_api()
        listed = data["accounts"]
        data["accounts"] = {
            "object": listed.pop("object"),
            "data": [a.to_api(version) for a in self.accounts.data],
            **listed,
        }
        filters = data.get("filters")
        if isinstance(filters, dict):
            for k in ("institution", "require_payment_method_support"):
                if filters.get(k) is None:
                    filters.pop(k, None)
            # GUESS (D10): both spellings, as stripe-node's preview types have them (the
            # preview spec names `countries`; stripe-python's SDKs read `country`): `country`
            # is the one country filtered on, null when there are none or several.
            countries = filters.get("countries")
            one = countries[0] if isinstance(countries, list) and len(countries) == 1 else None
            data["filters"] = dict(sorted({**filters, "country": one}.items()))
        return data

    @property
    def account_limit(self) -> int | None:
        """`limits[accounts]`: how many accounts the user may select."""
        return (self.limits or {}).get("accounts")

    @property
    def allowed_subcategories(self) -> list[str] | None:
        """`filters[account_subcategories]`: the kinds of account the user may select."""
        return self.filters.account_subcategories if self.filters else None

    def allows(self, subcategory: str) -> bool:
        allowed = self.allowed_subcategories
        return not allowed or subcategory in allowed


class AccountOwner(Model):
    id: str
    object: str = "financial_connections.account_owner"
    email: str | None
    name: str
    ownership: str
    phone: str | None
    raw_address: str | None
    refreshed_at: int | None


class AccountOwnership(StripeObject):
    kind: ClassVar[str] = "financial_connections.account_ownership"
    prefix: ClassVar[str] = "fcaowns"
    noun: ClassVar[str] = "financial_connections.account_ownership"

    object: str = "financial_connections.account_ownership"
    created: int
    owners: dict[str, Any]
    owner_list: list[AccountOwner] = []

    internal: ClassVar[frozenset[str]] = frozenset({"owner_list"})


class StatusTransitions(Model):
    posted_at: int | None
    void_at: int | None


class Transaction(StripeObject):
    kind: ClassVar[str] = "financial_connections.transaction"
    prefix: ClassVar[str] = "fctxn"
    noun: ClassVar[str] = "financial_connections.transaction"
    indexed: ClassVar[tuple[str, ...]] = ("account",)

    object: str = "financial_connections.transaction"
    account: str
    amount: int
    currency: str = "usd"
    description: str
    livemode: bool = False
    status: Literal["pending", "posted", "void"]
    status_transitions: StatusTransitions
    transacted_at: int
    transaction_refresh: str
    updated: int
