"""Assertions shared by the tests."""

from __future__ import annotations

from typing import Any

import httpx


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
