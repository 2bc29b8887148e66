"""The reference relink client the scenarios drive, under the name it has where they run: the
`client` package beside `scenarios` in a checkout, `fake_stripe.client` in an installed
distribution (which puts no top-level `client` package on a user's path).

Each name is read from the client package when first imported from here, as the package itself
does: `fake-stripe scenarios list` needs no SDK."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from client import (
        PREVIEW_VERSION,
        Assessment,
        Attempt,
        Decision,
        Flag,
        MandateAcceptance,
        RelinkClient,
        RelinkError,
        Resolution,
        SessionStart,
        UseCase,
        Verification,
        Watchlist,
        fall_back_to_microdeposits,
        http_client_for,
        is_loopback,
        verify_microdeposits,
    )

PACKAGE = "fake_stripe.client" if __name__.startswith("fake_stripe.") else "client"

__all__ = [
    "PREVIEW_VERSION",
    "Assessment",
    "Attempt",
    "Decision",
    "Flag",
    "MandateAcceptance",
    "RelinkClient",
    "RelinkError",
    "Resolution",
    "SessionStart",
    "UseCase",
    "Verification",
    "Watchlist",
    "fall_back_to_microdeposits",
    "http_client_for",
    "is_loopback",
    "verify_microdeposits",
]


def __getattr__(name: str) -> Any:
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(PACKAGE), name)
