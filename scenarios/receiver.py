"""The merchant's webhook endpoint for scenarios with `[given] webhooks = "delivered"`.

A loopback HTTP server (127.0.0.1, a free port) that hands every POST to the client's webhook
handler, as a merchant's web framework would: a delivery the handler accepts is answered 200, a
delivery whose signature does not verify 400, a handler that crashes 500. While it is *down*
(`go_down(count, status)`), it answers the next `count` deliveries with `status` without handing
them to the handler, then it is up again. The fake's delivery engine reaches it over real HTTP in
both modes (in-process or served), so this is the same path a deployed endpoint sees.
"""

from __future__ import annotations

import contextlib
import json
import socket
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import stripe

# handle(payload, Stripe-Signature header): raises SignatureVerificationError for a forgery.
Handler = Callable[[bytes, str], object]


@dataclass(frozen=True)
class Handled:
    """A delivery the handler accepted (its signature verified)."""

    event: str
    type: str


class WebhookReceiver:
    def __init__(self, handle: Handler, path: str = "/webhooks") -> None:
        self._handle = handle
        self._lock = threading.Lock()
        self._handler_lock = threading.Lock()  # one delivery at a time reaches the handler
        self._down = 0
        self._down_status = 500
        self.handled: list[Handled] = []
        self.errors: list[str] = []  # handler crashes and refused signatures, for the report
        # Set after each answer is sent: what the runner waits on instead of polling the fake.
        self.answered = threading.Event()
        # The open connections: the fake keeps one alive from delivery to delivery (a new
        # connection, and a thread to serve it, for each cost more than the handler itself).
        self._connections: set[socket.socket] = set()
        receiver = self

        class Request(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            timeout = 10
            # An answer is written in parts: without this, the fake's next request on the kept
            # connection would wait for the delayed ACK of the part before (tens of ms).
            disable_nagle_algorithm = True

            def setup(self) -> None:
                super().setup()
                with receiver._lock:
                    receiver._connections.add(self.connection)

            def finish(self) -> None:
                with receiver._lock:
                    receiver._connections.discard(self.connection)
                super().finish()

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                status = receiver._receive(body, self.headers.get("Stripe-Signature", ""))
                reply = json.dumps({"received": 200 <= status < 300}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)
                self.wfile.flush()
                receiver.answered.set()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = False
            block_on_close = True  # server_close() joins every handler thread

            def handle_error(self, request: Any, client_address: Any) -> None:
                # The fake dropping its kept connection (it stopped, or its run was cut short)
                # is no error of the receiver's: only the rest is printed.
                if not isinstance(sys.exc_info()[1], ConnectionError):
                    super().handle_error(request, client_address)

        self._server = Server(("127.0.0.1", 0), Request)
        host, port = self._server.server_address[:2]
        self.url = f"http://{host!s}:{port}{path}"
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.01},
            name="scenario-webhook-receiver",
            daemon=True,
        )
        self._thread.start()

    def go_down(self, count: int, status: int = 500) -> None:
        """Answer the next `count` deliveries with `status`, without handling them."""
        with self._lock:
            self._down, self._down_status = count, status

    def _receive(self, body: bytes, signature: str) -> int:
        with self._lock:
            if self._down > 0:
                self._down -= 1
                return self._down_status
        with self._handler_lock:
            try:
                self._handle(body, signature)
            except stripe.SignatureVerificationError as err:
                self.errors.append(f"signature refused: {err}")
                return 400
            except Exception as err:  # the handler under test crashed on a genuine delivery
                self.errors.append(f"the handler raised {type(err).__name__}: {err}")
                return 500
            try:
                event = json.loads(body)
                self.handled.append(Handled(str(event.get("id")), str(event.get("type"))))
            except (ValueError, AttributeError):
                self.errors.append("the handler accepted a payload that is not an event")
        return 200

    def close(self) -> None:
        self._server.shutdown()
        # A kept connection's thread waits for the next request: the end of its input ends it,
        # so server_close() joins every handler thread at once (an answer being written still
        # goes out).
        with self._lock:
            connections = list(self._connections)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RD)
        self._server.server_close()
        self._thread.join(timeout=10)
