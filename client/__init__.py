"""The reference relink integration: what a merchant's backend does, on the official SDK.

Pure rules in `decisions` (testable without a server), Stripe I/O in `RelinkClient`.
"""

from .decisions import (
    Assessment,
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
    resolve,
    session_params,
)
from .errors import RelinkError
from .relink import (
    PREVIEW_VERSION,
    MandateAcceptance,
    PaymentSetup,
    RelinkClient,
    SessionStart,
)
from .transport import Attempt, RecordingHTTPClient, RequestLog

__all__ = [
    "PREVIEW_VERSION",
    "Assessment",
    "Attempt",
    "Decision",
    "Flag",
    "MandateAcceptance",
    "Mark",
    "Outcome",
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
    "resolve",
    "session_params",
]
