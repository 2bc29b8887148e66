"""The official `stripe` SDK pointed at the fake: over a URL, or in-process with no socket.

`stripe` is imported lazily: it comes with the `scenarios` extra, not with the server.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.types import ASGIApp

from .inprocess import ASGIDriver, RawHeaders, encode_headers

IN_PROCESS_BASE = "http://fake-stripe.local"


class ResponseHeaders(dict[str, str]):
    """A response's headers as the SDK reads them: by name in any case (it asks for both
    `Request-Id` and `request-id`). Names are kept in lower case; repeated ones are joined
    with `, ` as HTTP allows."""

    def __init__(self, raw: RawHeaders) -> None:
        super().__init__({k.decode("latin-1").lower(): v.decode("latin-1") for k, v in raw})
        if len(self) < len(raw):  # a name sent more than once
            self.clear()
            for k, v in raw:
                name, value = k.decode("latin-1").lower(), v.decode("latin-1")
                dict.__setitem__(self, name, f"{self[name]}, {value}" if name in self else value)

    def __getitem__(self, name: str) -> str:
        return dict.__getitem__(self, name.lower())

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and dict.__contains__(self, name.lower())

    def get(self, name: str, default: Any = None) -> Any:
        return dict.get(self, name.lower(), default)


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
            return content, status, ResponseHeaders(raw)

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
