"""The wire layer over HTTP: keys, versions, errors, idempotency, expand and pagination."""

from __future__ import annotations

import base64
import concurrent.futures

import httpx
import pytest

from fake_stripe.core.versions import PREVIEW_VERSION
from tests.helpers import assert_error


def test_every_response_carries_a_request_id_and_the_version(api: httpx.Client) -> None:
    ok = api.post("/v1/customers", headers={"Stripe-Version": PREVIEW_VERSION})
    assert ok.status_code == 200
    assert ok.headers["request-id"].startswith("req_")
    assert ok.headers["stripe-version"] == PREVIEW_VERSION
    bad = api.get("/v1/customers/cus_nope")
    assert bad.headers["request-id"].startswith("req_")
    assert bad.headers["request-id"] != ok.headers["request-id"]


def test_request_ids_follow_the_seed_and_differ_between_instances() -> None:
    from fake_stripe import create_app

    def ids(seed: int, instance: str = "", n: int = 5) -> list[str]:
        app = create_app(seed=seed)
        try:
            app.fake.instance = instance
            return [app.fake.request_id() for _ in range(n)]
        finally:
            app.fake.close()

    first = ids(7)
    assert first == ids(7)  # a seeded server answers the same ids in the same order
    assert len(set(first)) == len(first)
    assert all(len(i) == len("req_") + 14 and i.startswith("req_") for i in first)
    assert not set(first) & set(ids(8))
    assert not set(first) & set(ids(7, "pid2"))  # processes sharing a store: their own ids


def test_basic_auth_with_the_key_as_username_reaches_the_same_tenant(
    api: httpx.Client, key: str
) -> None:
    cus = api.post("/v1/customers", data={"email": "a@b.co"}).json()
    basic = base64.b64encode(f"{key}:".encode()).decode()
    got = api.get(f"/v1/customers/{cus['id']}", headers={"Authorization": f"Basic {basic}"})
    assert got.status_code == 200
    assert got.json()["email"] == "a@b.co"


def test_missing_key_is_a_401_with_stripes_wording(base_client: httpx.Client) -> None:
    err = assert_error(base_client.get("/v1/customers"), 401)
    assert err["message"].startswith("You did not provide an API key.")


def test_invalid_key_is_masked_like_stripe(base_client: httpx.Client) -> None:
    resp = base_client.get(
        "/v1/customers", headers={"Authorization": "Bearer sk_tset_1234567890Aso0"}
    )
    err = assert_error(resp, 401)
    assert err["message"] == "Invalid API Key provided: sk_tset_**********Aso0"


def test_live_keys_are_always_refused(base_client: httpx.Client) -> None:
    for k in ("sk_live_abcdef123456", "rk_live_abcdef123456", "pk_live_abcdef123456"):
        err = assert_error(
            base_client.get("/v1/customers", headers={"Authorization": f"Bearer {k}"}), 401
        )
        assert "never accepts live-mode API keys" in err["message"]
        assert "abcdef12" not in err["message"]


def test_publishable_key_cannot_call_secret_endpoints(base_client: httpx.Client) -> None:
    resp = base_client.get("/v1/customers", headers={"Authorization": "Bearer pk_test_abc"})
    assert_error(resp, 401, code="secret_key_required")


def test_unknown_url_and_wrong_method_answer_stripes_404(api: httpx.Client) -> None:
    err = assert_error(api.get("/v1/nothing_here"), 404)
    assert err["message"].startswith("Unrecognized request URL (GET: /v1/nothing_here).")
    err = assert_error(api.delete("/v1/events"), 404)
    assert err["message"].startswith("Unrecognized request URL (DELETE: /v1/events).")


def test_unknown_parameter_is_rejected_with_its_bracket_name(api: httpx.Client) -> None:
    err = assert_error(
        api.post("/v1/customers", data={"shipping[address][planet]": "Mars"}),
        400,
        code="parameter_unknown",
        param="shipping[address][planet]",
    )
    assert err["message"] == "Received unknown parameter: shipping[address][planet]"


def test_missing_required_nested_param(api: httpx.Client) -> None:
    err = assert_error(
        api.post("/v1/customers", data={"shipping[name]": "Jane"}),
        400,
        code="parameter_missing",
        param="shipping[address]",
    )
    assert err["message"] == "Missing required param: shipping[address]."


def test_invalid_enum_and_integer_values_name_the_param(api: httpx.Client) -> None:
    err = assert_error(
        api.post("/v1/customers", data={"tax_exempt": "sometimes"}), 400, param="tax_exempt"
    )
    assert err["message"] == "Invalid tax_exempt: must be one of exempt, none, or reverse"
    assert_error(
        api.post("/v1/customers", data={"balance": "ten"}),
        400,
        code="parameter_invalid_integer",
        param="balance",
    )


def test_malformed_body_is_a_400_not_a_500(api: httpx.Client) -> None:
    resp = api.post(
        "/v1/customers",
        content=b"metadata=1&metadata[a]=2",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert_error(resp, 400, param="metadata")
    resp = api.post(
        "/v1/customers",
        content=b"email=%ff%fe",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert_error(resp, 400, param="email")


@pytest.mark.parametrize("version", ["yesterday", "2019-13-45", "2024-02-30.preview"])
def test_invalid_stripe_version_is_rejected(api: httpx.Client, version: str) -> None:
    err = assert_error(api.get("/v1/customers", headers={"Stripe-Version": version}), 400)
    assert err["message"] == f"Invalid Stripe API version: {version}"


def test_idempotent_replay_returns_the_saved_response(api: httpx.Client) -> None:
    h = {"Idempotency-Key": "k1"}
    first = api.post("/v1/customers", data={"email": "x@y.co"}, headers=h)
    again = api.post("/v1/customers", data={"email": "x@y.co"}, headers=h)
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    # Both name the first request; each echoes the key.
    assert first.headers["original-request"] == first.headers["request-id"]
    assert again.headers["original-request"] == first.headers["request-id"]
    assert first.headers["idempotency-key"] == again.headers["idempotency-key"] == "k1"
    listed = api.get("/v1/customers").json()["data"]
    assert [c["id"] for c in listed] == [first.json()["id"]]


def test_idempotency_key_with_other_params_or_endpoint_is_an_idempotency_error(
    api: httpx.Client,
) -> None:
    h = {"Idempotency-Key": "k2"}
    cus = api.post("/v1/customers", data={"email": "x@y.co"}, headers=h).json()
    err = assert_error(
        api.post("/v1/customers", data={"email": "other@y.co"}, headers=h),
        400,
        type_="idempotency_error",
    )
    assert "can only be used with the same parameters" in err["message"]
    mismatch = api.post("/v1/customers", data={"email": "other@y.co"}, headers=h)
    assert mismatch.headers["idempotency-key"] == "k2"
    err = assert_error(
        api.post(f"/v1/customers/{cus['id']}", data={"email": "x@y.co"}, headers=h),
        400,
        type_="idempotency_error",
    )
    assert "can only be used for the same endpoint" in err["message"]


def test_a_replay_answers_at_the_version_of_its_first_request(api: httpx.Client) -> None:
    # GUESS (docs/guesses.md): the version is left out of the parameters compared, and the
    # replay's body is the first answer's, rendered at the first request's version.
    old, new = "2020-08-27", "2024-06-20"
    first = api.post("/v1/customers", headers={"Idempotency-Key": "kv", "Stripe-Version": old})
    again = api.post("/v1/customers", headers={"Idempotency-Key": "kv", "Stripe-Version": new})
    assert again.headers["idempotent-replayed"] == "true" and again.json() == first.json()
    assert first.headers["stripe-version"] == again.headers["stripe-version"] == old


def test_idempotency_keys_are_scoped_per_tenant(base_client: httpx.Client, key: str) -> None:
    h = {"Idempotency-Key": "shared"}
    a = base_client.post("/v1/customers", headers={**h, "Authorization": f"Bearer {key}a"}).json()
    b = base_client.post("/v1/customers", headers={**h, "Authorization": f"Bearer {key}b"}).json()
    assert a["id"] != b["id"]


def test_idempotency_key_longer_than_255_is_rejected(api: httpx.Client) -> None:
    err = assert_error(api.post("/v1/customers", headers={"Idempotency-Key": "k" * 256}), 400)
    assert err["message"].startswith("Idempotent key length is 256")


def test_execution_errors_are_replayed_but_validation_errors_are_not(api: httpx.Client) -> None:
    h = {"Idempotency-Key": "k3"}
    first = api.post("/v1/customers/cus_missing", data={"name": "a"}, headers=h)
    assert first.status_code == 404
    again = api.post("/v1/customers/cus_missing", data={"name": "a"}, headers=h)
    assert again.headers.get("idempotent-replayed") == "true"
    assert again.json() == first.json()
    # An error's answer carries the key's headers as a success's does, first time and replayed.
    assert first.headers["idempotency-key"] == again.headers["idempotency-key"] == "k3"
    assert first.headers["original-request"] == first.headers["request-id"]
    assert again.headers["original-request"] == first.headers["request-id"]
    h = {"Idempotency-Key": "k4"}
    bad = api.post("/v1/customers", data={"balance": "x"}, headers=h)
    assert bad.status_code == 400
    good = api.post("/v1/customers", data={"balance": "5"}, headers=h)
    assert good.status_code == 200
    assert good.json()["balance"] == 5


def test_concurrent_requests_with_one_key_create_one_object(api: httpx.Client) -> None:
    h = {"Idempotency-Key": "race"}
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        results = list(
            pool.map(
                lambda _: api.post("/v1/customers", data={"email": "r@y.co"}, headers=h), range(16)
            )
        )
    ids = {r.json()["id"] for r in results if r.status_code == 200}
    assert len(ids) == 1
    assert all(r.status_code in (200, 409) for r in results)
    assert len(api.get("/v1/customers").json()["data"]) == 1


def test_pagination_is_newest_first_with_cursors(api: httpx.Client) -> None:
    ids = [api.post("/v1/customers").json()["id"] for _ in range(5)]
    page = api.get("/v1/customers", params={"limit": 2}).json()
    assert [c["id"] for c in page["data"]] == [ids[4], ids[3]]
    assert page["has_more"] is True
    assert page["url"] == "/v1/customers"
    nxt = api.get("/v1/customers", params={"limit": 2, "starting_after": ids[3]}).json()
    assert [c["id"] for c in nxt["data"]] == [ids[2], ids[1]]
    last = api.get("/v1/customers", params={"limit": 2, "starting_after": ids[1]}).json()
    assert [c["id"] for c in last["data"]] == [ids[0]]
    assert last["has_more"] is False
    back = api.get("/v1/customers", params={"limit": 2, "ending_before": ids[0]}).json()
    assert [c["id"] for c in back["data"]] == [ids[2], ids[1]]
    assert back["has_more"] is True


def test_pagination_errors(api: httpx.Client) -> None:
    assert_error(
        api.get("/v1/customers", params={"limit": 0}),
        400,
        code="parameter_invalid_integer",
        param="limit",
    )
    assert_error(
        api.get("/v1/customers", params={"limit": 101}),
        400,
        code="parameter_invalid_integer",
        param="limit",
    )
    assert_error(
        api.get("/v1/customers", params={"starting_after": "cus_nope"}),
        404,
        code="resource_missing",
        param="starting_after",
    )
    err = assert_error(
        api.get("/v1/customers", params={"starting_after": "a", "ending_before": "b"}), 400
    )
    assert err["message"].startswith("Received both starting_after and ending_before")


def test_expand_rejects_non_expandable_fields(api: httpx.Client) -> None:
    cus = api.post("/v1/customers").json()
    err = assert_error(api.get(f"/v1/customers/{cus['id']}", params={"expand[]": "email"}), 400)
    assert err["message"] == "This property cannot be expanded (email)."
    err = assert_error(api.get("/v1/customers", params={"expand[]": "email"}), 400)
    assert "You may want to try expanding 'data.email' instead." in err["message"]
    err = assert_error(
        api.get("/v1/customers", params={"expand[]": "data.a.b.c.d"}),
        400,
        code="property_expansion_max_depth",
    )


def test_a_request_that_fails_after_its_handler_ran_changes_nothing(api: httpx.Client) -> None:
    assert_error(api.post("/v1/customers", data={"expand[]": "nope"}), 400)
    assert api.get("/v1/customers").json()["data"] == []
    assert api.get("/v1/events").json()["data"] == []


def test_a_failed_request_with_an_idempotency_key_can_be_retried_corrected(
    api: httpx.Client,
) -> None:
    h = {"Idempotency-Key": "fixme"}
    assert api.post("/v1/customers", data={"expand[]": "nope"}, headers=h).status_code == 400
    assert api.get("/v1/customers").json()["data"] == []
    fixed = api.post("/v1/customers", headers=h)
    assert fixed.status_code == 200
    assert "idempotent-replayed" not in fixed.headers


def test_a_response_sent_as_header_lines_has_the_headers_the_asgi_way_sends() -> None:
    from fake_stripe.wire import JSONResponse

    def asgi_lines(response: JSONResponse) -> bytes:
        return b"".join(b"%s: %s\r\n" % pair for pair in response.raw_headers)

    given = {"Request-Id": "req_1", "Stripe-Version": "2026-10-28.endive", "Idempotency-Key": "k"}
    ok = JSONResponse(200, {"id": "cus_1"}, dict(given))
    lines = ok.header_lines()
    assert lines is not None and lines == asgi_lines(JSONResponse(200, {"id": "cus_1"}, given))
    assert lines.endswith(b"content-length: 14\r\ncontent-type: application/json\r\n")
    # Left to the ASGI way, whose checks and framing apply: a header that frames the response,
    # a name that is no token, a value that is not plain printable text, and headers that may
    # have changed (Starlette's `headers` reads `raw_headers`, and may add to it).
    for odd in (
        {"Connection": "close"},
        {"Bad Name": "x"},
        {"X-A": "1\r\nX-B: 2"},
        {"X-T": "a\tb"},
    ):
        assert JSONResponse(200, {}, {**given, **odd}).header_lines() is None
    changed = JSONResponse(200, {}, dict(given))
    changed.headers["Access-Control-Allow-Origin"] = "*"
    assert changed.header_lines() is None
    assert (b"access-control-allow-origin", b"*") in changed.raw_headers
