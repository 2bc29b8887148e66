"""Hostile input and a safe control surface: each way in an attacker tried has its test here.

Limits: a body over the size limit is a 413 before it is read whole; a request name nested
beyond the limit is refused at the first level too many. Tenancy: a tenant name is never read
as a key. No input gives a 500, and a real fault of the fake gives a Stripe-shaped 500 on every
route, with the connection kept. `/_fake/` refuses cross-site requests.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import socket
import time
from collections.abc import Iterator, MutableMapping
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fake_stripe import create_app, http_server
from fake_stripe.core.errors import ParamError
from fake_stripe.core.formdata import MAX_DEPTH, decode
from fake_stripe.core.tenant import tenant_of
from fake_stripe.http_server import ServerThread
from fake_stripe.inprocess import client as inprocess_client
from fake_stripe.webhooks.delivery import Deliveries
from fake_stripe.webhooks.schedule import RetrySchedule, ScheduleError

from .helpers import assert_error

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@pytest.fixture(scope="module")
def small() -> Iterator[tuple[Any, str]]:
    """An app of its own with a 1,000-byte body limit and short deadlines, on a socket."""
    app = create_app(seed=11, max_body=1000, body_timeout=0.5)
    with ServerThread(app) as url:
        yield app, url
    app.fake.close()


def raw_exchange(url: str, *requests: bytes, timeout: float = 5) -> list[bytes]:
    """Send each request on one connection and read one response after each (b"" when the
    server closed the connection instead)."""
    host, port = url.removeprefix("http://").split(":")
    out: list[bytes] = []
    with socket.create_connection((host, int(port)), timeout=timeout) as sock:
        for req in requests:
            try:
                sock.sendall(req)
                out.append(_read_response(sock))
            except (ConnectionError, TimeoutError):
                out.append(b"")
    return out


def _read_response(sock: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return head + b"\r\n\r\n" + body


# ---- 1. decoding and the body limit ----------------------------------------------------------


def test_depth_limit_is_enforced_while_scanning_a_name() -> None:
    # Too deep, then malformed: refused for its depth, at the first level over the limit (the
    # whole name used to be split first, which is what made deep names quadratic).
    raw = b"a" + b"[x]" * MAX_DEPTH + b"[unclosed=1"
    with pytest.raises(ParamError) as info:
        decode(raw)
    assert "nested too deeply" in info.value.message
    assert info.value.param == "a"


def test_a_name_of_600000_brackets_is_refused_for_its_depth() -> None:
    with pytest.raises(ParamError) as info:
        decode(b"a" + b"[a]" * 600_000 + b"=1")
    assert info.value.param == "a"


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40), st.lists(st.sampled_from(["raw", "upper", "lower"]), min_size=1))
def test_percent_escapes_decode_to_what_was_encoded(text: str, styles: list[str]) -> None:
    out = []
    for i, byte in enumerate(text.encode()):
        style = styles[i % len(styles)]
        if style == "raw" and byte not in b"&%+":
            out.append(bytes([byte]))
        else:
            out.append((b"%%%02X" if style == "upper" else b"%%%02x") % byte)
    body = b"v=" + b"".join(out)
    if "\0" in text:  # a NUL, escaped or not, is refused (docs/api.md)
        with pytest.raises(ParamError) as info:
            decode(body)
        assert info.value.param == "v"
    else:
        assert decode(body).get("v", "") == text


def test_body_over_the_limit_is_a_413_in_process() -> None:
    app = create_app(seed=1, max_body=100)
    with inprocess_client(app) as c:
        c.headers["Authorization"] = "Bearer sk_test_limit"
        ok = c.post("/v1/customers", content=b"description=" + b"x" * 88, headers=FORM)
        assert ok.status_code == 200, ok.text
        big = c.post("/v1/customers", content=b"description=" + b"x" * 89, headers=FORM)
        err = assert_error(big, 413)
        assert "at most 100 bytes" in err["message"]
    app.fake.close()


def test_body_over_the_limit_is_a_413_over_a_socket_with_the_connection_closed(
    small: tuple[Any, str],
) -> None:
    _app, url = small
    resp = httpx.post(
        f"{url}/v1/customers",
        content=b"description=" + b"x" * 2000,
        headers={**FORM, "Authorization": "Bearer sk_test_big"},
    )
    assert_error(resp, 413)
    assert resp.headers["connection"] == "close"


def test_a_declared_length_over_the_limit_is_refused_before_any_body_is_read(
    small: tuple[Any, str],
) -> None:
    _app, url = small
    head = (
        b"POST /v1/customers HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer sk_test_cl\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 200000000\r\n\r\n"
    )
    (resp,) = raw_exchange(url, head)  # not one byte of the 200 MB is sent
    assert resp.startswith(b"HTTP/1.1 413 ")


def test_a_body_over_the_limit_that_came_whole_with_its_head_is_refused_too(
    small: tuple[Any, str],
) -> None:
    # Sent in one write, the body is whole when the request is answered (the server takes it
    # at once, `_Cycle.whole_body`); chunked, no length declared it: its size is what counts.
    _app, url = small
    body = b"description=" + b"x" * 1500
    request = (
        b"POST /v1/customers HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer sk_test_whole\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)
    )
    (resp,) = raw_exchange(url, request)
    assert resp.startswith(b"HTTP/1.1 413 ")
    assert b"\r\nconnection: close\r\n" in resp.lower()


def test_a_get_that_declares_a_body_is_bounded_too(small: tuple[Any, str]) -> None:
    # A GET or HEAD without Content-Length or Transfer-Encoding has no body and is not read;
    # one that declares a body is bounded as any other request.
    _app, url = small
    head = (
        b"GET /v1/customers HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer sk_test_cl\r\n"
        b"Content-Length: 200000000\r\n\r\n"
    )
    (resp,) = raw_exchange(url, head)
    assert resp.startswith(b"HTTP/1.1 413 ")


def test_a_chunked_body_without_length_is_counted_as_it_arrives(small: tuple[Any, str]) -> None:
    _app, url = small

    def chunks() -> Iterator[bytes]:
        yield b"description="
        for _ in range(100):  # 100 KB in all; the limit is 1,000 bytes
            yield b"x" * 1000

    resp = httpx.post(
        f"{url}/v1/customers",
        content=chunks(),
        headers={**FORM, "Authorization": "Bearer sk_test_chunked"},
    )
    assert_error(resp, 413)


def test_a_body_that_stops_arriving_gets_a_408(small: tuple[Any, str]) -> None:
    _app, url = small
    head = (
        b"POST /v1/customers HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer sk_test_slow\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\nemail="
    )
    started = time.monotonic()
    (resp,) = raw_exchange(url, head)
    assert resp.startswith(b"HTTP/1.1 408 "), resp
    assert time.monotonic() - started < 4


def test_an_incomplete_request_head_is_dropped_after_the_header_timeout(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(http_server, "HEADER_TIMEOUT", 0.3)
    app = create_app(seed=2)
    with ServerThread(app) as url:
        started = time.monotonic()
        (resp,) = raw_exchange(url, b"GET /v1/customers HTTP/1.1\r\nHost: 127.0.0.1\r\nX-A:")
        assert resp == b""
        assert time.monotonic() - started < 4
        # A connection that never sends a byte is dropped too.
        host, port = url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=5) as sock:
            assert sock.recv(1) == b""
    app.fake.close()


def test_a_request_head_over_64_kib_is_refused(server: ServerThread) -> None:
    resp = httpx.get(f"{server.url}/_fake/health", headers={"X-Big": "x" * 70_000})
    assert resp.status_code == 400


def test_a_client_leaving_mid_body_is_not_logged_as_an_error(
    app: Any, caplog: pytest.LogCaptureFixture
) -> None:
    messages: list[dict[str, Any]] = [
        {"type": "http.request", "body": b"email=a", "more_body": True},
        {"type": "http.disconnect"},
    ]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return messages.pop(0)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/v1/customers",
        "raw_path": b"/v1/customers",
        "query_string": b"",
        "headers": [(b"authorization", b"Bearer sk_test_gone"), (b"content-length", b"100")],
        "scheme": "http",
        "server": ("127.0.0.1", 80),
        "client": ("127.0.0.1", 1),
        "http_version": "1.1",
        "root_path": "",
    }
    with caplog.at_level(logging.INFO, logger="fake_stripe"):
        asyncio.run(app(scope, receive, send))
    assert sent == []
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []


# ---- 2. webhook settings have bounds ---------------------------------------------------------


@pytest.mark.parametrize(
    ("param", "value"),
    [
        ("base_delay", "1e308"),
        ("base_delay", "86401"),
        ("factor", "1e308"),
        ("time_scale", "1e9"),
        ("timeout", "1e9"),
        ("shuffle_window", "1e9"),
        ("max_attempts", "101"),
        ("base_delay", "nan"),
    ],
)
def test_out_of_bounds_webhook_settings_are_refused(
    api: httpx.Client, param: str, value: str
) -> None:
    resp = api.post("/_fake/webhooks/settings", data={param: value})
    code = "parameter_invalid_integer" if param == "max_attempts" else None
    assert_error(resp, 400, code=code, param=param)
    assert api.get("/_fake/webhooks/settings").json()["retry_schedule"] == {
        "base_delay": 60.0,
        "factor": 10.0,
        "max_attempts": 4,
        "time_scale": 1.0,
        "timeout": 10.0,
    }


def test_settings_whose_longest_wait_passes_30_days_are_refused(api: httpx.Client) -> None:
    # Each within its bounds, but 60 s * 10**98 between the last two attempts.
    assert_error(
        api.post("/_fake/webhooks/settings", data={"max_attempts": "100"}),
        400,
        param="max_attempts",
    )
    ok = api.post("/_fake/webhooks/settings", data={"max_attempts": "100", "factor": "1"})
    assert ok.status_code == 200, ok.text


def test_the_server_wide_schedule_has_the_same_bounds() -> None:
    with pytest.raises(ScheduleError):
        RetrySchedule(base_delay=1e308).check()
    d = Deliveries.__new__(Deliveries)
    d.schedule = RetrySchedule()
    with pytest.raises(ValueError):
        Deliveries.configure(d, base_delay=1e308)
    assert d.schedule == RetrySchedule()
    with pytest.raises(ValueError):
        create_app(webhook_retry_schedule=RetrySchedule(factor=float("inf")))


def test_stored_settings_out_of_bounds_are_ignored_not_fatal(app: Any, key: str) -> None:
    fake = app.fake
    tenant = fake.tenant(tenant_of(key))
    tenant.meta_set("webhooks:settings", '{"base_delay": 1e308}')
    assert fake.webhooks.settings(tenant).base_delay is None
    assert RetrySchedule(base_delay=1e300, factor=1e300).delay(5) == 30 * 86_400.0


# ---- 3. one key, one tenant ------------------------------------------------------------------


def test_a_tenant_name_that_looks_like_a_key_never_reads_another_tenants_journal(
    base_client: httpx.Client, key: str
) -> None:
    victim = {"Authorization": f"Bearer {key}"}
    base_client.post(
        "/v1/webhook_endpoints",
        data={"url": "http://127.0.0.1:9/hook", "enabled_events[]": "*"},
        headers=victim,
    ).raise_for_status()
    base_client.post(
        "/_fake/webhooks/settings", data={"max_attempts": "1"}, headers=victim
    ).raise_for_status()
    base_client.post("/v1/customers", headers=victim).raise_for_status()
    deadline = time.monotonic() + 10
    while not base_client.get("/_fake/webhooks/deliveries", headers=victim).json()["data"]:
        assert time.monotonic() < deadline, "no delivery attempt in the victim's journal"
        time.sleep(0.05)
    attacker = {"Authorization": f"Bearer sk_test_{key}"}
    seen = base_client.get("/_fake/webhooks/deliveries", headers=attacker)
    assert seen.status_code == 200
    assert seen.json()["data"] == []


def test_tenant_of_reads_one_key_in_full() -> None:
    assert tenant_of("sk_test_sk_test_victim") == "sk_test_victim"
    assert tenant_of("pk_test_abc") == "abc"
    for bad in ("sk_test_abc\n", "sk_test_", "xx_test_abc", "sk_test_a-b"):
        with pytest.raises(ValueError):
            tenant_of(bad)


def test_a_basic_key_with_a_trailing_newline_is_not_a_tenant_of_its_own(
    base_client: httpx.Client,
) -> None:
    cred = base64.b64encode(b"sk_test_newline\n:").decode()
    resp = base_client.get("/v1/customers", headers={"Authorization": f"Basic {cred}"})
    assert_error(resp, 401, type_="invalid_request_error")


def test_reset_with_a_key_that_is_not_one_is_refused(base_client: httpx.Client) -> None:
    resp = base_client.post("/_fake/reset", data={"key": "x_y_victim"})
    assert_error(resp, 400, param="key")


# ---- 4. no 500 from any input ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "body", "param"),
    [
        ("POST", "/v1/customers", "preferred_locales[²]=en", "preferred_locales"),
        ("POST", "/v1/customers", "expand[²]=x", "expand"),
        ("GET", "/v1/events", "types[²]=customer.created", "types"),
        (
            "POST",
            "/v1/webhook_endpoints",
            "url=http://127.0.0.1:9/&enabled_events[١]=*",
            "enabled_events",
        ),
    ],
)
def test_non_ascii_digit_array_indexes_are_a_400(
    api: httpx.Client, method: str, path: str, body: str, param: str
) -> None:
    if method == "GET":
        resp = api.get(f"{path}?{body}")
    else:
        resp = api.post(path, content=body.encode(), headers=FORM)
    assert_error(resp, 400, param=param)


def test_non_ascii_digit_accounts_index_in_the_stripejs_flow_is_a_400(
    base_client: httpx.Client,
) -> None:
    resp = base_client.post(
        "/_stripejs/v1/complete",
        content="client_secret=fcsess_x_secret_y&accounts[²]=new_0".encode(),
        headers={**FORM, "Authorization": "Bearer pk_test_digits"},
    )
    assert_error(resp, 400, param="accounts")
    assert resp.headers["access-control-allow-origin"] == "*"


@pytest.mark.parametrize(
    "path_body",
    [
        ("/v1/setup_intents", "metadata="),
        (
            "/v1/payment_methods",
            "type=us_bank_account&metadata=&billing_details[name]=Jane"
            "&us_bank_account[routing_number]=110000000"
            "&us_bank_account[account_number]=000123456789"
            "&us_bank_account[account_holder_type]=individual",
        ),
    ],
)
def test_empty_metadata_is_not_a_500(api: httpx.Client, path_body: tuple[str, str]) -> None:
    path, body = path_body
    resp = api.post(path, content=body.encode(), headers=FORM)
    assert resp.status_code < 500, resp.text


@pytest.fixture
def faulty() -> Iterator[tuple[Any, str]]:
    """An app whose tenant `boom` raises a fault of the fake on every route that reaches it."""
    app = create_app(seed=3)
    fake = app.fake
    real = fake.tenant

    def tenant(name: str) -> Any:
        if name == "boom":
            raise RuntimeError("a fault of the fake")
        return real(name)

    fake.tenant = tenant  # type: ignore[method-assign]
    with ServerThread(app) as url:
        yield app, url
    fake.close()


@pytest.mark.parametrize(
    ("path", "key", "cors"),
    [
        ("/v1/customers", "sk_test_boom", False),
        ("/_fake/webhooks/settings", "sk_test_boom", False),
        ("/_stripejs/v1/session", "pk_test_boom", True),
    ],
)
def test_a_fault_of_the_fake_is_a_stripe_500_and_keeps_the_connection(
    faulty: tuple[Any, str], path: str, key: str, cors: bool, caplog: pytest.LogCaptureFixture
) -> None:
    _app, url = faulty
    body = b"client_secret=x"
    request = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {key}\r\n"
        f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    health = b"GET /_fake/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    with caplog.at_level(logging.ERROR, logger="fake_stripe"):
        first, second = raw_exchange(url, request, health)
    head, _, payload = first.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 500 "), first
    assert b'"type":"api_error"' in payload
    assert (b"access-control-allow-origin: *" in head.lower()) is cors
    assert second.startswith(b"HTTP/1.1 200 "), "the connection was closed after the 500"


@pytest.mark.parametrize("path", ["/v1/customers", "/_fake/health"])
def test_a_fault_after_the_answer_started_sends_no_second_answer(
    path: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A fault once the response's start is out (its body's send failing) is logged, and the
    catch-all sends no 500 after it: on `/v1`, which tells `Edge` it answers, and beside it,
    where `Edge` watches the messages."""
    app = create_app(seed=3)
    sent: list[MutableMapping[str, Any]] = []

    async def send(message: MutableMapping[str, Any]) -> None:
        if message["type"] == "http.response.body" and sent:
            raise RuntimeError("the body could not be sent")
        sent.append(message)

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"127.0.0.1"), (b"authorization", b"Bearer sk_test_x")],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 2),
    }
    try:
        with caplog.at_level(logging.ERROR, logger="fake_stripe"):
            asyncio.run(app(scope, receive, send))
    finally:
        app.fake.close()
    assert [m["type"] for m in sent] == ["http.response.start"]
    assert sent[0]["status"] == 200
    assert "internal error" in caplog.text


# ---- 5. the control surface refuses cross-site requests ---------------------------------------


def reset_own(url: str, key: str, **headers: str) -> httpx.Response:
    return httpx.post(
        f"{url}/_fake/reset",
        content=f"key={key}".encode(),
        headers={"Content-Type": "text/plain", **headers},
    )


@pytest.mark.parametrize(
    "headers",
    [
        {"Host": "evil.example:12180"},  # DNS rebinding: the attacker's name, our address
        {"Origin": "http://evil.example"},  # a cross-origin "simple" POST
        {"Origin": "null"},
        {"Sec-Fetch-Site": "cross-site"},
    ],
)
def test_control_routes_refuse_cross_site_requests(
    server: ServerThread, key: str, headers: dict[str, str]
) -> None:
    resp = reset_own(server.url, key, **headers)
    assert_error(resp, 403)
    assert "/_fake/" in resp.json()["error"]["message"]
    settings = httpx.get(
        f"{server.url}/_fake/webhooks/settings",
        headers={"Authorization": f"Bearer {key}", **headers},
    )
    assert_error(settings, 403)


def test_control_routes_accept_their_own_origin_and_loopback_names(
    server: ServerThread, key: str
) -> None:
    port = server.url.rsplit(":", 1)[1]
    assert reset_own(server.url, key, Origin=server.url).status_code == 200
    assert reset_own(server.url, key, Host=f"localhost:{port}").status_code == 200
    assert reset_own(server.url, key, **{"Sec-Fetch-Site": "same-origin"}).status_code == 200


def test_control_routes_refuse_another_origin_in_process(base_client: httpx.Client) -> None:
    resp = base_client.get("/_fake/health", headers={"Origin": "http://evil.example"})
    assert_error(resp, 403)


def test_with_the_control_token_the_token_is_the_credential() -> None:
    app = create_app(seed=4, control_token="s3cret")
    with ServerThread(app) as url:
        foreign = {"Host": "evil.example", "Origin": "http://evil.example"}
        assert_error(httpx.get(f"{url}/_fake/health", headers=foreign), 403)
        ok = httpx.get(f"{url}/_fake/health", headers={**foreign, "Authorization": "Bearer s3cret"})
        assert ok.status_code == 200
    app.fake.close()


def test_stripejs_routes_still_answer_other_origins(base_client: httpx.Client) -> None:
    js = base_client.get("/v3/", headers={"Origin": "http://merchant.example"})
    assert js.status_code == 200
    flow = base_client.options(
        "/_stripejs/v1/session", headers={"Origin": "http://merchant.example"}
    )
    assert flow.status_code == 204
    assert flow.headers["access-control-allow-origin"] == "*"


# ---- 6/7. smaller -----------------------------------------------------------------------------


def test_an_empty_idempotency_key_is_a_400(api: httpx.Client) -> None:
    resp = api.post("/v1/customers", headers={"Idempotency-Key": ""})
    err = assert_error(resp, 400)
    assert "1-255 characters" in err["message"]


def test_the_tenant_cache_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    from fake_stripe import state as state_module

    monkeypatch.setattr(state_module, "TENANT_CACHE", 3)
    app = create_app(seed=5)
    fake = app.fake
    with inprocess_client(app) as c:
        for n in range(10):
            r = c.get("/v1/customers", headers={"Authorization": f"Bearer sk_test_cache{n}"})
            assert r.status_code == 200
        assert len(fake._tenants) == 3
        # An evicted tenant comes back with its objects: its state lives in the store.
        c.post("/v1/customers", headers={"Authorization": "Bearer sk_test_cache9"})
        for n in range(5):
            c.get("/v1/customers", headers={"Authorization": f"Bearer sk_test_other{n}"})
        listed = c.get("/v1/customers", headers={"Authorization": "Bearer sk_test_cache9"})
        assert len(listed.json()["data"]) == 1
    fake.close()


def test_serve_keeps_webhook_urls_out_of_its_logs() -> None:
    # httpx logs every request it sends at INFO, URL and query string included.
    from .test_serve import start, stop

    proc, url = start("--seed", "12")
    try:
        auth = {"Authorization": "Bearer sk_test_quiet"}
        hook = f"{url}/hook?token=receiver-secret"  # any answer will do: a 404 from the fake
        httpx.post(
            f"{url}/v1/webhook_endpoints",
            data={"url": hook, "enabled_events[]": "*"},
            headers=auth,
        ).raise_for_status()
        httpx.post(f"{url}/v1/customers", headers=auth).raise_for_status()
        deadline = time.monotonic() + 10
        while not httpx.get(f"{url}/_fake/webhooks/deliveries", headers=auth).json()["data"]:
            assert time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        logged = stop(proc)
    assert "receiver-secret" not in logged


def test_keys_that_only_read_leave_nothing_behind_in_the_memory_store() -> None:
    """Keys cost nothing to invent: a key whose requests only read keeps no tenant in the
    memory store (its first write makes it), and a key's tenant name is at most 200
    characters, so one client cannot grow the server's memory by inventing keys."""
    app = create_app(seed=4)
    try:
        with inprocess_client(app) as c:
            for n in range(50):
                key = f"sk_test_reader{n}_" + "x" * 150
                assert c.get("/v1/customers", auth=(key, "")).status_code == 200
                assert c.get("/v1/events", auth=(key, "")).status_code == 200
                missing = c.get("/v1/customers/cus_nope", auth=(key, ""))
                assert missing.status_code == 404
            assert app.fake.backend.tenants() == []
            assert c.post("/v1/customers", auth=("sk_test_writer", "")).status_code == 200
            assert app.fake.backend.tenants() == ["writer"]
            too_long = c.get("/v1/customers", auth=("sk_test_" + "y" * 201, ""))
            assert too_long.status_code == 401
            assert too_long.json()["error"]["message"].startswith("Invalid API Key provided")
            assert c.get("/v1/customers", auth=("sk_test_" + "y" * 200, "")).status_code == 200
    finally:
        app.fake.close()
