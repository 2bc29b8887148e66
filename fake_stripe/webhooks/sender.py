"""One webhook POST, bounded in every way a receiver could stretch it, and its outcome as the
journal shows it.

- One total deadline (the tenant's `timeout`) covers the whole attempt: the name lookup, the
  connection, sending, the response head and the body. Per-read timeouts would let a receiver
  that drips a byte at a time hold an attempt for ever.
- At most `READ_MAX` bytes of the answer are read (the journal keeps its first `SNIPPET`
  characters, as Stripe's dashboard shows only the start of a response); then the connection
  is closed, so an endless body costs nothing.
- Names are looked up here, at most `LOOKUPS_PER_TENANT` at a time per tenant on a pool of
  their own, and the attempt connects to the address looked up (with the URL's name kept in
  `Host` and for TLS): so a server that sends to public addresses only checks the very address
  it connects to. A lookup keeps its tenant's turn until its thread is free again, even when
  the attempt gave up waiting for it: a resolver that never answers holds no more than that
  tenant's share of the threads.
- The engine may cut an attempt short (`InFlight.cut`) when other tenants wait for a turn.
- Any failure of the attempt, of whatever kind, is an outcome (`Reply.error`), never an
  exception: an unusable URL is a failed attempt, retried and given up like any other.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..resources.webhook_urls import private_refusal
from .slots import Slots

if TYPE_CHECKING:
    import httpx

# GUESS: Stripe shows the start of an answer but does not say how much it keeps.
SNIPPET = 200  # characters of the answer the journal keeps
READ_MAX = 1024  # bytes of the answer read at most: enough for SNIPPET characters of UTF-8
LOOKUP_THREADS = 8
LOOKUPS_PER_TENANT = 2


class InFlight:
    """One attempt while it is sent: since when, and its deadline, which `cut` moves to now."""

    __slots__ = ("tenant", "since", "deadline", "was_cut")

    def __init__(self, tenant: str) -> None:
        self.tenant = tenant
        self.since: float | None = None  # loop time the POST began; None: not sending
        self.deadline: asyncio.Timeout | None = None
        self.was_cut = False

    def cut(self) -> bool:
        """End the attempt now, as a failed one; False when it is not sending."""
        if self.deadline is None or self.was_cut:
            return False
        self.was_cut = True
        self.deadline.reschedule(asyncio.get_running_loop().time())
        return True


@dataclass(frozen=True)
class Reply:
    status: int | None
    snippet: str
    error: str | None


class Sender:
    """The HTTP client of one delivery engine; used on its loop only."""

    def __init__(self, allow_private: bool) -> None:
        self.allow_private = allow_private
        self._client: httpx.AsyncClient | None = None
        self._lookups = ThreadPoolExecutor(LOOKUP_THREADS, thread_name_prefix="fake-stripe-dns")
        # As many turns as threads: a lookup never queues behind another tenant's in the pool.
        self._lookup_turns = Slots(LOOKUPS_PER_TENANT, LOOKUP_THREADS)

    async def post(
        self,
        tenant: str,
        url: str,
        body: bytes,
        headers: dict[str, str],
        timeout: float,
        flight: InFlight | None = None,
    ) -> Reply:
        flight = flight or InFlight(tenant)
        try:
            async with asyncio.timeout(timeout) as deadline:
                flight.since, flight.deadline = asyncio.get_running_loop().time(), deadline
                try:
                    return await self._post(tenant, url, body, headers)
                finally:
                    flight.deadline = None
        except TimeoutError:
            if flight.was_cut:
                ran = asyncio.get_running_loop().time() - (flight.since or 0.0)
                return Reply(None, "", f"cut short after {ran:.1f}s: every delivery turn was taken")
            return Reply(None, "", f"timeout after {timeout:g}s")
        except Exception as exc:  # every failure of an attempt is a failed attempt
            return Reply(None, "", describe(exc))

    async def _post(self, tenant: str, url: str, body: bytes, headers: dict[str, str]) -> Reply:
        import httpx  # imported on the first delivery: the server starts without it

        target = httpx.URL(url)
        host = target.raw_host.decode("ascii")
        port = target.port or (443 if target.scheme == "https" else 80)
        addresses = await self._addresses(tenant, host, port)
        if not self.allow_private and (reason := private_refusal(host, addresses)):
            return Reply(None, "", f"refused: {reason}"[:SNIPPET])
        headers = {"Host": target.netloc.decode("ascii").rpartition("@")[2], **headers}
        extensions = {} if _is_ip(host) else {"sni_hostname": host}
        last: Exception | None = None
        for address in addresses:
            try:
                pinned = target.copy_with(host=address)
                async with self._stream(pinned, body, headers, extensions) as resp:
                    head = bytearray()
                    async for chunk in resp.aiter_raw():
                        head += chunk
                        if len(head) >= READ_MAX:
                            break  # leaving the block closes the connection: the rest is unread
                    snippet = bytes(head[:READ_MAX]).decode("utf-8", "replace")[:SNIPPET]
                    return Reply(resp.status_code, snippet, None)
            except (httpx.ConnectError, OSError) as exc:
                last = exc  # the next address of the name, if any
        raise last or OSError(f"{host} has no address")

    @asynccontextmanager
    async def _stream(
        self,
        target: httpx.URL,
        body: bytes,
        headers: dict[str, str],
        extensions: dict[str, str],
    ) -> AsyncIterator[httpx.Response]:
        client = self._http()
        # No timeout of httpx's own: the attempt's one deadline (`post`) covers every step.
        request = client.build_request(
            "POST", target, content=body, headers=headers, timeout=None, extensions=extensions
        )
        response = await client.send(request, stream=True)
        try:
            yield response
        finally:
            await response.aclose()

    def _http(self) -> httpx.AsyncClient:
        import httpx

        if self._client is None:
            # trust_env=False: a proxy from the environment must not see local deliveries.
            # No pool limit: how many attempts run at once is bounded per tenant and in all
            # by the engine (`webhooks/slots.py`), so none waits here for a connection.
            self._client = httpx.AsyncClient(
                trust_env=False,
                follow_redirects=False,
                limits=httpx.Limits(max_connections=None, max_keepalive_connections=32),
            )
            # No Accept-Encoding: an answer is read raw, never inflated (a few compressed bytes
            # can inflate to gigabytes).
            del self._client.headers["Accept-Encoding"]
        return self._client

    async def _addresses(self, tenant: str, host: str, port: int) -> list[str]:
        if _is_ip(host):
            return [host]
        turns = self._lookup_turns
        await turns.acquire(tenant)
        try:
            looked_up = asyncio.get_running_loop().run_in_executor(
                self._lookups, socket.getaddrinfo, host, port, 0, socket.SOCK_STREAM
            )
        except BaseException:
            turns.release(tenant)
            raise
        # The turn goes back when the thread is free, not when this attempt stops waiting
        # (its deadline): a lookup that hangs keeps its thread, and its tenant's turn with it.
        looked_up.add_done_callback(lambda _: turns.release(tenant))
        infos = await asyncio.shield(looked_up)
        return list(dict.fromkeys(str(info[4][0]) for info in infos))

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
        self._lookups.shutdown(wait=False, cancel_futures=True)


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def describe(exc: BaseException) -> str:
    """An exception as one journal line: its type and its first message."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text}"[:SNIPPET] if text else type(exc).__name__
