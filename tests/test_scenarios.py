"""The scenario catalog: every file is a test case, in-process and over a socket; the format's
checks and markers; the runner's report; the `scenarios` CLI."""

from __future__ import annotations

import http.client
import json
import os
import socket
import struct
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import stripe

from client import transport
from scenarios import Target, discover, load, run_scenario
from scenarios.cli import main as scenarios_main
from scenarios.expect import MISSING, Matcher
from scenarios.model import ScenarioFormatError
from scenarios.receiver import WebhookReceiver

CATALOG = discover()
REQUIRED = {  # the scenarios the catalog must always hold, by file
    "payments-token-expired",
    "payments-mfa-changed",
    "payments-account-locked",
    "payments-credentials-changed",
    "payments-access-revoked",
    "data-token-expired",
    "data-mfa-changed",
    "data-account-locked",
    "data-credentials-changed",
    "data-access-revoked",
    "relink-different-account",
    "zero-accounts",
    "flow-error",
    "user-cancel",
    "closed-account-connect-from-scratch",
    "permanent-loss-connect-from-scratch",
    "relink-required-account-other-chosen",
    "chase-relink-updates-payment-method",
    "pnc-relink-updates-payment-method",
    "tan-expiry-blocks-then-relink",
    "upcoming-deactivation-proactive-relink",
    "two-accounts-one-closed",
    "session-create-500-retried",
    "missing-preview-version-rejected",
    "webhook-receiver-down-then-up",
    "session-create-500-before-create-retried",
}


@pytest.fixture(scope="module")
def inprocess_target(app: Any) -> Iterator[Target]:
    target = Target.in_process(app)
    yield target
    target.close()


@pytest.fixture
def target(mode: str, request: pytest.FixtureRequest) -> Iterator[Target]:
    if mode == "inprocess":
        t: Target = request.getfixturevalue("inprocess_target")
        yield t
        return
    served = Target(url=request.getfixturevalue("server").url)
    yield served
    served.close()


@pytest.mark.parametrize("path", CATALOG, ids=[p.stem for p in CATALOG])
def test_scenario(path: Path, target: Target, key: str) -> None:
    result = run_scenario(load(path), target, key=key)
    assert result.passed, f"{result.outcome}: {path.name}\n" + "\n".join(result.details())


def test_catalog_holds_every_required_scenario() -> None:
    assert REQUIRED <= {p.stem for p in CATALOG}


def write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / f"{name}.toml"
    p.write_text(text)
    return p


BASE = """
description = "a scenario"
[given]
accounts = { checking = "checking" }
[flow]
account = "checking"
"""


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ('[expect]\ndecison = "relink"', "unknown key expect.decison"),
        (
            '[[happens]]\ndeactivate = "savings"\nreason = "token_expired"',
            "happens[0].deactivate = 'savings' is not one of checking",
        ),
        ('[[happens]]\nreason = "token_expired"', "needs exactly one of"),
        ('[[happens]]\ndeactivate = "checking"', "deactivate needs one of reason, cause"),
        ('[[happens]]\ndeactivate = "checking"\nreason = "bored"', "'bored' is not one of"),
        ('[expect]\naccounts.savings = { status = "active" }', "no account is named 'savings'"),
        ('[expect]\nsession = { id = "{sesion}" }', "unknown reference {sesion}"),
        ('[expect]\nevents = { "x.y" = "one" }', "must be an integer"),
        ('[expect.requests."PUT /v1/x"]\nattempts = 1', "is not 'METHOD /v1/path'"),
        ("[[happens]]\nfault = { status = 500 }", "fault needs path"),
        (
            '[[happens]]\nfault = { path = "/v1/x", status = 500, when = "later" }',
            "happens[0].fault.when = 'later' is not one of before, after",
        ),
        (
            '[[happens]]\nfault = { path = "/v1/x", delay_ms = 5, when = "after" }',
            'when = "after" needs a status',
        ),
        (
            "[[happens]]\nwebhook_receiver = { count = 1 }",
            'the receiver exists only with [given] webhooks = "delivered"',
        ),
        (
            "[expect.webhooks]\npending_webhooks = 0",
            'observed only with [given] webhooks = "delivered"',
        ),
    ],
)
def test_format_errors_are_reported_before_anything_runs(
    tmp_path: Path, extra: str, message: str
) -> None:
    with pytest.raises(
        ScenarioFormatError,
        match=message.replace("[", r"\[").replace("{", r"\{").replace(".", r"\."),
    ):
        load(write(tmp_path, "bad", BASE + extra))


DELIVERED = BASE.replace(
    'accounts = { checking = "checking" }',
    'accounts = { checking = "checking" }\nwebhooks = "delivered"',
)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ('[given]\nwebhooks = "pushed"', "given.webhooks = 'pushed' is not one of"),
        ("[[happens]]\nwebhook_receiver = { status = 500 }", "webhook_receiver needs count"),
        ("[[happens]]\nwebhook_receiver = { count = 0 }", "count must be at least 1"),
        (
            "[[happens]]\nwebhook_receiver = { count = 1, status = 200 }",
            "status must be a failure status",
        ),
        (
            "[[happens]]\nwebhook_receiver = { count = 1, url = 'x' }",
            "unknown key happens[0].webhook_receiver.url",
        ),
        ("[expect.webhooks]\nfailed = 1", "unknown key expect.webhooks.failed"),
        ('[expect.webhooks]\njournal = { "a.b" = 500 }', "must be a list of HTTP statuses"),
        ('[expect.webhooks]\ndelivered = { "a.b" = "1" }', "must be an integer"),
    ],
)
def test_webhook_format_errors(tmp_path: Path, extra: str, message: str) -> None:
    text = (
        DELIVERED
        if not extra.startswith("[given]")
        else BASE.replace("[given]\naccounts", extra + "\naccounts")
    )
    if not extra.startswith("[given]"):
        text += extra
    with pytest.raises(
        ScenarioFormatError,
        match=message.replace("[", r"\[").replace("{", r"\{").replace(".", r"\."),
    ):
        load(write(tmp_path, "bad", text))


def test_a_scenario_file_is_named_in_lower_case_with_dashes(tmp_path: Path) -> None:
    with pytest.raises(ScenarioFormatError, match="lower-case-with-dashes"):
        load(write(tmp_path, "Bad_Name", BASE))


def test_toml_syntax_errors_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(ScenarioFormatError, match="bad.toml: not valid TOML"):
        load(write(tmp_path, "bad", "description = "))


def matcher(**ids: str) -> Matcher:
    base = {"payment_methods": {"checking": {"last4": "1234"}}}

    def baseline(where: str) -> Any:
        cur: Any = base
        for part in where.split("expect.", 1)[-1].split("."):
            if not isinstance(cur, dict) or part not in cur:
                return MISSING
            cur = cur[part]
        return cur

    return Matcher(lambda kind, ref: ids.get(f"{kind}.{ref}" if ref else kind), baseline)


def test_markers_and_references() -> None:
    m = matcher(customer="cus_1")
    actual: dict[str, Any] = {"a": None, "c": "x", "customer": "cus_1", "d": {}, "l": [1, 2]}
    assert (
        m.match(
            {
                "a": "<null>",
                "b": "<absent>",
                "c": "<any>",
                "customer": "{customer}",
                "d": {},
                "l": [1, 2],
            },
            actual,
            "expect",
        )
        == []
    )
    bad = m.match(
        {"a": "<any>", "c": "<absent>", "customer": "{customer}", "d": {"k": 1}},
        {"a": None, "c": "x", "customer": "cus_2", "d": {}},
        "expect",
    )
    assert [str(x) for x in bad] == [
        "expect.a: expected '<any>', got null (a value)",
        "expect.c: expected <absent>, got 'x'",
        "expect.customer: expected 'cus_1', got 'cus_2' ({customer})",
        "expect.d.k: expected 1, got <absent>",
    ]


def test_an_empty_table_requires_an_empty_object() -> None:
    assert [str(x) for x in matcher().match({}, {"inactive": {}}, "expect.status_details")] == [
        "expect.status_details: expected {}, got {'inactive': {}}"
    ]


def test_changed_compares_with_the_state_after_given() -> None:
    m = matcher()
    where = "expect.payment_methods.checking.last4"
    assert m.match("<changed>", "9999", where) == []
    assert [str(x) for x in m.match("<changed>", "1234", where)] == [
        f"{where}: expected '<changed>', got '1234' (after [given] it was '1234')"
    ]
    assert m.match("<unchanged>", "1234", where) == []


def test_a_failing_scenario_says_which_expectation_failed(
    tmp_path: Path, inprocess_target: Target, key: str
) -> None:
    text = (Path(CATALOG[0]).parent / "payments-token-expired.toml").read_text()
    broken = text.replace('resolution = "reauthorized"', 'resolution = "new_account"')
    result = run_scenario(load(write(tmp_path, "broken", broken)), inprocess_target, key=key)
    assert result.outcome == "fail"
    assert result.details() == ["expect.resolution: expected 'new_account', got 'reauthorized'"]


# ---- real webhook delivery and lost responses: the scenarios have teeth -----------------------


def catalog_text(name: str) -> str:
    return (Path(CATALOG[0]).parent / f"{name}.toml").read_text()


def test_a_receiver_down_for_longer_than_the_retries_leaves_the_account_unflagged(
    tmp_path: Path, inprocess_target: Target, key: str
) -> None:
    text = catalog_text("webhook-receiver-down-then-up").replace(
        "webhook_receiver = { count = 2, status = 500 }",
        "webhook_receiver = { count = 4, status = 503 }",
    )
    result = run_scenario(load(write(tmp_path, "down-too-long", text)), inprocess_target, key=key)
    assert result.outcome == "fail"
    step = "happens[1].expect"
    assert result.details()[:4] == [
        f"{step}.watchlist.needs_relink: expected ['checking'], got [] (accounts the "
        "client's webhook handler flagged)",
        f"{step}.webhooks.delivered.'financial_connections.account.deactivated': expected 1, "
        "got 0 (events the client's handler verified and accepted after [given])",
        f"{step}.webhooks.journal.'financial_connections.account.deactivated': expected "
        "[500, 500, 200], got [503, 503, 503, 503] (the fake's delivery attempts after [given])",
        f"{step}.webhooks.pending_webhooks: expected 0, got 1 (summed over the events after "
        "[given])",
    ]


def test_a_handler_that_refuses_the_signature_fails_the_scenario(
    tmp_path: Path, inprocess_target: Target, key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from client import RelinkClient

    real = RelinkClient.handle_webhook

    def wrong_secret(self: RelinkClient, payload: str | bytes, sig: str, secret: str) -> Any:
        return real(self, payload, sig, "whsec_not_the_endpoints")

    monkeypatch.setattr(RelinkClient, "handle_webhook", wrong_secret)
    path = write(tmp_path, "refused", catalog_text("webhook-receiver-down-then-up"))
    result = run_scenario(load(path), inprocess_target, key=key)
    assert result.outcome == "fail"
    assert result.details()[0].startswith(
        "given: webhook delivery: expected 'handled', got "
        "'signature refused: No signatures found matching"
    )
    assert any(
        "journal.'financial_connections.account.deactivated': expected [500, 500, 200]"
        ", got [500, 500, 400, 400]" in d
        for d in result.details()
    )


def test_a_client_that_retries_with_a_fresh_idempotency_key_fails_the_lost_response_scenario(
    tmp_path: Path, inprocess_target: Target, key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The mutation the `when = "after"` scenario exists to catch: a retry under a new key
    creates a second session, which the answer's `Idempotent-Replayed` header gives away."""
    real = transport.RecordingHTTPClient.request

    def fresh_key(
        self: transport.RecordingHTTPClient,
        method: str,
        url: str,
        headers: Any,
        post_data: Any = None,
        *,
        _usage: Any = None,
    ) -> Any:
        if headers and "Idempotency-Key" in headers:
            headers = {**headers, "Idempotency-Key": str(uuid.uuid4())}
        return real(self, method, url, headers, post_data, _usage=_usage)

    monkeypatch.setattr(transport.RecordingHTTPClient, "request", fresh_key)
    path = write(tmp_path, "fresh-key", catalog_text("session-create-500-retried"))
    result = run_scenario(load(path), inprocess_target, key=key)
    req = "expect.requests.'POST /v1/financial_connections/sessions'"
    assert result.outcome == "fail"
    assert result.details() == [
        f"{req}.idempotency_keys: expected 1, got 2 (the client's requests after [given])",
        f"{req}.replayed: expected 1, got 0 (the client's requests after [given])",
    ]


def post(url: str, body: bytes, signature: str) -> int:
    req = urllib.request.Request(url, body, {"Stripe-Signature": signature}, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as err:
        err.close()
        return int(err.code)


def test_the_receiver_answers_as_a_merchant_endpoint_would() -> None:
    seen: list[bytes] = []

    def handle(body: bytes, signature: str) -> None:
        if signature != "good":
            raise stripe.SignatureVerificationError("No signatures found", signature)  # type: ignore[no-untyped-call]
        seen.append(body)

    receiver = WebhookReceiver(handle)
    try:
        event = json.dumps({"id": "evt_1", "type": "customer.created"}).encode()
        assert receiver.url.startswith("http://127.0.0.1:")
        receiver.go_down(2, 503)
        assert [post(receiver.url, event, "good") for _ in range(3)] == [503, 503, 200]
        assert post(receiver.url, event, "forged") == 400
        assert seen == [event]
        assert [(h.event, h.type) for h in receiver.handled] == [("evt_1", "customer.created")]
        assert receiver.errors == ["signature refused: No signatures found"]
    finally:
        receiver.close()


def test_the_receiver_keeps_the_connection_and_still_closes_at_once() -> None:
    """The fake's deliveries reuse one kept-alive connection (a connection and a handler thread
    each cost more than the handler); closing the receiver ends a kept connection's thread at
    once instead of waiting for its idle timeout."""
    receiver = WebhookReceiver(lambda body, signature: None)
    accepted: list[object] = []
    get_request = receiver._server.get_request

    def counted() -> Any:
        found = get_request()
        accepted.append(found)
        return found

    receiver._server.get_request = counted  # type: ignore[method-assign]
    host, port = receiver.url.split("/")[2].split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=5)
    event = json.dumps({"id": "evt_1", "type": "customer.created"}).encode()
    try:
        statuses = []
        for _ in range(3):
            conn.request("POST", "/webhooks", body=event, headers={"Stripe-Signature": "s"})
            resp = conn.getresponse()
            resp.read()
            statuses.append(resp.status)
        assert statuses == [200, 200, 200]
        assert len(accepted) == 1
        started = time.monotonic()
    finally:
        receiver.close()  # the connection is still open, idle
    assert time.monotonic() - started < 2
    conn.close()


def test_the_receiver_is_quiet_when_the_fake_drops_its_connection(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A fake that stops (its run cut short) resets the kept connection mid-request: nothing to
    print. Any other error of a handler thread is still printed."""
    receiver = WebhookReceiver(lambda body, signature: None)
    host, port = receiver.url.split("/")[2].split(":")
    try:
        sock = socket.create_connection((host, int(port)), timeout=5)
        sock.sendall(b"POST /webhooks HTTP/1.1\r\nContent-Length: 10\r\n\r\n{")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()  # a reset, not a clean close
        broken = socket.create_connection((host, int(port)), timeout=5)
        broken.sendall(b"POST /webhooks HTTP/1.1\r\nContent-Length: x\r\n\r\n")
        broken.recv(1024)
        broken.close()
    finally:
        receiver.close()
    err = capsys.readouterr().err
    assert "ConnectionResetError" not in err
    assert "ValueError" in err  # the malformed Content-Length crashed its handler, and says so


def test_cli_runs_selected_scenarios_prints_the_table_and_writes_junit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    junit = tmp_path / "out" / "scenarios.xml"
    code = scenarios_main(["run", "-k", "token-expired", "--seed", "7", "--junit", str(junit)])
    out, err = capsys.readouterr()
    assert code == 0, out + err
    assert out.splitlines()[0].split() == ["scenario", "outcome", "time"]
    assert "data-token-expired" in out and "PASS" in out
    assert "3 scenarios: 3 passed, 0 failed, 0 errors" in out
    assert "[1/3] PASS" in err.replace("[ 1/3]", "[1/3]")  # plain progress when not a TTY
    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite is not None and suite.get("tests") == "3" and suite.get("failures") == "0"


def test_cli_exits_non_zero_and_shows_expected_vs_actual_on_failure(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = (Path(CATALOG[0]).parent / "zero-accounts.toml").read_text()
    write(
        tmp_path,
        "zero-accounts-broken",
        text.replace('"no_accounts"\n\n[expect]', '"no_accounts"\n\n[expect]\nproactive = true'),
    )
    junit = tmp_path / "j.xml"
    code = scenarios_main(["run", str(tmp_path), "--junit", str(junit)])
    out, _err = capsys.readouterr()
    assert code == 1
    assert "zero-accounts-broken  FAIL" in out
    assert "- expect.proactive: expected True, got False" in out
    failure = ET.parse(junit).getroot().find("testsuite/testcase/failure")
    assert failure is not None
    assert failure.get("message") == "expect.proactive: expected True, got False"


def test_cli_lists_the_catalog(capsys: pytest.CaptureFixture[str]) -> None:
    assert scenarios_main(["list"]) == 0
    out = capsys.readouterr().out
    assert f"{len(CATALOG)} scenarios" in out
    assert "session-create-500-retried" in out


def test_cli_rejects_a_bad_scenario_file_with_status_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path, "bad", "description = 1")
    assert scenarios_main(["run", str(tmp_path)]) == 2
    assert "description must be a string" in capsys.readouterr().err


@pytest.mark.parametrize(("extra", "loaded"), [([], False), (["--serve"], True)])
def test_an_in_process_run_never_loads_requests(extra: list[str], loaded: bool) -> None:
    """The SDK imports `requests` as it loads, to choose its default HTTP client; played
    in-process its calls go through the fake's own client, so the command's own process never
    loads `requests` (over HTTP, the SDK sends with it)."""
    code = (
        "import sys\n"
        "from fake_stripe.cli.main import main\n"
        f"sys.argv = ['fake-stripe', 'scenarios', 'run', '-k', 'zero-accounts', *{extra!r}]\n"
        "status = main()\n"
        "print(status, 'requests' in sys.modules)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.splitlines()[-1] == f"0 {loaded}", proc.stdout + proc.stderr


def test_readme_first_command_runs_the_whole_catalog_over_http() -> None:
    """`.venv/bin/fake-stripe scenarios run --serve`, as the README's quick start runs it."""
    env = {**os.environ, "PYTHONWARNINGS": "error"}
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "fake-stripe"), "scenarios", "run", "--serve"],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"{len(CATALOG)} scenarios: {len(CATALOG)} passed, 0 failed, 0 errors" in proc.stdout
    assert "(http://127.0.0.1:" in proc.stdout


def test_cli_reports_the_scale_of_the_sdks_retry_back_off(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = scenarios_main(["run", "-k", "session-create-500-retried", "--seed", "3"])
    out, err = capsys.readouterr()
    assert code == 0, out + err
    assert "SDK retry back-off x0.001" in out
    code = scenarios_main(["run", "-k", "zero-accounts", "--retry-time-scale", "1"])
    out, err = capsys.readouterr()
    assert code == 0, out + err
    assert "SDK retry back-off x1)" in out


def test_a_relink_clients_retry_back_off_keeps_the_sdks_delays_unless_scaled() -> None:
    import stripe

    from client.transport import RecordingHTTPClient, RequestLog

    inner = stripe.new_default_http_client()
    try:
        assert RecordingHTTPClient(inner, RequestLog())._sleep_time_seconds(1) >= 0.5
        scaled = RecordingHTTPClient(inner, RequestLog(), retry_time_scale=0.001)
        assert scaled._sleep_time_seconds(1) <= 0.001
    finally:
        inner.close()  # type: ignore[no-untyped-call]
