"""The institutions catalog (the same for every tenant) and its list/retrieve endpoints.

Stable ids, listed in docs/api.md. Chase and PNC issue tokenized account numbers (TANs);
Down Bank (Error) always fails authentication, like Stripe's test institution of that name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from ..core.context import Ctx
from ..core.errors import resource_missing
from ..core.objects import StripeObject
from ..core.params import PAGINATION, Spec
from ..core.render import Page
from .objects import Subcategory


class Institution(StripeObject):
    kind: ClassVar[str] = "financial_connections.institution"
    prefix: ClassVar[str] = "fcinst"
    noun: ClassVar[str] = "financial_connections.institution"

    object: str = "financial_connections.institution"
    countries: list[str] = ["US"]
    features: dict[str, dict[str, bool]]
    livemode: bool = False
    name: str
    routing_numbers: list[str]
    status: str = "active"
    url: str | None

    @classmethod
    def fetch(cls, tenant: Any, obj_id: str) -> StripeObject | None:
        b = BY_ID.get(obj_id)
        return None if b is None else b.institution


@dataclass(frozen=True)
class Offer:
    """An account the institution shows in its account picker."""

    display_name: str
    subcategory: Subcategory
    mask: str


@dataclass(frozen=True)
class Bank:
    institution: Institution
    tokenized: bool
    fails: bool
    offers: tuple[Offer, ...]

    @property
    def id(self) -> str:
        return self.institution.id


def _features(supported: bool = True) -> dict[str, dict[str, bool]]:
    return {
        f: {"supported": supported}
        for f in ("balances", "ownership", "payment_method", "transactions")
    }


_STANDARD = (
    Offer("Checking", "checking", "6789"),
    Offer("Savings", "savings", "4321"),
    Offer("Credit Card", "credit_card", "1111"),
)


def _bank(
    iid: str,
    name: str,
    routing: str,
    url: str | None,
    *,
    tokenized: bool = False,
    fails: bool = False,
    offers: tuple[Offer, ...] = _STANDARD,
) -> Bank:
    return Bank(
        Institution(
            id=iid,
            features=_features(),
            name=name,
            routing_numbers=[routing],
            status="degraded" if fails else "active",
            url=url,
        ),
        tokenized,
        fails,
        offers,
    )


CATALOG: tuple[Bank, ...] = (
    _bank("fcinst_StripeBank", "StripeBank", "110000000", "https://stripe.com"),
    _bank("fcinst_TestOAuthInstitution", "Test OAuth Institution", "110000000", None),
    _bank("fcinst_Chase", "Chase", "021000021", "https://www.chase.com", tokenized=True),
    _bank("fcinst_PNCBank", "PNC Bank", "043000096", "https://www.pnc.com", tokenized=True),
    _bank("fcinst_DownBankError", "Down Bank (Error)", "110000000", None, fails=True),
)
BY_ID = {b.id: b for b in CATALOG}
DEFAULT = CATALOG[0].id


def bank(institution_id: str, param: str = "institution") -> Bank:
    b = BY_ID.get(institution_id)
    if b is None:
        raise resource_missing("financial_connections.institution", institution_id, param)
    return b


LIST = Spec(PAGINATION)


def list_(ctx: Ctx, p: dict[str, Any]) -> Page:
    items = [b.institution for b in CATALOG]
    after, before = p.get("starting_after"), p.get("ending_before")
    ids = [i.id for i in items]
    for name, cursor in (("starting_after", after), ("ending_before", before)):
        if cursor is not None and cursor not in ids:
            raise resource_missing("financial_connections.institution", cursor, name, 404)
    if after is not None:
        items = items[ids.index(after) + 1 :]
    if before is not None:
        items = items[: ids.index(before)]
    limit = p.get("limit", 10)
    if before is not None:
        page, more = items[-limit:], len(items) > limit
    else:
        page, more = items[:limit], len(items) > limit
    return Page(list(page), more, "/v1/financial_connections/institutions")


def retrieve(ctx: Ctx, p: dict[str, Any]) -> Institution:
    return bank(ctx.path["institution"], "id").institution
