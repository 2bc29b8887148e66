"""The runner's own requests to a scenario's tenant: with the preview version whatever the
client under test sends, to set up state, play the institution and the clock, act as the user
in the flow, and read objects, events and the delivery journal back."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import urlencode

import stripe

from .relink_client import PREVIEW_VERSION, RelinkError
from .target import Target


class SetupError(Exception):
    """A step of the scenario (not the client under test) could not be carried out."""


# The runner's own requests retry what the SDK would (a connection lost, a 409, a 5xx, a 429
# lock timeout, or what `Stripe-Should-Retry` says), as often as the client under test does.
RETRIES = 2
FIRST_PAUSE = 0.5  # seconds before the first retry, times the target's retry time scale


class Observer:
    def __init__(self, target: Target, key: str) -> None:
        # Where the target lets it (in-process, or a loopback URL), the runner's requests go
        # straight to the SDK's HTTP client the client under test uses, without the SDK's
        # request building and objects: they are most of a scenario's requests, and the
        # runner reads their JSON itself. Elsewhere they go through the SDK (`conn`).
        self.direct = target.direct()
        self.conn = target.connect(key, PREVIEW_VERSION) if self.direct is None else None
        self.headers = {"Authorization": f"Bearer {key}", "Stripe-Version": PREVIEW_VERSION}
        self.pause = FIRST_PAUSE * target.retry_time_scale
        self._listed: list[dict[str, Any]] = []  # the events `events` has listed, oldest first

    def call(self, method: str, path: str, where: str, /, **params: Any) -> dict[str, Any]:
        if self.conn is not None:
            try:
                resp = self.conn.stripe.raw_request(method, path, **params)
            except stripe.StripeError as err:
                raise SetupError(
                    f"{where}: {method.upper()} {path} failed: "
                    f"{RelinkError.from_stripe(where, err, 'preview').message} "
                    f"[{err.request_id}]"
                ) from err
            content: str | bytes = resp.body
        else:
            content = self._send(method, path, where, params)
        body = json.loads(content)
        assert isinstance(body, dict)
        return body

    def _send(self, method: str, path: str, where: str, params: dict[str, Any]) -> str | bytes:
        assert self.direct is not None
        http, base = self.direct
        form = urlencode(list(_form(params)))
        headers = dict(self.headers)
        url, data = base + path, None
        if method == "post":
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["Idempotency-Key"] = str(uuid.uuid4())  # so that a retry is safe
            data = form
        elif form:
            url += "?" + form
        failed = f"{where}: {method.upper()} {path} failed:"
        for attempt in range(RETRIES + 1):
            if attempt:
                time.sleep(self.pause * 2 ** (attempt - 1))
            try:
                content, status, rheaders = http.request(method, url, headers, data)
            except stripe.APIConnectionError as err:
                if attempt < RETRIES:
                    continue
                reason = err.user_message or err
                raise SetupError(f"{failed} could not reach Stripe: {reason}") from err
            if status < 300:
                return content
            lower = {k.lower(): v for k, v in rheaders.items()}
            error = _error_of(content)
            if attempt == RETRIES or not _retryable(status, lower, error):
                message = error.get("message") or f"HTTP {status}"
                raise SetupError(f"{failed} {message} [{lower.get('request-id')}]")
        raise AssertionError("unreachable")

    def get(self, path: str, where: str = "observe", /, **params: Any) -> dict[str, Any]:
        return self.call("get", path, where, **params)

    def delete_quietly(self, path: str) -> None:
        """A DELETE whose failure does not matter (cleaning up)."""
        try:
            if self.conn is not None:
                self.conn.stripe.raw_request("delete", path)
            else:
                self._send("delete", path, "clean up", {})
        except (stripe.StripeError, SetupError):
            pass

    def now(self) -> int:
        return int(self.get("/v1/test_helpers/clock", "read the tenant clock")["now"])

    def events(self, newer_than: str | None = None, fresh: bool = False) -> list[dict[str, Any]]:
        """Every event of the tenant, oldest first; with `newer_than` (an event's id), only the
        events after that one, read page by page towards the newest (`ending_before`).

        An event does not change once made, but for its `pending_webhooks`: the events listed
        before are kept, and only the newer ones are listed again, unless `fresh`."""
        if newer_than is not None:
            return self._events_after(newer_than)
        if self._listed and not fresh:
            self._listed.extend(self._events_after(self._listed[-1]["id"]))
            return list(self._listed)
        out: list[dict[str, Any]] = []
        after: str | None = None
        while True:
            params: dict[str, Any] = {"limit": 100}
            if after:
                params["starting_after"] = after
            page = self.get("/v1/events", "list events", **params)
            out.extend(page["data"])
            if not page["has_more"]:
                break
            after = page["data"][-1]["id"]
        out.reverse()
        self._listed = list(out)
        return out

    def _events_after(self, cursor: str) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        while True:
            page = self.get("/v1/events", "list events", limit=100, ending_before=cursor)
            out.extend(reversed(page["data"]))  # each page is newest first
            if not page["has_more"] or not page["data"]:
                return out
            cursor = page["data"][0]["id"]

    def journal(self, after: int = 0) -> list[dict[str, Any]]:
        """The fake's delivery journal for this tenant, oldest attempt first; with `after` (a
        `seq`), only the attempts recorded since that one."""
        out: list[dict[str, Any]] = []
        while True:
            page = self.get(
                "/_fake/webhooks/deliveries", "read the delivery journal", after=after, limit=1000
            )
            out.extend(page["data"])
            if not page["has_more"] or not page["data"]:
                return out
            after = page["data"][-1]["seq"]

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()


def _form(params: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, str]]:
    """`params` in Stripe's form encoding, as the SDK sends them: `a[b]` for a hash's keys,
    `a[0]` for a list's items, `true`/`false`, and no key for None."""
    for name, value in params.items():
        key = f"{prefix}[{name}]" if prefix else str(name)
        if value is None:
            continue
        if isinstance(value, Mapping):
            yield from _form(value, key)
        elif isinstance(value, list | tuple):
            yield from _form({str(i): item for i, item in enumerate(value)}, key)
        elif isinstance(value, bool):
            yield key, "true" if value else "false"
        else:
            yield key, str(value)


def _error_of(content: str | bytes) -> dict[str, Any]:
    try:
        body = json.loads(content)
    except ValueError:
        return {}
    error = body.get("error") if isinstance(body, dict) else None
    return error if isinstance(error, dict) else {}


def _retryable(status: int, headers: Mapping[str, str], error: dict[str, Any]) -> bool:
    should = headers.get("stripe-should-retry")
    if should in ("true", "false"):
        return should == "true"
    return status == 409 or status >= 500 or (status == 429 and error.get("code") == "lock_timeout")
