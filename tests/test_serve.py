"""`fake-stripe serve` as a real process: port 0, SQLite persistence, clean stop; `/_fake/`."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from fake_stripe import create_app
from fake_stripe.inprocess import client as inprocess_client


def start(*args: str) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "fake_stripe.cli.main", "serve", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.startswith("fake-stripe listening on http://127.0.0.1:"), line
    return proc, line.split()[-1]


def stop(proc: subprocess.Popen[str]) -> str:
    """SIGTERM, then the server must exit 0; returns what it logged."""
    proc.send_signal(signal.SIGTERM)
    _out, err = proc.communicate(timeout=10)
    assert proc.returncode == 0, err
    return err


@pytest.fixture
def db(tmp_path: Path) -> Iterator[str]:
    yield str(tmp_path / "fake.db")


def test_serve_on_port_zero_prints_its_url_and_isolates_tenants() -> None:
    proc, url = start("--seed", "7")
    try:
        created = httpx.post(
            f"{url}/v1/customers", data={"email": "a@b.co"}, auth=("sk_test_x", "")
        )
        assert created.status_code == 200
        cid = created.json()["id"]
        other = httpx.get(f"{url}/v1/customers/{cid}", auth=("sk_test_y", ""))
        assert other.status_code == 404
        assert other.json()["error"]["code"] == "resource_missing"
        assert httpx.get(f"{url}/_fake/health").json()["status"] == "ok"
    finally:
        stop(proc)


def test_a_stop_lets_the_request_under_way_finish_and_bounds_the_wait() -> None:
    """SIGTERM: a request under way is answered whole, then the server exits 0. One that would
    take longer than the 2 s grace does not hold the exit (nor does a second signal)."""
    auth = ("sk_test_grace", "")
    for delay_ms, signals in ((400, (signal.SIGTERM,)), (20_000, (signal.SIGTERM, signal.SIGINT))):
        proc, url = start()
        try:
            faults = {"path": "/v1/customers/*", "delay_ms": str(delay_ms)}
            armed = httpx.post(f"{url}/v1/test_helpers/faults", data=faults, auth=auth)
            assert armed.status_code == 200
            with ThreadPoolExecutor(1) as pool:
                slow = pool.submit(httpx.get, f"{url}/v1/customers/cus_none", auth=auth, timeout=30)
                time.sleep(0.2)  # the request is in its injected delay
                for sig in signals:
                    proc.send_signal(sig)
                proc.communicate(timeout=15)
                assert proc.returncode == 0
                if delay_ms < 1000:
                    assert slow.result().status_code == 404  # answered, not cut off
                else:
                    with pytest.raises(httpx.TransportError):
                        slow.result()  # closed unanswered at the end of the grace
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()


def test_restart_with_the_same_db_keeps_every_customer(db: str) -> None:
    proc, url = start("--db", db)
    try:
        ids = [
            httpx.post(
                f"{url}/v1/customers", data={"name": f"c{i}"}, auth=("sk_test_p", "")
            ).json()["id"]
            for i in range(3)
        ]
    finally:
        stop(proc)
    proc, url = start("--db", db)
    try:
        listed = httpx.get(f"{url}/v1/customers", auth=("sk_test_p", "")).json()
        assert [c["id"] for c in listed["data"]] == list(reversed(ids))
        new = httpx.post(f"{url}/v1/customers", auth=("sk_test_p", "")).json()
        assert new["id"] not in ids
    finally:
        stop(proc)


def test_same_seed_gives_the_same_ids() -> None:
    with inprocess_client(create_app(seed=99)) as a, inprocess_client(create_app(seed=99)) as b:
        ida = a.post("/v1/customers", auth=("sk_test_s", "")).json()["id"]
        idb = b.post("/v1/customers", auth=("sk_test_s", "")).json()["id"]
    assert ida == idb


def test_control_routes_need_the_token_when_one_is_set() -> None:
    with inprocess_client(create_app(control_token="s3cret")) as c:
        _check_control_token(c)


def _check_control_token(c: httpx.Client) -> None:
    denied = c.get("/_fake/health")
    assert denied.status_code == 401
    ok = c.get("/_fake/health", headers={"Authorization": "Bearer s3cret"})
    assert ok.status_code == 200


def test_reset_one_tenant_leaves_the_others() -> None:
    with inprocess_client(create_app()) as c:
        _check_reset(c)


def _check_reset(c: httpx.Client) -> None:
    a = c.post("/v1/customers", auth=("sk_test_a", "")).json()["id"]
    b = c.post("/v1/customers", auth=("sk_test_b", "")).json()["id"]
    assert c.post("/_fake/reset", data={"key": "sk_test_a"}).status_code == 200
    assert c.get(f"/v1/customers/{a}", auth=("sk_test_a", "")).status_code == 404
    assert c.get(f"/v1/customers/{b}", auth=("sk_test_b", "")).status_code == 200
    bad = c.post("/_fake/reset", data={"tenant": "x"})
    assert bad.status_code == 400
    assert bad.json()["error"]["param"] == "tenant"


def test_logs_never_show_the_secret_key(db: str) -> None:
    proc, url = start("--db", db)
    secret = "sk_test_verysecretvalue123"
    try:
        httpx.get(f"{url}/v1/customers/cus_x", auth=(secret, ""))
        httpx.get(f"{url}/v1/customers", headers={"Authorization": "Bearer sk_live_zzz9999"})
    finally:
        err = stop(proc)
    assert secret not in err
    assert "sk_live_zzz9999" not in err
    assert os.path.exists(db)


def test_non_loopback_bind_warns_and_closes_control_routes(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from fake_stripe.cli.serve import control_token_for

    assert control_token_for("127.0.0.1", None) is None
    assert control_token_for("::1", "t") == "t"
    assert control_token_for("localhost", None) is None
    with caplog.at_level("WARNING", logger="fake_stripe"):
        token = control_token_for("0.0.0.0", None)
    assert token is not None and len(token) > 20
    assert "not a loopback address" in caplog.text
    assert control_token_for("10.1.2.3", "mine") == "mine"


def test_two_processes_sharing_one_sqlite_file_never_reuse_an_id(db: str) -> None:
    import concurrent.futures

    a, url_a = start("--db", db, "--seed", "3")
    b, url_b = start("--db", db, "--seed", "3")
    try:

        def create(url: str) -> str:
            r = httpx.post(f"{url}/v1/customers", auth=("sk_test_shared", ""))
            assert r.status_code == 200, r.text
            return str(r.json()["id"])

        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            ids = list(pool.map(create, [url_a, url_b] * 60))
        assert len(set(ids)) == len(ids)
        listed = []
        cursor: dict[str, str] = {}
        while True:
            page = httpx.get(
                f"{url_a}/v1/customers",
                params={"limit": 100, **cursor},
                auth=("sk_test_shared", ""),
            ).json()
            listed += [c["id"] for c in page["data"]]
            if not page["has_more"]:
                break
            cursor = {"starting_after": listed[-1]}
        assert sorted(listed) == sorted(ids)
    finally:
        stop(a)
        stop(b)


def test_workers_in_memory_are_refused_because_one_process_holds_the_state() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "fake_stripe.cli.main", "serve", "--port", "0", "--workers", "2"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2
    assert "--workers needs --db" in done.stderr
    assert "in memory, the state lives in one process" in done.stderr


def test_workers_share_one_sqlite_store_with_distinct_request_ids(db: str) -> None:
    proc, url = start("--db", db, "--seed", "5", "--workers", "2")
    try:
        import concurrent.futures

        def create(_: int) -> tuple[str, str]:
            r = httpx.post(f"{url}/v1/customers", auth=("sk_test_workers", ""), timeout=30)
            assert r.status_code == 200, r.text
            return str(r.json()["id"]), r.headers["request-id"]

        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            made = list(pool.map(create, range(40)))
        ids = [m[0] for m in made]
        assert len(set(ids)) == len(ids)
        assert len({m[1] for m in made}) == len(made)
        page = httpx.get(
            f"{url}/v1/customers", params={"limit": 100}, auth=("sk_test_workers", "")
        ).json()
        assert sorted(c["id"] for c in page["data"]) == sorted(ids)
    finally:
        stop(proc)


FIRST_ANSWER = r"""
import sys
from fake_stripe.cli.main import build_parser
build_parser(contributed=False, only="serve").parse_args(["serve", "--port", "0"])
from fake_stripe import create_app
from fake_stripe.inprocess import client
app = create_app()
with client(app) as http:
    ok = http.get("/v1/customers", headers={"Authorization": "Bearer sk_test_x"}).status_code
    before = sorted(m for m in sys.modules if m.startswith(tuple(sys.argv[1:])))
    health = http.get("/_fake/health").status_code
app.fake.close()
print(ok, health, " ".join(before))
"""


def test_serve_and_its_first_v1_answer_load_nothing_of_the_other_routes() -> None:
    """The dashboard, the control plane and Stripe.js load when first asked for, not before
    the first `/v1` answer; `serve`'s command line loads no other command's module."""
    lazy = (
        "fake_stripe.control.dashboard",
        "fake_stripe.control.openapi",
        "fake_stripe.stripejs.routes",
        "fake_stripe.cli.coverage",
        "fake_stripe.cli.trigger",
    )
    out = subprocess.run(
        [sys.executable, "-c", FIRST_ANSWER, *lazy],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout.split()
    assert out[:2] == ["200", "200"]
    assert out[2:] == []


def test_a_restart_on_the_same_store_never_hands_out_a_request_id_again(db: str) -> None:
    """Request ids come from the seed and the process's number in the store: a restart, or a
    second `serve` on the same file, goes on with new ones."""

    def first_ids(url: str) -> list[str]:
        return [
            httpx.post(f"{url}/v1/customers", auth=("sk_test_rid", "")).headers["request-id"]
            for _ in range(3)
        ]

    proc, url = start("--db", db, "--seed", "7")
    try:
        before = first_ids(url)
    finally:
        stop(proc)
    proc, url = start("--db", db, "--seed", "7")
    other, other_url = start("--db", db, "--seed", "7")
    try:
        after, beside = first_ids(url), first_ids(other_url)
    finally:
        stop(proc)
        stop(other)
    assert len(set(before + after + beside)) == 9
    app = create_app(db=db)
    try:
        with inprocess_client(app) as c:
            listed = c.get("/v1/events", params={"limit": 100}, auth=("sk_test_rid", "")).json()
    finally:
        app.fake.close()
    request_ids = [e["request"]["id"] for e in listed["data"]]
    assert len(request_ids) == 9 and len(set(request_ids)) == 9


def test_workers_stop_when_their_serve_process_is_killed(db: str) -> None:
    """`kill -9` of `serve --workers 2` (a supervisor's, a CI timeout's): its workers notice
    and stop, and the port and the store are free for the next start."""
    proc, url = start("--db", db, "--workers", "2")
    port = url.rsplit(":", 1)[1]
    workers: list[str] = []
    try:
        assert httpx.post(f"{url}/v1/customers", auth=("sk_test_orphans", "")).status_code == 200
        workers = subprocess.run(
            ["pgrep", "-P", str(proc.pid)], capture_output=True, text=True
        ).stdout.split()
        assert workers
        proc.kill()
        proc.wait(timeout=10)
        deadline = time.monotonic() + 15
        alive = list(workers)
        while alive and time.monotonic() < deadline:
            time.sleep(0.2)
            alive = [w for w in alive if Path(f"/proc/{w}").exists() and not _zombie(w)]
        assert not alive, f"workers still running after their serve process died: {alive}"
    finally:
        proc.kill()
        proc.wait(timeout=10)
        for w in workers:
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(w), signal.SIGKILL)
        for pipe in (proc.stdout, proc.stderr):
            if pipe is not None:
                pipe.close()
    again, url = start("--db", db, "--port", port)
    try:
        listed = httpx.get(f"{url}/v1/customers", auth=("sk_test_orphans", "")).json()
        assert len(listed["data"]) == 1
    finally:
        stop(again)


def _zombie(pid: str) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] == "Z"
    except OSError:
        return False
