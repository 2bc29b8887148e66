"""`RelinkError`: a Stripe error or a broken connection, with the step that hit it."""

from __future__ import annotations

from typing import Any

import stripe

PREVIEW_HINT = (
    " Relink parameters exist only under a `.preview` Stripe-Version (this client sent {version})."
)


class RelinkError(Exception):
    """A request the relink flow needed failed after the SDK's retries.

    `str()` names the step, the HTTP status, Stripe's error type, code and param, the message and
    the request id: what a support ticket and a log line need.
    """

    def __init__(
        self,
        step: str,
        message: str,
        *,
        http_status: int | None = None,
        type: str | None = None,
        code: str | None = None,
        param: str | None = None,
        request_id: str | None = None,
    ) -> None:
        self.step = step
        self.message = message
        self.http_status = http_status
        self.type = type
        self.code = code
        self.param = param
        self.request_id = request_id
        super().__init__(str(self))

    def __str__(self) -> str:
        what = " ".join(str(p) for p in (self.http_status, self.type, self.code) if p)
        param = f" (param {self.param})" if self.param else ""
        req = f" [{self.request_id}]" if self.request_id else ""
        return f"{self.step} failed: {what or 'error'}{param}: {self.message}{req}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "http_status": self.http_status,
            "type": self.type,
            "code": self.code,
            "param": self.param,
            "message": self.message,
            "request_id": self.request_id,
        }

    @classmethod
    def from_stripe(cls, step: str, err: stripe.StripeError, version: str) -> RelinkError:
        body = err.json_body if isinstance(err.json_body, dict) else {}
        detail = body.get("error") if isinstance(body.get("error"), dict) else {}
        assert isinstance(detail, dict)
        message = str(detail.get("message") or err.user_message or type(err).__name__)
        param = detail.get("param")
        if (
            detail.get("code") == "parameter_unknown"
            and str(param or "").startswith("relink_options")
            and not version.endswith(".preview")
        ):
            message += PREVIEW_HINT.format(version=version)
        if isinstance(err, stripe.APIConnectionError):
            message = f"could not reach Stripe: {err.user_message or err}"
        return cls(
            step,
            message,
            http_status=err.http_status,
            type=detail.get("type"),
            code=detail.get("code") or err.code,
            param=param,
            request_id=err.request_id,
        )
