"""The official `stripe` SDK pointed at the fake: over a URL, or in-process with no socket.

`stripe` is imported lazily: it comes with the `scenarios` extra, not with the server.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx
from starlette.types import ASGIApp

from .inprocess import ASGIDriver, encode_headers

IN_PROCESS_BASE = "http://fake-stripe.local"


def _stripe() -> Any:
    try:
        import stripe
    except ImportError as err:
        raise ImportError(
            "fake_stripe.sdk drives the official SDK, which is not installed: pip install "
            "stripe, or pip install 'fake-stripe[scenarios]' for the build the project tests with"
        ) from err
    return stripe


def http_client(app: ASGIApp) -> Any:
    """A `stripe.HTTPClient` that sends the SDK's requests straight into `app` (on the
    caller's thread, with no HTTP client library in between)."""
    _stripe()
    import stripe

    class ASGIHTTPClient(stripe.HTTPClient):
        name = "fake-stripe-asgi"

        def __init__(self) -> None:
            super().__init__()
            self._driver = ASGIDriver(app)

        def request(
            self,
            method: str,
            url: str,
            headers: Mapping[str, str] | None,
            post_data: Any = None,
            *,
            _usage: list[str] | None = None,
        ) -> tuple[Any, int, Mapping[str, str]]:
            body = post_data.encode() if isinstance(post_data, str) else post_data or b""
            status, raw, content = self._driver.request(method, url, encode_headers(headers), body)
            return content, status, httpx.Headers(raw)

        def close(self) -> None:
            self._driver.close()

    return ASGIHTTPClient()


def stripe_client(target: str | ASGIApp, key: str, **kwargs: Any) -> Any:
    """`stripe.StripeClient` for a base URL (`http://127.0.0.1:12180`) or an ASGI app."""
    stripe = _stripe()

    if isinstance(target, str):
        return stripe.StripeClient(key, base_addresses={"api": target}, **kwargs)
    return stripe.StripeClient(
        key, base_addresses={"api": IN_PROCESS_BASE}, http_client=http_client(target), **kwargs
    )
