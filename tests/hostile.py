"""A webhook receiver that misbehaves on purpose, on a loopback port, in a thread of its own.

The path picks the behaviour: `/hang` reads the request and never answers, `/endless` answers
200 with a chunked body that never ends, `/drip` answers 200 and sends its 100-byte body one
byte every `drip` seconds, anything else answers 200 at once. It counts what it saw, so a test
can tell how many connections are open and how much it managed to send.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

CHUNK = b"x" * 65536


class Hostile:
    def __init__(self, drip: float = 0.2) -> None:
        self.drip = drip
        self.hanging = 0  # connections held open by /hang right now
        self.most_hanging = 0
        self.requests: list[str] = []  # paths, in arrival order
        self.sent = 0  # bytes of /endless bodies written
        self._loop = asyncio.new_event_loop()
        self._stop: asyncio.Event | None = None
        self._handlers: set[asyncio.Task[Any]] = set()  # one per connection, while it lasts
        ready = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(ready,), daemon=True)
        self._thread.start()
        ready.wait(5)
        self.base = f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        return f"{self.base}{path}"

    def _run(self, ready: threading.Event) -> None:
        async def main() -> None:
            self._stop = asyncio.Event()
            server = await asyncio.start_server(self._handle, "127.0.0.1", 0, backlog=1024)
            self.port = server.sockets[0].getsockname()[1]
            ready.set()
            await self._stop.wait()
            # No accept from here on. A connection accepted already is set up by a task of
            # asyncio's whose first step needs the server open (after `server.close()` it
            # fails, silently, and leaves the socket to the collector, unclosed): that step
            # is queued before this task's next one.
            for sock in server.sockets:
                asyncio.get_running_loop().remove_reader(sock.fileno())
            await asyncio.sleep(0)
            server.close()
            # Let the set-ups finish and end the handlers, until no task is left, so that no
            # socket is left to the collector.
            for _ in range(3):
                await asyncio.sleep(0)
            while tasks := asyncio.all_tasks() - {asyncio.current_task()}:
                for task in tasks & self._handlers:
                    task.cancel()
                await asyncio.wait(tasks, timeout=1)
                await asyncio.sleep(0)  # the transports close on the next turn
            await asyncio.sleep(0)

        self._loop.run_until_complete(main())

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._handlers.add(task)
        try:
            while True:  # one request after another on a kept-alive connection
                if not await self._one(reader, writer):
                    return
        except (OSError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass
        finally:
            # A transport closed with unsent data (an endless body the fake stopped reading)
            # waits for it to drain, for ever: it would be left to the collector, unclosed.
            if writer.transport.get_write_buffer_size():
                writer.transport.abort()
            else:
                writer.close()
            self._handlers.discard(task)

    async def _one(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        line = await reader.readline()
        if not line:
            return False
        length = 0
        while (header := await reader.readline()) not in (b"\r\n", b""):
            name, _, value = header.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        await reader.readexactly(length)
        path = line.split()[1].decode()
        self.requests.append(path)
        if path.startswith("/hang"):
            self.hanging += 1
            self.most_hanging = max(self.most_hanging, self.hanging)
            try:
                await reader.read()  # until the fake gives up and closes
            finally:
                self.hanging -= 1
            return False
        if path.startswith("/endless"):
            writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
            while True:
                writer.write(b"%x\r\n%s\r\n" % (len(CHUNK), CHUNK))
                await writer.drain()
                self.sent += len(CHUNK)
        if path.startswith("/drip"):
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n")
            for _ in range(100):
                await writer.drain()
                await asyncio.sleep(self.drip)
                writer.write(b"y")
            await writer.drain()
            return True
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        await writer.drain()
        return True

    def close(self) -> None:
        if self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(5)
        if not self._thread.is_alive():
            self._loop.close()

    def __enter__(self) -> Hostile:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
