"""The customer object: its model, imported with the first request that reads or writes one
(`resources.customers` has the endpoints)."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import Field

from ..core.objects import Model, StripeObject


class Address(Model):
    city: str | None = None
    country: str | None = None
    line1: str | None = None
    line2: str | None = None
    postal_code: str | None = None
    state: str | None = None


class Shipping(Model):
    address: Address
    name: str
    phone: str | None = None


class InvoiceSettings(Model):
    custom_fields: list[dict[str, str]] | None = None
    default_payment_method: str | None = None
    footer: str | None = None
    rendering_options: dict[str, Any] | None = None


class Customer(StripeObject):
    kind: ClassVar[str] = "customer"
    prefix: ClassVar[str] = "cus"
    noun: ClassVar[str] = "customer"
    internal: ClassVar[frozenset[str]] = frozenset({"deleted"})
    indexed: ClassVar[tuple[str, ...]] = ("email",)
    expandable: ClassVar[dict[str, str]] = {
        "invoice_settings.default_payment_method": "payment_method",
        "default_source": "source",
    }

    object: str = "customer"
    address: Address | None = None
    balance: int = 0
    created: int
    currency: str | None = None
    default_source: str | None = None
    delinquent: bool = False
    description: str | None = None
    discount: None = None
    email: str | None = None
    invoice_prefix: str | None = None
    # Factories, not shared instances: pydantic deep-copies a mutable default on every create.
    invoice_settings: InvoiceSettings = Field(default_factory=InvoiceSettings)
    livemode: bool = False
    metadata: dict[str, str] = Field(default_factory=dict)
    name: str | None = None
    next_invoice_sequence: int = 1
    phone: str | None = None
    preferred_locales: list[str] = Field(default_factory=list)
    shipping: Shipping | None = None
    tax_exempt: str = "none"
    test_clock: str | None = None
    deleted: bool = False

    def adjust(self, data: dict[str, Any], version: str) -> dict[str, Any]:
        if self.deleted:
            return {"id": self.id, "object": "customer", "deleted": True}
        return data

    def renders_plain(self) -> bool:
        return not self.deleted
