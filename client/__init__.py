"""The reference relink integration: what a merchant's backend does, on the official SDK.

Pure rules in `decisions` (testable without a server), Stripe I/O in `RelinkClient`. The names
below load on first use, so reading scenario files (`fake-stripe scenarios list`) needs only
the rules, not the `stripe` SDK.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .decisions import (
        PREVIEW_VERSION,
        Assessment,
        DebitDecision,
        DebitReading,
        Decision,
        Flag,
        Mark,
        Outcome,
        Resolution,
        UseCase,
        Watchlist,
        apply_event,
        assess,
        mark_for_event,
        read_debit,
        resolve,
        session_params,
    )
    from .errors import RelinkError
    from .microdeposits import Verification, fall_back_to_microdeposits, verify_microdeposits
    from .relink import (
        MandateAcceptance,
        Payment,
        PaymentSetup,
        RelinkClient,
        SessionStart,
    )
    from .transport import Attempt, RecordingHTTPClient, RequestLog, http_client_for, is_loopback

_WHERE = {
    "Assessment": "decisions",
    "Attempt": "transport",
    "DebitDecision": "decisions",
    "DebitReading": "decisions",
    "Decision": "decisions",
    "Flag": "decisions",
    "MandateAcceptance": "relink",
    "Mark": "decisions",
    "Outcome": "decisions",
    "PREVIEW_VERSION": "decisions",
    "Payment": "relink",
    "PaymentSetup": "relink",
    "RecordingHTTPClient": "transport",
    "RelinkClient": "relink",
    "RelinkError": "errors",
    "RequestLog": "transport",
    "http_client_for": "transport",
    "is_loopback": "transport",
    "Resolution": "decisions",
    "SessionStart": "relink",
    "UseCase": "decisions",
    "Verification": "microdeposits",
    "Watchlist": "decisions",
    "fall_back_to_microdeposits": "microdeposits",
    "verify_microdeposits": "microdeposits",
    "apply_event": "decisions",
    "assess": "decisions",
    "mark_for_event": "decisions",
    "read_debit": "decisions",
    "resolve": "decisions",
    "session_params": "decisions",
}
__all__ = [
    "PREVIEW_VERSION",
    "Assessment",
    "Attempt",
    "DebitDecision",
    "DebitReading",
    "Decision",
    "Flag",
    "MandateAcceptance",
    "Mark",
    "Outcome",
    "Payment",
    "PaymentSetup",
    "RecordingHTTPClient",
    "RelinkClient",
    "RelinkError",
    "RequestLog",
    "Resolution",
    "SessionStart",
    "UseCase",
    "Verification",
    "Watchlist",
    "fall_back_to_microdeposits",
    "verify_microdeposits",
    "apply_event",
    "assess",
    "mark_for_event",
    "read_debit",
    "resolve",
    "session_params",
    "http_client_for",
    "is_loopback",
]


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'client' has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
