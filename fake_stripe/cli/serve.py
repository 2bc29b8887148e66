"""`fake-stripe serve`: run the fake on its own HTTP server (`fake_stripe.http_server.Server`;
uvicorn's, for `--workers`)."""

from __future__ import annotations

import argparse
import gc
import ipaddress
import json
import logging
import os
import secrets
import signal
import sys
import threading
import time
from typing import Any

from ..core.bounds import DEFAULT_MAX_BODY
from ..core.versions import DEFAULT_API_VERSION
from .common import DEFAULT_PORT, fail

# Seconds a thread may hold the GIL while another waits for it (CPython's default is 0.005).
# A handler computing on a worker thread would otherwise make every other request wait up to
# 5 ms at each hand-off between the event loop and the workers (docs/limits.md has figures).
SWITCH_INTERVAL = 0.0005
# The cyclic collector's thresholds (CPython's default is 700, 10, 10). Every collection stops
# every thread, and a full one walks all that survived start-up's freeze; with the default, a
# request building a large answer (complete with 100 accounts) sets off a full collection a few
# times a second, and another tenant's GET waits it out. Fewer, larger young collections and a
# full one ten times rarer: that GET's p99 under the largest requests fell from 3.0-3.2x its
# idle value to 2.4-2.8x (three runs each, the chaos suite's "largest arrays" phase).
GC_THRESHOLDS = (2000, 20, 100)
# How long a stopping server lets the requests under way finish (seconds).
GRACE = 2.0
# How `serve --workers N` hands its options to the worker processes, which build their own app.
_WORKER_OPTIONS = "FAKE_STRIPE_WORKER_OPTIONS"
# How often a worker looks whether the `serve` process that started it is still there (seconds).
PARENT_POLL = 0.5
# Where a store counts the processes that served it: not a tenant's name (those are letters,
# digits and `_`, `core.keys`).
SERVER_NAME = "fake-stripe:server"

log = logging.getLogger("fake_stripe")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def control_token_for(host: str, token: str | None) -> str | None:
    """The token `/_fake/` requires: none on loopback unless given; always one elsewhere."""
    if _is_loopback(host):
        return token
    log.warning(
        "fake-stripe is bound to %s, which is not a loopback address: anyone who can reach "
        "it can read and change its data. The /_fake/ routes need --control-token.",
        host,
    )
    # Without a token nobody knows this one, so /_fake/ is closed.
    return token if token is not None else secrets.token_urlsafe(32)


def serve(args: argparse.Namespace) -> int:

    from ..app import create_app
    from ..core.store import StoreError, open_backend
    from ..http_server import Server, bind_socket, url_of

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    # httpx logs every request at INFO, URL and all: webhook URLs may carry secrets in their
    # query strings.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    workers = getattr(args, "workers", 1)
    if workers < 1:
        print("fake-stripe serve: --workers must be at least 1", file=sys.stderr)
        return 2
    if workers > 1 and not args.db:
        print(
            "fake-stripe serve: --workers needs --db: in memory, the state lives in one "
            "process, and each worker would be a separate fake with its own customers, "
            "accounts and events. Give a SQLite file (--db fake.sqlite) to share one store.",
            file=sys.stderr,
        )
        return 2
    if args.strict and not _strict_spec():
        return 2
    token = control_token_for(args.host, args.control_token)
    try:
        # Opened and checked before anything says the server is listening.
        backend = open_backend(args.db)
    except StoreError as exc:
        print(f"fake-stripe serve: {exc}", file=sys.stderr)
        return 2
    options = {
        "db": args.db,
        "seed": args.seed,
        "api_version": args.api_version,
        "strict": args.strict,
        "control_token": token,
        "max_body": args.max_body,
        "webhook_lease_seconds": args.lease_seconds,
        # Off loopback, an endpoint pointing inside the network would be an open proxy into it.
        "allow_private_webhooks": args.allow_private_webhooks or _is_loopback(args.host),
        "only_modelled": args.only_modelled,
        "fixtures_on_miss": args.fixtures_on_miss,
    }
    try:
        sock = bind_socket(args.host, args.port)
    except OSError as exc:
        return fail(
            "serve",
            f"cannot listen on {args.host}:{args.port} ({exc.strerror or exc}): stop what "
            "listens there, or give another --port (0 picks a free one)",
        )
    print(f"fake-stripe listening on {url_of(sock, args.host)}", flush=True)
    if workers > 1:
        from uvicorn.supervisors import Multiprocess

        from ..http_server import uvicorn_config

        # Each worker is a new process (spawned, not forked) that imports `worker_app`, builds
        # its own app on the shared store and accepts on the one listening socket.
        backend.close()  # each worker opens its own
        os.environ[_WORKER_OPTIONS] = json.dumps(options)
        config = uvicorn_config(
            f"{__name__}:worker_app",
            factory=True,
            workers=workers,
            loop="uvloop" if _has("uvloop") else "asyncio",
            timeout_graceful_shutdown=GRACE,
            # Nothing in the fake reads the client address; X-Forwarded-* parsing is per-request
            # work.
            proxy_headers=False,
            server_header=False,
            headers=[("server", "fake-stripe")],
        )
        Multiprocess(config, sockets=[sock]).run()
        return 0
    app = create_app(**options, backend=backend)
    if args.db:
        _number_instance(app)
    _tune_for_serving()
    try:
        # SIGINT and SIGTERM stop it, exit status 0.
        Server(app, grace=GRACE).run([sock], signals=True)
    finally:
        app.fake.close()
    return 0


def worker_app() -> Any:
    """The app of one `serve --workers N` process, from the options its parent set."""
    from ..app import create_app

    options = json.loads(os.environ[_WORKER_OPTIONS])
    _stop_with_parent()
    app = create_app(**options)
    _number_instance(app)
    _tune_for_serving()
    return app


def _number_instance(app: Any) -> None:
    """Request ids come from the seed and the instance (`FakeStripe.instance`): each process
    serving a store it keeps takes the next number the store gives, so neither a restart nor
    another process on the same store (a worker, a second `serve`) hands out an id given
    before; a new store with a seed still gives the same ones."""
    backend = app.fake.backend
    with backend.transaction(SERVER_NAME, True):
        n = backend.increment(SERVER_NAME, "instances")
    app.fake.instance = f"#{n}"


def _stop_with_parent() -> None:
    """A worker stops when the `serve` process that started it is gone: killed with SIGKILL
    (by a supervisor, a CI timeout, the OOM killer), it could not stop its workers, which would
    go on answering on its port and writing to its store. Its death tells them nothing, so a
    thread looks for it; the worker then stops as SIGTERM stops it, or at once if that hangs."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_POLL)
        log.warning("fake-stripe worker %d: its serve process is gone; stopping", os.getpid())
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(GRACE + 5.0)
        os._exit(1)

    threading.Thread(target=watch, name="fake-stripe-parent", daemon=True).start()


def _tune_for_serving() -> None:
    """The interpreter as a server needs it: a short GIL switch interval (SWITCH_INTERVAL),
    what start-up made frozen out of the cyclic garbage collector, so that a full collection,
    during which every thread waits, does not walk it each time, and rarer collections
    (GC_THRESHOLDS)."""
    sys.setswitchinterval(SWITCH_INTERVAL)
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def _positive(text: str) -> int:
    n = int(text)
    if n < 1:
        raise argparse.ArgumentTypeError("must be a positive number of bytes")
    return n


def _strict_spec() -> bool:
    """Say which spec strict mode checks against; refuse to start strict without one."""
    from ..spec.load import SPEC_ENV, load_spec, spec_path

    spec = load_spec()
    if spec is None:
        print(
            f"fake-stripe serve --strict: no OpenAPI file at {spec_path()}; fix or unset "
            f"{SPEC_ENV} (unset, the packaged spec is used)",
            file=sys.stderr,
        )
        return False
    version = str(spec.document.get("info", {}).get("version", "?")).split(";")[0]
    log.info("strict: responses are checked against %s (%s)", spec.source, version)
    return True


def _has(module: str) -> bool:
    try:
        __import__(module)
    except ImportError:
        return False
    return True


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    s = sub.add_parser("serve", help="run the fake Stripe server")
    s.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    s.add_argument(
        "--port",
        type=int,
        default=DEFAULT_PORT,
        help=f"port (default {DEFAULT_PORT}; 0 picks a free port and prints the URL)",
    )
    s.add_argument("--seed", type=int, default=None, help="seed for reproducible IDs and data")
    s.add_argument(
        "--db",
        default=None,
        help="where objects live: a SQLite file (shared by the processes of one machine) or a "
        "postgresql://user@host/dbname URL (shared by instances on many machines); "
        "default: in memory",
    )
    s.add_argument(
        "--lease-seconds",
        type=float,
        default=None,
        help="with a shared --db: how long a stopped instance's pending webhook deliveries "
        "wait before another instance takes them over (default 30)",
    )
    s.add_argument(
        "--api-version",
        default=DEFAULT_API_VERSION,
        help=f"version used when a request sends no Stripe-Version (default {DEFAULT_API_VERSION})",
    )
    s.add_argument(
        "--strict",
        action="store_true",
        help="validate every response against the recorded Stripe spec "
        "(violations go to the log and an X-Fake-Stripe-Violations header)",
    )
    s.add_argument(
        "--only-modelled",
        action="store_true",
        help="answer only the operations the fake models by hand; every other operation of "
        "Stripe's spec is an unknown URL (404) instead of a generic resource",
    )
    s.add_argument(
        "--fixtures-on-miss",
        action="store_true",
        help="a retrieve, update or action of an unknown id of a generic resource answers "
        "the resource's example object with that id (as stripe-mock does) instead of 404",
    )
    s.add_argument("--control-token", default=None, help="token the /_fake/ routes require")
    s.add_argument(
        "--allow-private-webhooks",
        action="store_true",
        help="bound beyond loopback, still send webhooks to private, loopback and link-local "
        "addresses (refused by default: any key could reach services inside your network)",
    )
    s.add_argument(
        "--max-body",
        type=_positive,
        default=DEFAULT_MAX_BODY,
        metavar="BYTES",
        help=f"largest request body accepted; larger ones get a 413 (default {DEFAULT_MAX_BODY})",
    )
    s.add_argument(
        "--workers",
        type=int,
        default=1,
        metavar="N",
        help="server processes sharing the socket (default 1); more than 1 needs --db, since "
        "in memory one process holds the state. Injected faults and the webhook journal stay "
        "per process",
    )
    s.set_defaults(func=serve)
