"""The official `stripe` SDK pointed at the fake: over a URL, or in-process with no socket.

`stripe` is imported lazily: it is a test extra, not a dependency of the server.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx
from starlette.types import ASGIApp

from .inprocess import ASGIDriver, encode_headers

IN_PROCESS_BASE = "http://fake-stripe.local"


def http_client(app: ASGIApp) -> Any:
    """A `stripe.HTTPClient` that sends the SDK's requests straight into `app` (on the
    caller's thread, with no HTTP client library in between)."""
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
    import stripe

    if isinstance(target, str):
        return stripe.StripeClient(key, base_addresses={"api": target}, **kwargs)
    return stripe.StripeClient(
        key, base_addresses={"api": IN_PROCESS_BASE}, http_client=http_client(target), **kwargs
    )
