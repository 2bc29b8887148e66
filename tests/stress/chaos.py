"""Chaos suite: hostile input, mixed traffic and faulty webhook receivers against one
`fake-stripe serve` process on loopback, with figures printed at the end.

    .venv/bin/python -m tests.stress.chaos            # the long form (a few minutes)
    .venv/bin/python -m tests.stress.chaos --short    # what CI runs (tests/stress/test_chaos.py)

Every phase is bounded in count and time and talks to 127.0.0.1 only. Phases:
malformed input (property-based, with the shapes of `hostile_bodies`: deep brackets, bodies over the
limit, non-ASCII digits, bad percent-encoding and UTF-8, huge headers), slowloris connections,
N clients of mixed traffic with an audit that every acknowledged write is present, faulty
webhook receivers (hang, 500, reset, slow) while the API's latency is measured, a body of
nested brackets at the size limit while a concurrent GET's latency is measured, the webhook
isolation phases of `chaos_webhooks` (an endless body, 16 hanging receivers, a closed-port
storm), and the isolation phases of `tests/stress/isolation.py` (the largest requests the
limits allow, a store lock held by another process on SQLite and by another instance on
PostgreSQL).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from . import isolation

MiB = 1024 * 1024
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@dataclass
class Figures:
    cases: int = 0
    status: dict[int, int] = field(default_factory=dict)
    fivexx: list[str] = field(default_factory=list)
    lost_writes: int = 0
    acknowledged_writes: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    def saw(self, what: str, status: int) -> None:
        self.cases += 1
        self.status[status] = self.status.get(status, 0) + 1
        if status >= 500:
            self.fivexx.append(f"{status} {what[:200]}")


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# ---- the server under test -------------------------------------------------------------------


class Server:
    def __init__(self, *extra: str) -> None:
        """`serve` on a free port: with `--seed 1` and memory, or with `extra` (`--db X`)."""
        args = extra or ("--seed", "1")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "fake_stripe.cli.main", "serve", "--port", "0", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if "listening on" not in line:
            self.proc.kill()
            raise RuntimeError(f"fake-stripe did not start: {line!r}")
        self.url = line.split()[-1]
        self.host, port = self.url.removeprefix("http://").split(":")
        self.port = int(port)

    def stop(self) -> str:
        self.proc.send_signal(signal.SIGTERM)
        try:
            _out, err = self.proc.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            _out, err = self.proc.communicate()
        return err


# ---- phase 1: malformed input ----------------------------------------------------------------

PATHS = [
    "/v1/customers",
    "/v1/customers/cus_x",
    "/v1/events",
    "/v1/payment_methods",
    "/v1/setup_intents",
    "/v1/webhook_endpoints",
    "/v1/financial_connections/sessions",
    "/v1/financial_connections/accounts",
    "/v1/test_helpers/clock/advance",
    "/_stripejs/v1/session",
    "/_stripejs/v1/complete",
    "/_fake/webhooks/settings",
    "/_fake/webhooks/deliveries",
    "/_fake/reset",
    "/v3/",
]
NAMES = [
    "email",
    "metadata",
    "expand",
    "preferred_locales",
    "types",
    "enabled_events",
    "accounts",
    "url",
    "limit",
    "base_delay",
    "factor",
    "max_attempts",
    "key",
    "client_secret",
    "permissions",
    "account_holder",
]
INDEXES = ["0", "1", "", "²", "١", "٣", "99999999999999999999", "-1", "a", "%B2"]

_index = st.sampled_from(INDEXES) | st.text(max_size=4)
_name = st.builds(
    lambda n, idx, deep: n + "".join(f"[{i}]" for i in idx) + "[a]" * deep,
    st.sampled_from(NAMES),
    st.lists(_index, max_size=3),
    st.sampled_from([0, 0, 0, 9, 11, 1000]),
)
_value = st.sampled_from(["", "1", "1e308", "nan", "-1", "x" * 600, "%zz", "%C3", "%FF%FE"]) | (
    st.text(max_size=20)
)


@st.composite
def form_bodies(draw: st.DrawFn) -> bytes:
    pairs = draw(st.lists(st.tuples(_name, _value), max_size=6))
    raw = "&".join(f"{k}={v}" for k, v in pairs).encode("utf-8", "surrogatepass")
    if draw(st.booleans()):
        raw += draw(st.binary(max_size=30))
    return raw


def hostile_bodies() -> list[tuple[str, bytes]]:
    """Malformed bodies at and over the size limit, each a shape an attacker would try."""
    return [
        ("nested brackets 1.8 MB", b"a" + b"[a]" * 600_000),
        ("nested brackets at the limit", b"a" + b"[a]" * ((MiB - 1) // 3)),
        ("percent escapes at the limit", b"a=" + b"%41" * ((MiB - 2) // 3)),
        ("10,000 pairs", b"&".join(b"metadata[k%d]=v" % i for i in range(10_000))),
        ("10,001 pairs", b"&".join(b"a%d=1" % i for i in range(10_001))),
        ("ampersands at the limit", b"&" * MiB),
        ("bad UTF-8", b"email=" + b"%FF" * 1000),
        ("2 MiB", b"email=" + b"x" * (2 * MiB)),
        ("8 MiB", b"email=" + b"x" * (8 * MiB)),
    ]


async def phase_malformed(server: Server, fig: Figures, examples: int) -> None:
    started = time.monotonic()
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        loop = asyncio.get_running_loop()
        sent: list[tuple[str, str, bytes, dict[str, str]]] = []

        @settings(
            max_examples=examples,
            database=None,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(
            st.sampled_from(PATHS),
            st.sampled_from(["GET", "POST", "DELETE", "PATCH", "OPTIONS"]),
            form_bodies(),
            st.sampled_from(["sk_test_chaos", "pk_test_chaos", "sk_test_sk_test_chaos", ""]),
            st.sampled_from([{}, {"Origin": "http://evil.example"}, {"Idempotency-Key": ""}]),
        )
        def collect(path: str, method: str, body: bytes, key: str, extra: dict[str, str]) -> None:
            headers = {**FORM, **extra}
            if key:
                headers["Authorization"] = f"Bearer {key}"
            sent.append((method, path, body, headers))

        collect()
        for method, path, body, headers in sent:
            if method == "GET":
                resp = await http.request(method, path, params=body.decode("latin-1"))
            else:
                resp = await http.request(method, path, content=body, headers=headers)
            fig.saw(f"{method} {path} {body[:120]!r}", resp.status_code)
        for what, body in hostile_bodies():
            t0 = time.perf_counter()
            try:
                resp = await http.post(
                    "/v1/customers",
                    content=body,
                    headers={**FORM, "Authorization": "Bearer sk_test_chaos"},
                )
                status = resp.status_code
            except httpx.HTTPError:
                status = 413  # refused before the client finished sending: connection closed
            fig.extra[f"answered {what} (ms)"] = round((time.perf_counter() - t0) * 1000, 1)
            fig.saw(what, status)
        # Malformed HTTP on raw sockets: huge headers, huge URLs, garbage.
        raw_cases = [
            b"GET /v1/customers HTTP/1.1\r\nHost: 127.0.0.1\r\nX: " + b"a" * 100_000 + b"\r\n\r\n",
            b"GET /v1/customers?" + b"a=1&" * 30_000 + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
            b"\x00\xff garbage \r\n\r\n",
            b"POST /v1/customers HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: -5\r\n\r\n",
            b"POST /v1/customers HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Length: 99999999999\r\n\r\n",
        ]
        for raw in raw_cases:
            status = await loop.run_in_executor(None, raw_status, server, raw)
            fig.saw(f"raw {raw[:60]!r}", status)
    fig.extra["malformed phase (s)"] = round(time.monotonic() - started, 1)


def raw_status(server: Server, raw: bytes) -> int:
    """The status the server answers `raw` with (400 when it just closes the connection)."""
    with socket.create_connection((server.host, server.port), timeout=15) as sock:
        try:
            sock.sendall(raw)
            data = sock.recv(100)
        except OSError:
            return 400
    if not data.startswith(b"HTTP/1.1 "):
        return 400
    return int(data[9:12])


# ---- phase 2: slowloris ----------------------------------------------------------------------


def open_slowloris(server: Server, n: int) -> list[socket.socket]:
    out = []
    for i in range(n):
        sock = socket.create_connection((server.host, server.port), timeout=30)
        if i % 2:
            sock.sendall(b"GET /v1/customers HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        out.append(sock)
    return out


def slowloris_closed(socks: list[socket.socket], within: float) -> int:
    """How many of `socks` the server closed within `within` seconds from now."""
    deadline = time.monotonic() + within
    closed = 0
    for sock in socks:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            if sock.recv(1) == b"":
                closed += 1
        except (TimeoutError, OSError):
            pass
        sock.close()
    return closed


# ---- phase 3: mixed traffic with an audit ----------------------------------------------------


async def client_run(http: httpx.AsyncClient, n: int, ops: int, fig: Figures) -> dict[str, Any]:
    """One client: its own tenant; returns what the server acknowledged."""
    auth = {"Authorization": f"Bearer sk_test_mixed{n}"}
    rng = random.Random(n)
    created: dict[str, dict[str, str]] = {}
    deleted: set[str] = set()
    idem: dict[str, str] = {}
    for i in range(ops):
        roll = rng.random()
        if roll < 0.35 or not created:
            r = await http.post("/v1/customers", data={"metadata[n]": str(i)}, headers=auth)
            fig.saw("create", r.status_code)
            if r.status_code == 200:
                created[r.json()["id"]] = {"n": str(i)}
        elif roll < 0.55:
            cid = rng.choice(sorted(created))
            value = f"u{i}"
            r = await http.post(f"/v1/customers/{cid}", data={"metadata[u]": value}, headers=auth)
            fig.saw("update", r.status_code)
            if r.status_code == 200:
                created[cid]["u"] = value
        elif roll < 0.65:
            key = f"idem-{n}-{rng.randrange(5)}"
            r = await http.post(
                "/v1/customers",
                data={"metadata[idem]": key},
                headers={**auth, "Idempotency-Key": key},
            )
            fig.saw("idempotent create", r.status_code)
            if r.status_code == 200:
                cid = r.json()["id"]
                if key in idem and idem[key] != cid:
                    fig.extra["duplicate objects per idempotency key"] = (
                        fig.extra.get("duplicate objects per idempotency key", 0) + 1
                    )
                idem[key] = cid
                if cid not in deleted:  # a replay answers with the original, deleted or not
                    created.setdefault(cid, {"idem": key})
        elif roll < 0.7:
            cid = rng.choice(sorted(created))
            r = await http.delete(f"/v1/customers/{cid}", headers=auth)
            fig.saw("delete", r.status_code)
            if r.status_code == 200:
                deleted.add(cid)
                created.pop(cid)
        elif roll < 0.85:
            r = await http.get("/v1/customers", params={"limit": "10"}, headers=auth)
            fig.saw("list", r.status_code)
        else:
            r = await http.get(f"/v1/customers/{rng.choice(sorted(created))}", headers=auth)
            fig.saw("retrieve", r.status_code)
    return {"auth": auth, "created": created, "deleted": deleted}


async def phase_mixed(server: Server, fig: Figures, clients: int, ops: int) -> None:
    started = time.monotonic()
    limits = httpx.Limits(max_connections=clients)
    async with httpx.AsyncClient(base_url=server.url, timeout=30, limits=limits) as http:
        results = await asyncio.gather(*(client_run(http, n, ops, fig) for n in range(clients)))
        for res in results:
            for cid, meta in res["created"].items():
                fig.acknowledged_writes += 1
                r = await http.get(f"/v1/customers/{cid}", headers=res["auth"])
                if r.status_code != 200 or r.json()["metadata"] != meta:
                    fig.lost_writes += 1
            for cid in res["deleted"]:
                fig.acknowledged_writes += 1
                r = await http.get(f"/v1/customers/{cid}", headers=res["auth"])
                # As Stripe: a deleted customer is retrieved as its `deleted: true` stub.
                if r.status_code != 200 or r.json().get("deleted") is not True:
                    fig.lost_writes += 1
    fig.extra["mixed traffic"] = f"{clients} clients x {ops} operations"
    fig.extra["mixed phase (s)"] = round(time.monotonic() - started, 1)


# ---- latency probe ---------------------------------------------------------------------------


async def probe(server: Server, seconds: float) -> list[float]:
    """GET latencies (ms) of one retrieve, back to back, for `seconds`."""
    auth = {"Authorization": "Bearer sk_test_probe"}
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        cid = (await http.post("/v1/customers", headers=auth)).json()["id"]
        out: list[float] = []
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            t0 = time.perf_counter()
            r = await http.get(f"/v1/customers/{cid}", headers=auth)
            out.append((time.perf_counter() - t0) * 1000)
            assert r.status_code == 200
            await asyncio.sleep(0.002)
        return out


def latency(samples: list[float]) -> str:
    return f"p50 {pct(samples, 0.5):.1f} ms, p99 {pct(samples, 0.99):.1f} ms, n={len(samples)}"


# ---- phase 4: faulty webhook receivers -------------------------------------------------------


async def receivers() -> tuple[asyncio.AbstractServer, int, list[int]]:
    """One loopback server; the path picks the fault: /hang, /500, /reset, /slow."""
    hits: list[int] = [0]

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            line = await reader.readline()
            while (await reader.readline()) not in (b"\r\n", b""):
                pass
            hits[0] += 1
            path = line.split()[1].decode() if len(line.split()) > 1 else "/"
            if path == "/hang":
                await asyncio.sleep(3600)
            elif path == "/reset":
                sock = writer.get_extra_info("socket")
                sock.setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
                )
            elif path == "/slow":
                await asyncio.sleep(2)
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            else:
                writer.write(b"HTTP/1.1 500 Oops\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            await writer.drain()
        except (OSError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    srv = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = srv.sockets[0].getsockname()[1]
    return srv, port, hits


async def phase_webhooks(server: Server, fig: Figures, events: int, seconds: float) -> None:
    baseline = await probe(server, seconds / 2)
    srv, port, hits = await receivers()
    auth = {"Authorization": "Bearer sk_test_hooks"}
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        r = await http.post(
            "/_fake/webhooks/settings",
            data={"timeout": "30", "base_delay": "0.5", "factor": "1", "max_attempts": "3"},
            headers=auth,
        )
        fig.saw("settings", r.status_code)
        for mode in ("hang", "500", "reset", "slow"):
            r = await http.post(
                "/v1/webhook_endpoints",
                data={"url": f"http://127.0.0.1:{port}/{mode}", "enabled_events[]": "*"},
                headers=auth,
            )
            fig.saw("webhook endpoint", r.status_code)

        async def emit() -> None:
            for _ in range(events):
                r = await http.post("/v1/customers", headers=auth)
                fig.saw("event source", r.status_code)
                await asyncio.sleep(seconds / max(events, 1) / 2)

        during, _ = await asyncio.gather(probe(server, seconds), emit())
        journal = await http.get(
            "/_fake/webhooks/deliveries", params={"limit": "10000"}, headers=auth
        )
        fig.saw("journal", journal.status_code)
        outcomes = [a["error"] or a["status_code"] for a in journal.json()["data"]]
    srv.close()
    fig.extra["GET latency, no receivers"] = latency(baseline)
    fig.extra["GET latency while receivers hang/500/reset/slow"] = latency(during)
    fig.extra["webhook attempts journaled"] = len(outcomes)
    fig.extra["receiver connections"] = hits[0]


# ---- phase 5: nested brackets at the limit vs a concurrent GET --------------------------------


async def phase_nested(server: Server, fig: Figures, rounds: int) -> None:
    body = b"a" + b"[a]" * ((MiB - 1) // 3)  # just under 1 MiB: read whole, then decoded
    baseline = await probe(server, 1.0)
    refuse_ms: list[float] = []

    async def bombard() -> None:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
            for _ in range(rounds):
                t0 = time.perf_counter()
                r = await http.post(
                    "/v1/customers",
                    content=body,
                    headers={**FORM, "Authorization": "Bearer sk_test_nested"},
                )
                refuse_ms.append((time.perf_counter() - t0) * 1000)
                fig.saw("nested brackets at the limit", r.status_code)
                if r.status_code != 400:
                    fig.extra["nested brackets answered"] = r.status_code

    during, _ = await asyncio.gather(probe(server, 2.0), bombard())
    fig.extra["nested-bracket body"] = f"{len(body)} bytes, {rounds} times"
    fig.extra["time to refuse it"] = (
        f"median {statistics.median(refuse_ms):.1f} ms, max {max(refuse_ms):.1f} ms"
    )
    fig.extra["GET latency before"] = latency(baseline)
    fig.extra["GET latency while it is sent"] = latency(during)


# ---- the whole run ---------------------------------------------------------------------------


@dataclass
class Size:
    examples: int
    clients: int
    ops: int
    events: int
    webhook_seconds: float
    nested_rounds: int
    slowloris: int
    isolation_seconds: float


SHORT = Size(
    examples=300,
    clients=8,
    ops=40,
    events=10,
    webhook_seconds=4,
    nested_rounds=5,
    slowloris=20,
    isolation_seconds=3,
)
LONG = Size(
    examples=5000,
    clients=64,
    ops=200,
    events=100,
    webhook_seconds=20,
    nested_rounds=40,
    slowloris=200,
    isolation_seconds=20,
)


def run(size: Size) -> Figures:
    fig = Figures()
    server = Server()
    try:
        started = time.monotonic()
        slow = open_slowloris(server, size.slowloris)
        asyncio.run(phase_malformed(server, fig, size.examples))
        asyncio.run(phase_mixed(server, fig, size.clients, size.ops))
        asyncio.run(phase_nested(server, fig, size.nested_rounds))
        asyncio.run(phase_webhooks(server, fig, size.events, size.webhook_seconds))
        from . import chaos_webhooks  # it builds on this module

        hooks = chaos_webhooks.LONG if size is LONG else chaos_webhooks.SHORT
        asyncio.run(chaos_webhooks.phases(server, fig, hooks))
        isolation.phase_largest(server.url, fig, size.isolation_seconds)
        # The head deadline is 10 s (fake_stripe.http_server.HEADER_TIMEOUT).
        wait = max(0.0, 12 - (time.monotonic() - started))
        closed = slowloris_closed(slow, wait + 1)
        fig.extra["slowloris connections closed by the server"] = f"{closed} of {len(slow)}"
        fig.extra["slowloris all closed"] = closed == len(slow)
    finally:
        log = server.stop()
    fig.extra["internal errors logged"] = log.count("internal error")
    fig.extra["tracebacks logged"] = log.count("Traceback")
    isolation.phase_sqlite_lock(Server, fig, size.isolation_seconds)
    isolation.phase_postgres_lock(Server, fig, size.isolation_seconds)
    fig.extra.setdefault("duplicate objects per idempotency key", 0)
    return fig


def report(fig: Figures) -> str:
    lines = [
        f"requests (cases tried): {fig.cases}",
        f"statuses: {dict(sorted(fig.status.items()))}",
        f"5xx: {len(fig.fivexx)}",
        *(f"  {x}" for x in fig.fivexx[:20]),
        f"acknowledged writes audited: {fig.acknowledged_writes}, lost: {fig.lost_writes}",
        *(f"{k}: {v}" for k, v in fig.extra.items()),
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--short", action="store_true", help="the CI form (under a minute)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON too")
    args = parser.parse_args(argv)
    fig = run(SHORT if args.short else LONG)
    print(report(fig))
    if args.json:
        print(json.dumps({"cases": fig.cases, "5xx": len(fig.fivexx), **fig.extra}, default=str))
    ok = (
        not fig.fivexx
        and fig.lost_writes == 0
        and fig.extra.get("duplicate objects per idempotency key", 0) == 0
        and fig.extra.get("slowloris all closed")
    )
    return 0 if ok else 1


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    raise SystemExit(main())
