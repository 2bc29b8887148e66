"""`fake-stripe scenarios run|list`: play the scenario catalog against the fake.

Contributed to `fake-stripe` through the `fake_stripe.commands` entry point (pyproject.toml):
`fake_stripe` never imports the scenarios.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from fake_stripe.cli.common import USAGE, Parser, fail, no_fake

from . import DEFAULT_RETRY_TIME_SCALE

if TYPE_CHECKING:  # the rest is imported when a command runs: `fake-stripe serve` never loads it
    from .model import Scenario
    from .target import Target

# Workers are threads of one interpreter, and playing a scenario is CPU work under its one lock:
# more cores do not make more workers faster. Two let the scenarios that wait for webhook
# deliveries (started first) wait while the other plays; on 2 cores 1, 2 and 4 workers measured
# within noise of each other (docs/benchmarks.md).
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
        help="start the fake under uvicorn on a free loopback port and run "
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
        "--workers",
        type=int,
        default=DEFAULT_WORKERS,
        metavar="N",
        help=f"scenarios run in parallel, each in its own tenant (default {DEFAULT_WORKERS})",
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


def _unplayable(args: argparse.Namespace) -> int | None:
    """Why `run` cannot start (printed; the exit status returned), or None."""
    try:
        import stripe  # noqa: F401
    except ImportError:
        return fail(
            "scenarios",
            "the reference client needs the official SDK: pip install 'fake-stripe[scenarios]' "
            "(scripts/bootstrap does)",
        )
    if args.workers < 1:
        return fail("scenarios", "--workers must be at least 1")
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


@contextmanager
def _target(args: argparse.Namespace) -> Iterator[Target]:
    from .target import Target, served

    scale = args.retry_time_scale
    if args.base_url:
        with closing(Target(url=args.base_url.rstrip("/"), retry_time_scale=scale)) as target:
            yield target
        return
    from fake_stripe import create_app

    # A served fake of its own has no client but this run: its work stays on the event loop.
    app = create_app(seed=args.seed, worker_threads=not args.serve)
    try:
        if args.serve:
            # The target's connections close before the server stops.
            with served(app) as url, closing(Target(url=url, retry_time_scale=scale)) as target:
                yield target
            return
        with closing(Target.in_process(app, scale)) as target:
            yield target
    finally:
        app.fake.close()  # the delivery loop and its connections


def run(args: argparse.Namespace) -> int:
    if (status := _unplayable(args)) is not None:
        return status
    scenarios = _select(args)
    if scenarios is None:
        return USAGE
    from .report import Progress, junit, table
    from .runner import run_all

    progress = Progress(len(scenarios))
    started = time.perf_counter()
    with _target(args) as target:
        progress.start()
        try:
            # A long-running server keeps its tenants: fixed keys would meet last run's state.
            key_seed = None if args.base_url else args.seed
            results = run_all(
                scenarios, target, workers=args.workers, seed=key_seed, on_done=progress.update
            )
        finally:
            progress.finish()
        elapsed = time.perf_counter() - started
        where = (
            f"{target.label}, {min(args.workers, len(scenarios))} workers, "
            f"SDK retry back-off x{args.retry_time_scale:g}"
        )
        print(table(results, elapsed, where, target.url), flush=True)
        if args.junit:
            junit(results, elapsed, args.junit)
            print(f"JUnit XML: {args.junit}", flush=True)
        if args.keep and target.url is not None:
            print(
                f"Serving {target.url} (dashboard: {target.url}/_fake/dashboard) "
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
