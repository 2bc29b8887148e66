"""What the commands share: the parser that reports a usage error in one line, the options every
client command takes (`--base-url`, `--api-key`), and the one-line failures a user can cause.

A failure the user can fix (no fake at the URL, a missing or live key, a missing extra, a bad
file) is one line on stderr naming what to do, and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import NoReturn

from ..core.keys import KEY_RE

DEFAULT_PORT = 12180  # `fake-stripe serve`'s, where the other commands look by default
DEFAULT_BASE_URL = f"http://127.0.0.1:{DEFAULT_PORT}"
USAGE = 2  # the exit status of every failure the user can fix


class Parser(argparse.ArgumentParser):
    """argparse, with a usage error on one line (argparse prints the whole usage first)."""

    def error(self, message: str) -> NoReturn:
        self.exit(USAGE, f"{self.prog}: {message} (see {self.prog} --help)\n")


def fail(command: str, message: str) -> int:
    print(f"fake-stripe {command}: {message}", file=sys.stderr)
    return USAGE


def no_fake(command: str, base_url: str, exc: BaseException) -> int:
    reason = " ".join(str(exc).split()) or type(exc).__name__
    return fail(
        command,
        f"no fake-stripe answers at {base_url} ({reason}): start one with "
        "`fake-stripe serve`, or give --base-url",
    )


def add_base_url(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--base-url",
        default=DEFAULT_BASE_URL,
        metavar="URL",
        help=f"the running fake (default {DEFAULT_BASE_URL}, where `fake-stripe serve` listens)",
    )


def add_api_key(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--api-key",
        default=os.environ.get("FAKE_STRIPE_API_KEY") or os.environ.get("STRIPE_API_KEY"),
        metavar="KEY",
        help="the tenant's secret test key, sk_test_... (default: $FAKE_STRIPE_API_KEY, then "
        "$STRIPE_API_KEY)",
    )


def key_problem(key: str | None) -> str | None:
    """Why `key` cannot reach a tenant as the API would refuse it, or None when it can."""
    if not key:
        return "give --api-key sk_test_... (or set FAKE_STRIPE_API_KEY)"
    m = KEY_RE.fullmatch(key)
    if m is None:
        return "--api-key is not a Stripe API key: give a test key such as sk_test_demo"
    if m.group(2) == "live":
        return "the fake refuses live-mode keys: give a test key such as sk_test_demo"
    if m.group(1) == "pk":
        return "a publishable key cannot do this: give the secret key (sk_test_...) instead"
    return None
