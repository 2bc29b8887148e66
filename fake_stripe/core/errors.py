"""Stripe's error classes. Handlers raise them; the wire layer renders every one the same way."""

from __future__ import annotations

from typing import Any


class StripeError(Exception):
    """An error Stripe would answer with: HTTP status plus the `error` hash."""

    status = 400
    type = "invalid_request_error"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        param: str | None = None,
        status: int | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.param = param
        if status is not None:
            self.status = status
        self.headers = headers or {}
        self.extra = extra

    def body(self, request_id: str, now: int) -> dict[str, Any]:
        error: dict[str, Any] = {"type": self.type, "message": self.message}
        if self.code:
            error["code"] = self.code
            error["doc_url"] = "https://stripe.com/docs/error-codes/" + self.code.replace("_", "-")
        if self.param is not None:
            error["param"] = self.param
        error.update(self.extra)
        error["request_log_url"] = f"https://dashboard.stripe.com/test/logs/{request_id}?t={now}"
        return {"error": error}


class InvalidRequestError(StripeError):
    status = 400


class ParamError(InvalidRequestError):
    """A request rejected before the endpoint ran; Stripe does not save these for idempotency."""


class AuthenticationError(StripeError):
    status = 401

    def body(self, request_id: str, now: int) -> dict[str, Any]:
        # Stripe's 401 bodies carry only type and message (and a code for some causes).
        error = {"type": self.type, "message": self.message}
        if self.code:
            error["code"] = self.code
            error["doc_url"] = "https://stripe.com/docs/error-codes/" + self.code.replace("_", "-")
        return {"error": error}


class PermissionError(StripeError):  # noqa: A001 - Stripe's name
    status = 403


class IdempotencyError(StripeError):
    status = 400
    type = "idempotency_error"


class APIError(StripeError):
    status = 500
    type = "api_error"


class PaymentError(StripeError):
    """A refused payment: 402, with the intent and the payment method in the error."""

    status = 402
    type = "card_error"


class RateLimitError(StripeError):
    status = 429
    type = "invalid_request_error"


def resource_missing(
    noun: str, object_id: str, param: str = "id", status: int | None = None
) -> InvalidRequestError:
    """Stripe's answer for an id that does not exist: 404 at `id`, 400 inside a body."""
    status = status or (404 if param == "id" else 400)
    return InvalidRequestError(
        f"No such {noun}: '{object_id}'", code="resource_missing", param=param, status=status
    )


def missing_param(param: str) -> ParamError:
    return ParamError(f"Missing required param: {param}.", code="parameter_missing", param=param)


def unknown_param(param: str) -> ParamError:
    return ParamError(f"Received unknown parameter: {param}", code="parameter_unknown", param=param)


def invalid_param(param: str, message: str, code: str | None = None) -> ParamError:
    return ParamError(message, code=code, param=param)


def exclusive(first: str, second: str, param: str | None = None) -> ParamError:
    """Stripe's answer when two mutually exclusive parameters are both given."""
    return ParamError(
        f"You may only specify one of these parameters: {first}, {second}.",
        code="parameters_exclusive",
        param=param or second,
    )
