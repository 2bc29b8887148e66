"""Made-up data for linked accounts: owners' names, emails, phones and addresses, merchants'
names on transactions, account nicknames and numbers.

One `Generator` per object, seeded from the tenant's seed and a label (`Tenant.random_int`), so
the same `--seed` and the same requests give the same data. The lists are short on purpose:
the data only has to look like a bank's, and every value is plainly invented (`example.com`
emails, 555 phone numbers).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")

FIRST_NAMES = (
    "Avery", "Blake", "Camila", "Dana", "Elias", "Farah", "Gabriel", "Hana", "Iris", "Jonah",
    "Keiko", "Luis", "Maya", "Nadia", "Omar", "Priya", "Quinn", "Rosa", "Samuel", "Tariq",
    "Uma", "Victor", "Wendy", "Xavier", "Yara", "Zoe",
)  # fmt: skip
LAST_NAMES = (
    "Abbott", "Bennett", "Castillo", "Dawson", "Ellison", "Fischer", "Garza", "Hughes",
    "Ibarra", "Jensen", "Kowalski", "Lindqvist", "Moreno", "Nakamura", "Okafor", "Patel",
    "Quintero", "Romero", "Sullivan", "Tran", "Underwood", "Vargas", "Whitaker", "Young",
)  # fmt: skip
STREETS = (
    "Maple", "Oak", "Cedar", "Elm", "Willow", "Lakeview", "Hillcrest", "Riverside", "Sunset",
    "Park", "Highland", "Meadow", "Harbor", "Mill", "Orchard", "Spring",
)  # fmt: skip
STREET_KINDS = ("St", "Ave", "Rd", "Blvd", "Ln", "Dr", "Ct", "Way")
PLACES = (
    ("Springfield", "IL", "627"), ("Portland", "OR", "972"), ("Austin", "TX", "787"),
    ("Madison", "WI", "537"), ("Columbus", "OH", "432"), ("Raleigh", "NC", "276"),
    ("Boise", "ID", "837"), ("Albany", "NY", "122"), ("Tucson", "AZ", "857"),
    ("Richmond", "VA", "232"), ("Denver", "CO", "802"), ("Savannah", "GA", "314"),
)  # fmt: skip
MERCHANT_WORDS = (
    "Acme", "Bluebird", "Cornerstone", "Evergreen", "Golden Gate", "Harvest", "Lighthouse",
    "Northwind", "Pinecrest", "Redwood", "Silverline", "Summit", "Trailhead", "Willowbrook",
)  # fmt: skip
MERCHANT_KINDS = (
    "Grocers", "Coffee", "Hardware", "Pharmacy", "Books", "Fitness", "Utilities", "Transit",
    "Bakery", "Outfitters", "Diner", "Insurance",
)  # fmt: skip


class Generator(random.Random):
    """A seeded source of made-up values (Python's `random.Random`, plus a few shapes)."""

    def random_int(self, low: int, high: int) -> int:
        """A whole number from `low` to `high`, both included."""
        return self.randint(low, high)

    def random_element(self, options: Sequence[T]) -> T:
        return self.choice(options)

    def numerify(self, pattern: str) -> str:
        """`pattern` with each `#` replaced by a digit: `"####"` -> `"4821"`."""
        return "".join(str(self.randint(0, 9)) if c == "#" else c for c in pattern)

    def name(self) -> str:
        return f"{self.choice(FIRST_NAMES)} {self.choice(LAST_NAMES)}"

    def email(self) -> str:
        first, last = self.choice(FIRST_NAMES), self.choice(LAST_NAMES)
        return f"{first}.{last}{self.randint(1, 99)}@example.com".lower()

    def phone(self) -> str:
        """A US number in the 555-01xx range, which is reserved for fiction."""
        return f"+1{self.randint(200, 999)}5550{self.randint(100, 199)}"

    def address(self) -> str:
        city, state, zip_prefix = self.choice(PLACES)
        street = f"{self.randint(1, 9999)} {self.choice(STREETS)} {self.choice(STREET_KINDS)}"
        return f"{street}, {city}, {state} {zip_prefix}{self.randint(0, 99):02d}"

    def company(self) -> str:
        return f"{self.choice(MERCHANT_WORDS)} {self.choice(MERCHANT_KINDS)}"
