"""Assertions, request bodies and apps of a test's own options, shared by the tests."""

from __future__ import annotations

import collections
import contextlib
from collections.abc import Iterator
from typing import Any

import httpx

from fake_stripe import create_app
from fake_stripe.http_server import ServerThread
from fake_stripe.inprocess import client as inprocess_client


class Served:
    """An app made with a test module's own options, reached in-process or over a socket of
    its own (started the first time a test asks for it)."""

    def __init__(self, **options: Any) -> None:
        self.app = create_app(**options)
        self._server: ServerThread | None = None

    def client(self, mode: str, key: str) -> httpx.Client:
        """A client for tenant `key`, in `mode` ("inprocess" or "server")."""
        if mode == "inprocess":
            http = inprocess_client(self.app)
        else:
            if self._server is None:
                self._server = ServerThread(self.app)
            http = httpx.Client(base_url=self._server.url)
        http.headers["Authorization"] = f"Bearer {key}"
        return http

    def close(self) -> None:
        if self._server is not None:
            self._server.stop()
        self.app.fake.close()


def assert_error(
    resp: httpx.Response,
    status: int,
    type_: str = "invalid_request_error",
    code: str | None = None,
    param: str | None = None,
) -> dict[str, Any]:
    """Negative tests assert status, error.type, error.code and error.param."""
    assert resp.status_code == status, resp.text
    assert resp.headers["request-id"].startswith("req_")
    err = resp.json()["error"]
    assert err["type"] == type_, err
    assert err.get("code") == code, err
    assert err.get("param") == param, err
    return dict(err)


# A PaymentIntent created and confirmed at once with typed bank details (Stripe's test routing
# number, an account number that succeeds) and an offline mandate: it is `requires_action` after,
# and `processing` once VERIFY_AMOUNTS are posted to its `verify_microdeposits`.
ACH_PAYMENT = {
    "amount": "1000",
    "currency": "usd",
    "confirm": "true",
    "payment_method_data[type]": "us_bank_account",
    "payment_method_data[us_bank_account][routing_number]": "110000000",
    "payment_method_data[us_bank_account][account_number]": "000123456789",
    "payment_method_data[us_bank_account][account_holder_type]": "individual",
    "payment_method_data[billing_details][name]": "Jenny Rosen",
    "mandate_data[customer_acceptance][type]": "offline",
}
VERIFY_AMOUNTS = {"amounts[0]": "32", "amounts[1]": "45"}


class Counting:
    """The store, with every call counted by method name (nested transactions apart)."""

    def __init__(self, backend: Any) -> None:
        self._backend = backend
        self.calls: collections.Counter[str] = collections.Counter()
        self.log: list[tuple[str, tuple[Any, ...]]] = []  # each counted call, with its arguments
        self._depth = 0

    def __getattr__(self, name: str) -> Any:
        target = getattr(self._backend, name)
        if not callable(target):
            return target

        def counted(*args: Any, **kw: Any) -> Any:
            self.calls[name] += 1
            self.log.append((name, args))
            return target(*args, **kw)

        return counted

    @contextlib.contextmanager
    def transaction(self, tenant: str, write: bool, wait: bool = True) -> Iterator[None]:
        self.calls["transaction (nested)" if self._depth else "transaction"] += 1
        self._depth += 1
        try:
            with self._backend.transaction(tenant, write, wait):
                yield
        finally:
            self._depth -= 1

    def iter_desc(self, *args: Any, **kw: Any) -> Iterator[tuple[str, str]]:
        self.calls["iter_desc"] += 1
        for row in self._backend.iter_desc(*args, **kw):
            self.calls["iter_desc rows"] += 1
            yield row
