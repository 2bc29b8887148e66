"""The reference relink integration: what a merchant's backend does, on the official SDK.

Pure rules in `decisions` (testable without a server), Stripe I/O in `RelinkClient`.
"""

from .decisions import (
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
from .relink import (
    PREVIEW_VERSION,
    MandateAcceptance,
    Payment,
    PaymentSetup,
    RelinkClient,
    SessionStart,
)
from .transport import Attempt, RecordingHTTPClient, RequestLog

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
    "Watchlist",
    "apply_event",
    "assess",
    "mark_for_event",
    "read_debit",
    "resolve",
    "session_params",
]
