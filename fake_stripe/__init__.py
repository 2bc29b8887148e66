"""fake-stripe: a stateful, offline fake of Stripe's Financial Connections relink surface."""

from typing import TYPE_CHECKING, Any

from .core.errors import (
    APIError,
    AuthenticationError,
    IdempotencyError,
    InvalidRequestError,
    StripeError,
)

if TYPE_CHECKING:
    from .app import create_app

__all__ = [
    "APIError",
    "AuthenticationError",
    "IdempotencyError",
    "InvalidRequestError",
    "StripeError",
    "create_app",
]


def __getattr__(name: str) -> Any:
    # The server is imported on first use: the command line and the client start without it.
    if name == "create_app":
        from .app import create_app

        return create_app
    raise AttributeError(f"module 'fake_stripe' has no attribute {name!r}")
