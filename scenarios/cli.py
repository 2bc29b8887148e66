"""`fake-stripe scenarios run|list`: play the scenario catalog against the fake.

Contributed to `fake-stripe` through the `fake_stripe.commands` entry point (pyproject.toml):
`fake_stripe` never imports the scenarios.
"""

from __future__ import annotations

import argparse
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, closing, contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from fake_stripe.cli.common import USAGE, Parser, fail, no_fake

from . import DEFAULT_RETRY_TIME_SCALE, MAX_PROCESSES

if TYPE_CHECKING:  # the rest is imported when a command runs: `fake-stripe serve` never loads it
    from .model import Scenario
    from .runner import Result
    from .target import Target

# Workers are threads of one process, and playing a scenario is CPU work under its interpreter's
# one lock: more workers do not use more cores (processes do, `processes.py`). Two let the
# scenarios that wait for webhook deliveries (started first) wait while the other plays.
DEFAULT_WORKERS = 2
# The format's reference ships inside the package, next to this module.
FORMAT = Path(__file__).resolve().parent / "FORMAT.md"


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "scenarios",
        help="run or list the relink scenario catalog",
        description="Play relink scenarios (TOML files) with the reference "
        f"client against the fake. The file format: {FORMAT}",
    )
    actions = p.add_subparsers(dest="scenarios_command", required=True)
    r = actions.add_parser("run", help="run scenarios and print a results table")
    r.add_argument(
        "paths",
        nargs="*",
        metavar="FILES|DIRS",
        help="scenario files or directories (default: the built-in catalog)",
    )
    where = r.add_mutually_exclusive_group()
    where.add_argument("--base-url", help="run against a fake already listening at URL")
    where.add_argument(
        "--serve",
        action="store_true",
        help="start the fake's HTTP server on a free loopback port and run "
        "over HTTP (default: in-process, no socket)",
    )
    r.add_argument(
        "--keep",
        action="store_true",
        help="with --serve: keep the fake up after the run (until Ctrl-C or SIGTERM) so the "
        "failed scenarios' tenants can be inspected in its dashboard",
    )
    r.add_argument("--junit", type=Path, metavar="FILE", help="write JUnit XML to FILE")
    r.add_argument(
        "-k",
        dest="keyword",
        metavar="TEXT",
        help="only scenarios whose name, description or tags contain TEXT",
    )
    r.add_argument(
        "--seed",
        type=int,
        default=None,
        help="seed of the fake the runner starts (in-process or --serve) and of the "
        "tenant keys: the same seed gives the same IDs. A server at --base-url has "
        "its own --seed, and its tenants get fresh keys every run",
    )
    r.add_argument(
        "--processes",
        type=int,
        default=None,
        metavar="P",
        help="processes playing scenarios side by side (default: one per core, at most "
        f"{MAX_PROCESSES}; 1 plays them all in this process). Each plays in-process against "
        "a fake of its own; with --serve or --base-url they share the one server",
    )
    r.add_argument(
        "--workers",
        type=int,
        default=DEFAULT_WORKERS,
        metavar="N",
        help="scenarios each process plays at once, each in its own tenant "
        f"(default {DEFAULT_WORKERS})",
    )
    r.add_argument(
        "--retry-time-scale",
        type=float,
        default=DEFAULT_RETRY_TIME_SCALE,
        metavar="X",
        help="multiply the SDK's back-off between retries by X "
        f"(default {DEFAULT_RETRY_TIME_SCALE:g}; 1 sleeps as the SDK does)",
    )
    r.set_defaults(func=run)
    ls = actions.add_parser("list", help="list scenarios with their descriptions")
    ls.add_argument("paths", nargs="*", metavar="FILES|DIRS")
    ls.add_argument("-k", dest="keyword", metavar="TEXT")
    ls.set_defaults(func=list_)


def _select(args: argparse.Namespace) -> list[Scenario] | None:
    from .model import ScenarioFormatError, load_all

    try:
        scenarios = load_all(args.paths)
    except ScenarioFormatError as err:
        fail("scenarios", " ".join(str(err).split()) + f" (the format: {FORMAT})")
        return None
    if args.keyword:
        scenarios = [s for s in scenarios if s.matches(args.keyword)]
    if not scenarios:
        fail("scenarios", "no scenario matches: `fake-stripe scenarios list` shows them all")
        return None
    return scenarios


def list_(args: argparse.Namespace) -> int:
    scenarios = _select(args)
    if scenarios is None:
        return USAGE
    from .report import catalog

    print(catalog(scenarios))
    return 0


@contextmanager
def _stripe_without_requests() -> Iterator[None]:
    """Keep `requests` from loading while `stripe` loads. The SDK imports it only to choose
    its default HTTP client (about 30 ms of every run: urllib3, certifi, charset detection);
    played in-process, every SDK call goes through the fake's own client
    (`fake_stripe.sdk.http_client`) and none through the default one, which is then the
    standard library's. Afterwards `requests` imports as usual. Only in the command's own
    process (not in a program that calls its `main`), and only in-process: over HTTP the SDK
    sends with its usual client."""
    if "requests" in sys.modules:
        yield
        return
    sys.modules["requests"] = None  # type: ignore[assignment]  # `import requests` fails
    try:
        yield
    finally:
        if "requests" in sys.modules and sys.modules["requests"] is None:
            del sys.modules["requests"]


def _unplayable(args: argparse.Namespace) -> int | None:
    """Why `run` cannot start (printed; the exit status returned), or None."""
    in_process = not (args.serve or args.base_url)
    try:
        with (
            _stripe_without_requests()
            if in_process and getattr(args, "own_process", False)
            else nullcontext()
        ):
            import stripe  # noqa: F401
    except ImportError:
        return fail(
            "scenarios",
            "the reference client needs the official SDK: pip install 'fake-stripe[scenarios]' "
            "(scripts/bootstrap does)",
        )
    if args.workers < 1:
        return fail("scenarios", "--workers must be at least 1")
    if args.processes is not None and args.processes < 1:
        return fail("scenarios", "--processes must be at least 1")
    if args.keep and not args.serve:
        return fail("scenarios", "--keep needs --serve")
    if args.retry_time_scale < 0:
        return fail("scenarios", "--retry-time-scale must not be negative")
    if args.base_url:
        import httpx

        try:
            # Any answer will do (401 when the server wants a control token): it is up.
            httpx.get(args.base_url.rstrip("/") + "/_fake/health", timeout=5)
        except httpx.HTTPError as exc:
            return no_fake("scenarios", args.base_url, exc)
    return None


@dataclass
class _Run:
    """Where a run plays (the fake's URL; None: in-process) and how."""

    url: str | None
    play: Callable[[Callable[[Result], None]], list[Result]]

    @property
    def label(self) -> str:
        return self.url or "in-process"


@contextmanager
def _in_process(seed: int | None, scale: float) -> Iterator[Target]:
    """A fake of its own, in this process, and its target."""
    from fake_stripe import create_app

    from .target import Target

    app = create_app(seed=seed)
    try:
        with closing(Target.in_process(app, scale)) as target:
            yield target
    finally:
        app.fake.close()  # the delivery loop and its connections


@contextmanager
def _served_fake(seed: int | None, sock: socket.socket | None = None) -> Iterator[str]:
    """A fake of its own served on a loopback port (or on `sock`), in a thread."""
    from fake_stripe import create_app

    from .target import served

    # A served fake of its own has no client but this run: its work stays on the event loop.
    app = create_app(seed=seed, worker_threads=False)
    try:
        with served(app, sock) as url:
            yield url
    finally:
        app.fake.close()


@contextmanager
def _threaded(
    args: argparse.Namespace, scenarios: list[Scenario], seed: int | None
) -> Iterator[_Run]:
    """Every scenario played by this process's threads."""
    from .runner import run_all
    from .target import Target

    scale = args.retry_time_scale

    def run_on(target: Target) -> _Run:
        return _Run(
            target.url,
            lambda on_done: run_all(
                scenarios, target, workers=args.workers, seed=seed, on_done=on_done
            ),
        )

    if args.base_url:
        with closing(Target(url=args.base_url.rstrip("/"), retry_time_scale=scale)) as target:
            yield run_on(target)
    elif args.serve:
        # The target's connections close before the server stops.
        with (
            _served_fake(args.seed) as url,
            closing(Target(url=url, retry_time_scale=scale)) as target,
        ):
            yield run_on(target)
    else:
        with _in_process(args.seed, scale) as target:
            yield run_on(target)


@contextmanager
def _forked(
    args: argparse.Namespace, scenarios: list[Scenario], seed: int | None, count: int
) -> Iterator[_Run]:
    """The scenarios played by `count` forked processes (`processes.py`). A fake this run
    serves is served by this process, started once they are forked (no thread may run here
    when it forks)."""
    from fake_stripe.http_server import bind_socket, url_of

    from .processes import Processes
    from .target import Target

    scale = args.retry_time_scale
    sock = bind_socket("127.0.0.1", 0) if args.serve else None
    url = url_of(sock, "127.0.0.1") if sock is not None else args.base_url
    url = url.rstrip("/") if url else None
    if not args.base_url:
        from fake_stripe import create_app  # noqa: F401  (imported once, before the fork)

    def make_target() -> AbstractContextManager[Target]:  # in each process
        if sock is not None:
            sock.close()  # the runner serves on it, not this process
        if url is None:
            return _in_process(args.seed, scale)
        return closing(Target(url=url, retry_time_scale=scale))

    try:
        with Processes(scenarios, make_target, count, args.workers, seed) as pool:
            if sock is None:
                yield _Run(url, pool.collect)
                return
            with _served_fake(args.seed, sock) as served_url:
                yield _Run(served_url, pool.collect)
    finally:
        if sock is not None:
            sock.close()  # (again, once served: closing a socket twice is harmless)


def _process_count(args: argparse.Namespace, scenarios: int) -> int:
    from .processes import can_fork, default_processes

    wanted = args.processes or default_processes(scenarios, args.workers)
    wanted = min(wanted, scenarios)
    return wanted if wanted > 1 and can_fork() else 1


def run(args: argparse.Namespace) -> int:
    if (status := _unplayable(args)) is not None:
        return status
    scenarios = _select(args)
    if scenarios is None:
        return USAGE
    from .report import Progress, junit, table

    progress = Progress(len(scenarios))
    started = time.perf_counter()
    # A long-running server keeps its tenants: fixed keys would meet last run's state.
    key_seed = None if args.base_url else args.seed
    count = _process_count(args, len(scenarios))
    how = (
        _forked(args, scenarios, key_seed, count)
        if count > 1
        else _threaded(args, scenarios, key_seed)
    )
    with how as where:
        progress.start()
        try:
            results = where.play(progress.update)
        finally:
            progress.finish()
        elapsed = time.perf_counter() - started
        workers = min(args.workers, len(scenarios))
        parallel = f"{count} processes x {workers} workers" if count > 1 else f"{workers} workers"
        summary = f"{where.label}, {parallel}, SDK retry back-off x{args.retry_time_scale:g}"
        print(table(results, elapsed, summary, where.url), flush=True)
        if args.junit:
            junit(results, elapsed, args.junit)
            print(f"JUnit XML: {args.junit}", flush=True)
        if args.keep and where.url is not None:
            print(
                f"Serving {where.url} (dashboard: {where.url}/_fake/dashboard) "
                "until Ctrl-C or SIGTERM",
                flush=True,
            )
            _wait_for_stop()
    return 0 if all(r.passed for r in results) else 1


def _wait_for_stop() -> None:
    """Block until Ctrl-C or SIGTERM (then the served fake shuts down as usual)."""
    stop = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: stop.set())
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m scenarios.cli run ...`: the same as `fake-stripe scenarios run ...`."""
    parser = Parser(prog="fake-stripe")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["scenarios", *(sys.argv[1:] if argv is None else argv)])
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
