"""fake-stripe: a stateful, offline fake of Stripe's Financial Connections relink surface."""

from .app import create_app
from .core.errors import (
    APIError,
    AuthenticationError,
    IdempotencyError,
    InvalidRequestError,
    StripeError,
)

__all__ = [
    "APIError",
    "AuthenticationError",
    "IdempotencyError",
    "InvalidRequestError",
    "StripeError",
    "create_app",
]
