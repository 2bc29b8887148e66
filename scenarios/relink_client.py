"""The reference relink client the scenarios drive, under the name it has where they run: the
`client` package beside `scenarios` in a checkout, `fake_stripe.client` in an installed
distribution (which puts no top-level `client` package on a user's path)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING or not __name__.startswith("fake_stripe."):
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
        Watchlist,
    )
else:
    from fake_stripe.client import (
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
        Watchlist,
    )

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
    "Watchlist",
]
