"""The runner's own requests to a scenario's tenant: with the preview version whatever the
client under test sends, to set up state, play the institution and the clock, act as the user
in the flow, and read objects, events and the delivery journal back."""

from __future__ import annotations

import json
from typing import Any

import stripe

from .relink_client import PREVIEW_VERSION, RelinkError
from .target import Target


class SetupError(Exception):
    """A step of the scenario (not the client under test) could not be carried out."""


class Observer:
    def __init__(self, target: Target, key: str) -> None:
        self.conn = target.connect(key, PREVIEW_VERSION)

    def call(self, method: str, path: str, where: str, /, **params: Any) -> dict[str, Any]:
        try:
            resp = self.conn.stripe.raw_request(method, path, **params)
        except stripe.StripeError as err:
            raise SetupError(
                f"{where}: {method.upper()} {path} failed: "
                f"{RelinkError.from_stripe(where, err, 'preview').message} "
                f"[{err.request_id}]"
            ) from err
        body = json.loads(resp.body)
        assert isinstance(body, dict)
        return body

    def get(self, path: str, where: str = "observe", /, **params: Any) -> dict[str, Any]:
        return self.call("get", path, where, **params)

    def delete_quietly(self, path: str) -> None:
        """A DELETE whose failure does not matter (cleaning up)."""
        try:
            self.conn.stripe.raw_request("delete", path)
        except stripe.StripeError:
            pass

    def now(self) -> int:
        return int(self.get("/v1/test_helpers/clock", "read the tenant clock")["now"])

    def events(self, newer_than: str | None = None) -> list[dict[str, Any]]:
        """Every event of the tenant, oldest first; with `newer_than` (an event's id), only the
        events after that one, read page by page towards the newest (`ending_before`)."""
        if newer_than is not None:
            return self._events_after(newer_than)
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
        self.conn.close()
