"""A subscription's `items`: its create's `items[]` make subscription items (stored, listed by
`GET /v1/subscription_items?subscription=`), and the subscription's embedded list shows its
items as they are after each create, update or delete of one.
"""

from __future__ import annotations

from typing import Any

from ..core.context import Ctx
from ..core.raw import RawObject
from .catalog import Catalog
from .references import resolve

ITEMS = "/v1/subscription_items"


def checked(ctx: Ctx, catalog: Catalog, p: dict[str, Any]) -> list[dict[str, Any]]:
    """The parameters of each subscription item a subscription's create asks for
    (`items[n][price]`, ...), their ids checked before anything is made."""
    given = p.get("items")
    if not isinstance(given, list):
        return []
    return [
        resolve(ctx, catalog, "subscription_item", item, f"items[{n}]")
        for n, item in enumerate(given)
        if isinstance(item, dict)
    ]


def show(data: dict[str, Any], items: list[dict[str, Any]]) -> None:
    """`items` as the subscription's embedded list."""
    listed = data.get("items")
    if not isinstance(listed, dict):
        return
    listed["data"] = items
    listed["has_more"] = False
    listed["url"] = f"{ITEMS}?subscription={data.get('id')}"
    if "total_count" in listed:
        listed["total_count"] = len(items)


def follow(ctx: Ctx, item: RawObject, gone: bool = False) -> None:
    """After a subscription item changed: its subscription's `items` show it as it is now."""
    if item.data.get("object") != "subscription_item":
        return
    owner = ctx.tenant.get_any(str(item.data.get("subscription") or ""))
    if not isinstance(owner, RawObject) or owner.data.get("object") != "subscription":
        return
    listed = owner.data.get("items")
    shown = listed.get("data", []) if isinstance(listed, dict) else []
    kept = [i for i in shown if isinstance(i, dict) and i.get("id") != item.id]
    if not gone:
        kept.append(item.to_api(ctx.version))
    show(owner.data, kept)
    ctx.tenant.put(owner)
