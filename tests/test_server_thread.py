"""`ServerThread`, the fake served in a thread (tests, `scenarios run --serve`): a stop
ends the server and its thread, lets a request in flight finish first, and closes kept
connections."""

from __future__ import annotations

import http.client
import socket
import threading
from typing import Any
from urllib.parse import urlsplit

from fake_stripe.app import create_app
from fake_stripe.http_server import ServerThread

AUTH = {"Authorization": "Bearer sk_test_thread"}


def _connect(url: str) -> http.client.HTTPConnection:
    parts = urlsplit(url)
    return http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)


def _refused(url: str) -> bool:
    parts = urlsplit(url)
    try:
        socket.create_connection((parts.hostname, parts.port), timeout=2).close()
    except OSError:
        return True
    return False


def test_a_stop_waits_for_the_request_in_flight_and_closes_kept_connections() -> None:
    app = create_app()
    server = ServerThread(app)
    idle, setup, slow = _connect(server.url), _connect(server.url), _connect(server.url)
    try:  # a kept-alive connection with no request in flight
        idle.request("GET", "/v1/customers", headers=AUTH)
        assert idle.getresponse().status == 200
        setup.request(
            "POST",
            "/v1/test_helpers/faults",
            body="path=/v1/customers/*&delay_ms=300",
            headers={**AUTH, "Content-Type": "application/x-www-form-urlencoded"},
        )
        assert setup.getresponse().status == 200
        answer: dict[str, Any] = {}

        def ask() -> None:
            slow.request("GET", "/v1/customers/cus_missing", headers=AUTH)
            response = slow.getresponse()
            answer["status"], answer["body"] = response.status, response.read()

        asking = threading.Thread(target=ask)
        asking.start()
        threading.Event().wait(0.1)  # the request is in its injected delay
        server.stop()
        asking.join(10)
        assert answer.get("status") == 404, answer  # answered whole, not cut off
        assert b"No such customer" in answer["body"]
        assert not server.thread.is_alive()
        assert _refused(server.url)
        # The kept connection was closed by the server: a new request on it fails.
        try:
            idle.request("GET", "/v1/customers", headers=AUTH)
            idle.getresponse()
        except (ConnectionError, http.client.HTTPException, OSError):
            pass
        else:
            raise AssertionError("the kept connection still answered after the stop")
    finally:
        for conn in (idle, setup, slow):
            conn.close()
        server.stop()
        app.fake.close()


def test_a_stopped_server_thread_can_be_stopped_again() -> None:
    app = create_app()
    try:
        server = ServerThread(app)
        server.stop()
        server.stop()
        assert not server.thread.is_alive()
    finally:
        app.fake.close()
