"""The chaos suite's webhook isolation phases: one tenant's receivers misbehave while another
tenant's GET latency and webhook latency are measured, and the server's memory is watched.

Each phase gives one attacking tenant the most the API allows it (16 endpoints) pointing at one
kind of bad receiver, keeps it sending events for the phase, and measures meanwhile:

- the GET p50/p99 of another tenant (`chaos.probe`), to compare with the same probe idle;
- another tenant's webhook latency: one event at a time, from its `POST /v1/customers` to its
  receiver seeing the delivery;
- the server's RSS (from `/proc`), at the start of the phase and at its highest.

Phases: an endless chunked body (the one the RSS limit is judged on: within 64 MiB of its
start), 16 receivers that never answer with the longest timeout a tenant may set, and a storm
of attempts at a closed port retried at once up to 100 times.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx

from tests.hostile import Hostile

from .chaos import Figures, Server, latency, pct, probe

RSS_LIMIT_MIB = 64
ENDPOINTS = 16  # the most one tenant may register
DELIVERY_WAIT = 30.0  # seconds a probe webhook may take before it counts as not delivered


@dataclass
class Watch:
    """What one phase measured."""

    gets: list[float]
    webhook_ms: list[float]
    undelivered: int
    rss_start: float
    rss_peak: float

    def report(self, fig: Figures, phase: str, seconds: float, idle: Watch | None = None) -> None:
        fig.extra[f"{phase} ({seconds:g} s): another tenant's GET"] = latency(self.gets)
        if idle is not None:
            ratio = pct(self.gets, 0.99) / pct(idle.gets, 0.99)
            fig.extra[f"{phase}: GET p99 / idle p99"] = round(ratio, 2)
        fig.extra[f"{phase}: another tenant's webhook"] = webhooks(
            self.webhook_ms, self.undelivered
        )
        fig.extra[f"{phase}: server RSS"] = (
            f"{self.rss_start:.0f} MiB at start, {self.rss_peak:.0f} MiB at most "
            f"(+{self.rss_peak - self.rss_start:.0f})"
        )


def webhooks(samples: list[float], undelivered: int) -> str:
    if not samples:
        return f"none delivered, {undelivered} not within {DELIVERY_WAIT:g} s"
    return (
        f"p50 {pct(samples, 0.5):.0f} ms, max {max(samples):.0f} ms, n={len(samples)}, "
        f"{undelivered} not delivered within {DELIVERY_WAIT:g} s"
    )


def rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Victim:
    """A tenant with one endpoint at a receiver that answers at once."""

    def __init__(self, server: Server, http: httpx.AsyncClient) -> None:
        self.server = server
        self.http = http
        self.receiver = Hostile()
        self.auth = {"Authorization": "Bearer sk_test_hooks_victim"}

    async def register(self, fig: Figures) -> None:
        r = await self.http.post(
            "/v1/webhook_endpoints",
            data={"url": self.receiver.url("/ok"), "enabled_events[]": "customer.created"},
            headers=self.auth,
        )
        fig.saw("victim endpoint", r.status_code)

    async def deliveries(self, fig: Figures, seconds: float) -> tuple[list[float], int]:
        """Webhook latencies (ms), one event at a time for `seconds`, and how many were not
        delivered within DELIVERY_WAIT."""
        out: list[float] = []
        missed = 0
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            seen = len(self.receiver.requests)
            t0 = time.perf_counter()
            r = await self.http.post("/v1/customers", headers=self.auth)
            fig.saw("victim event", r.status_code)
            while len(self.receiver.requests) == seen:
                if time.perf_counter() - t0 > DELIVERY_WAIT:
                    missed += 1
                    break
                await asyncio.sleep(0.002)
            else:
                out.append((time.perf_counter() - t0) * 1000)
            await asyncio.sleep(0.05)
        return out, missed

    async def watch(
        self, fig: Figures, seconds: float, attack: Callable[[], Awaitable[None]]
    ) -> Watch:
        pid = self.server.proc.pid
        rss_start = rss_mib(pid)
        peak = [rss_start]
        end = time.monotonic() + seconds

        async def sample() -> None:
            while time.monotonic() < end:
                peak[0] = max(peak[0], rss_mib(pid))
                await asyncio.sleep(0.25)

        gets, (hooks, missed), _, _ = await asyncio.gather(
            probe(self.server, seconds), self.deliveries(fig, seconds), sample(), attack()
        )
        return Watch(gets, hooks, missed, rss_start, max(peak[0], rss_mib(pid)))

    def close(self) -> None:
        self.receiver.close()


class Attacker:
    """A tenant with ENDPOINTS endpoints at one bad URL, sending an event every `every` s."""

    def __init__(self, http: httpx.AsyncClient, name: str) -> None:
        self.http = http
        self.key = f"sk_test_hooks_{name}"
        self.auth = {"Authorization": f"Bearer {self.key}"}

    async def setup(self, fig: Figures, url: str, **settings: str) -> None:
        r = await self.http.post("/_fake/webhooks/settings", data=settings, headers=self.auth)
        fig.saw("attacker settings", r.status_code)
        for _ in range(ENDPOINTS):
            r = await self.http.post(
                "/v1/webhook_endpoints",
                data={"url": url, "enabled_events[]": "*"},
                headers=self.auth,
            )
            fig.saw("attacker endpoint", r.status_code)

    def events(self, fig: Figures, seconds: float, every: float) -> Callable[[], Awaitable[None]]:
        async def send() -> None:
            end = time.monotonic() + seconds
            while time.monotonic() < end:
                r = await self.http.post("/v1/customers", headers=self.auth)
                fig.saw("attacker event", r.status_code)
                await asyncio.sleep(every)

        return send

    async def attempts(self) -> str:
        r = await self.http.get(
            "/_fake/webhooks/deliveries", params={"limit": "10000"}, headers=self.auth
        )
        page = r.json()
        return f"{len(page['data'])}{'+' if page['has_more'] else ''}"

    async def reset(self, fig: Figures) -> None:
        r = await self.http.post("/_fake/reset", data={"key": self.key})
        fig.saw("attacker reset", r.status_code)


async def phase_webhook_isolation(
    server: Server, fig: Figures, idle_seconds: float, endless_seconds: float, seconds: float
) -> None:
    """Idle figures first, then each attack in turn (`endless_seconds` for the endless body)."""
    async with httpx.AsyncClient(base_url=server.url, timeout=60) as http:
        victim = Victim(server, http)
        try:
            await victim.register(fig)

            async def idle() -> None:
                pass

            quiet = await victim.watch(fig, idle_seconds, idle)
            quiet.report(fig, "webhook phases, idle", idle_seconds)
            label = "endless response bodies"
            endless = await against(
                victim,
                http,
                fig,
                endless_seconds,
                quiet,
                "/endless",
                label,
                timeout="10",
                max_attempts="1",
            )
            fig.extra[f"{label}: receiver bytes sent"] = endless.sent
            label = f"{ENDPOINTS} hanging receivers"
            hanging = await against(
                victim, http, fig, seconds, quiet, "/hang", label, timeout="300", max_attempts="1"
            )
            fig.extra[f"{label}: most held at once"] = hanging.most_hanging
            await storm(victim, http, fig, seconds, quiet)
        finally:
            victim.close()


async def against(
    victim: Victim,
    http: httpx.AsyncClient,
    fig: Figures,
    seconds: float,
    idle: Watch,
    path: str,
    label: str,
    **settings: str,
) -> Hostile:
    """One attacker's 16 endpoints at `path` of a bad receiver, an event every 0.5 s (16
    attempts each), while the victim is watched; returns the receiver (closed) for its counts."""
    attacker = Attacker(http, path.strip("/"))
    with Hostile() as receiver:
        await attacker.setup(fig, receiver.url(path), **settings)
        seen = await victim.watch(fig, seconds, attacker.events(fig, seconds, 0.5))
        seen.report(fig, label, seconds, idle)
        fig.extra[f"{label}: attempts journaled"] = await attacker.attempts()
        growth = seen.rss_peak - seen.rss_start
        fig.extra[f"{label}: RSS within {RSS_LIMIT_MIB} MiB"] = growth <= RSS_LIMIT_MIB
        await attacker.reset(fig)
    return receiver


async def storm(
    victim: Victim, http: httpx.AsyncClient, fig: Figures, seconds: float, idle: Watch
) -> None:
    attacker = Attacker(http, "storm")
    url = f"http://127.0.0.1:{closed_port()}/x"
    await attacker.setup(fig, url, base_delay="0", max_attempts="100")
    seen = await victim.watch(fig, seconds, attacker.events(fig, seconds, 0.2))
    seen.report(fig, "closed-port storm", seconds, idle)
    fig.extra["closed-port storm: attempts journaled"] = await attacker.attempts()
    await attacker.reset(fig)


@dataclass(frozen=True)
class Size:
    idle_seconds: float
    endless_seconds: float  # the RSS limit is judged on the long form's 60 s
    seconds: float  # each other attack


SHORT = Size(idle_seconds=2, endless_seconds=3, seconds=3)
LONG = Size(idle_seconds=10, endless_seconds=60, seconds=20)


async def phases(server: Server, fig: Figures, size: Size) -> None:
    await phase_webhook_isolation(
        server, fig, size.idle_seconds, size.endless_seconds, size.seconds
    )
