"""Where the store tests find their stores: memory, a SQLite file, a PostgreSQL database.

PostgreSQL is the server `FAKE_STRIPE_TEST_PG` names (a URL), or else a throwaway cluster this
test session starts on a free loopback port the first time a test needs one
(`scripts/throwaway-postgres`, which `scripts/bootstrap --browser` makes runnable by installing
Debian's `postgresql`) and removes when the session ends, however it ends. Each test gets a
schema of its own. A PostgreSQL case never skips: with no server to be had, it fails and says
how to get one.
"""

from __future__ import annotations

import atexit
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

PG_ENV = "FAKE_STRIPE_TEST_PG"
SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "throwaway-postgres"
HOW = (
    "run scripts/bootstrap --browser (it installs Debian's postgresql), or set "
    f"{PG_ENV}=postgresql://... to a server of yours"
)


class Throwaway:
    """The cluster this process started, if any: one per test process, stopped at exit."""

    def __init__(self) -> None:
        self.dir: str | None = None
        self.url: str | None = None
        self._lock = threading.Lock()

    def start(self) -> str:
        with self._lock:
            if self.url is None:
                self.url = self._start()
            return self.url

    def _start(self) -> str:
        atexit.register(self.stop)
        _stop_on_sigterm()
        error = ""
        for _ in range(3):  # a free port may be taken between the probe and the start
            folder = tempfile.mkdtemp(prefix="fake-stripe-test-pg-")
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                port = s.getsockname()[1]
            done = subprocess.run(
                [str(SCRIPT), "start", folder, str(port)], capture_output=True, text=True
            )
            if done.returncode == 0:
                self.dir = folder
                return done.stdout.strip()
            said = (done.stderr or done.stdout).strip().splitlines()
            error = said[-1] if said else f"exit status {done.returncode}"
            subprocess.run([str(SCRIPT), "stop", folder], capture_output=True)
        pytest.fail(f"could not start a throwaway PostgreSQL ({error}): {HOW}", pytrace=False)

    def stop(self) -> None:
        with self._lock:
            if self.dir is not None:
                subprocess.run([str(SCRIPT), "stop", self.dir], capture_output=True)
                self.dir = self.url = None


THROWAWAY = Throwaway()


def _stop_on_sigterm() -> None:
    """A session stopped with SIGTERM removes its cluster too (Python skips `atexit` then)."""
    if threading.current_thread() is not threading.main_thread():
        return
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:

        def stop(signum: int, frame: Any) -> None:
            THROWAWAY.stop()
            sys.exit(128 + signum)

        signal.signal(signal.SIGTERM, stop)


def postgres_url() -> str:
    """The URL of the PostgreSQL server the tests use: $FAKE_STRIPE_TEST_PG, or a throwaway."""
    try:
        import psycopg
    except ImportError:
        pytest.fail(
            "the PostgreSQL tests need psycopg: pip install 'fake-stripe[postgres]'", pytrace=False
        )
    url = os.environ.get(PG_ENV) or THROWAWAY.start()
    try:
        psycopg.connect(url, connect_timeout=5).close()
    except psycopg.Error as exc:
        pytest.fail(f"PostgreSQL at {url} is not reachable ({exc}): {HOW}", pytrace=False)
    return url


@contextmanager
def fresh_schema(url: str, prefix: str = "t_") -> Iterator[str]:
    """A URL whose connections use a fresh schema of the PostgreSQL database at `url`, dropped
    afterwards (the tests' stores, and bench/soak_stores.py's)."""
    import psycopg

    schema = prefix + uuid.uuid4().hex[:12]
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        sep = "&" if "?" in url else "?"
        yield f"{url}{sep}options={quote(f'-csearch_path={schema}')}"
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


def postgres_schema() -> Iterator[str]:
    """A URL whose connections use a fresh schema, dropped afterwards."""
    with fresh_schema(postgres_url()) as url:
        yield url


def db_for(kind: str, tmp_path: Path) -> Iterator[str | None]:
    """The `--db` value of a store of this kind (None: memory)."""
    if kind == "memory":
        yield None
    elif kind == "sqlite":
        yield str(tmp_path / "store.db")
    else:
        yield from postgres_schema()
