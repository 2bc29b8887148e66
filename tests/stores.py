"""Where the store tests find their stores: memory, a SQLite file, a PostgreSQL database.

PostgreSQL comes from `FAKE_STRIPE_TEST_PG` (a URL, e.g. from `scripts/throwaway-postgres start
DIR`); each test gets a schema of its own in it. Without one the PostgreSQL cases skip, unless
`FAKE_STRIPE_REQUIRE_PG=1` (CI), which makes a missing server an error.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

PG_ENV = "FAKE_STRIPE_TEST_PG"


def postgres_url_or_skip() -> str:
    """The test server's URL, or a skip (an error when PostgreSQL is required)."""
    url = os.environ.get(PG_ENV)
    reason = None
    if not url:
        reason = f"no PostgreSQL to test against: set {PG_ENV}=postgresql://... to run these"
    else:
        try:
            import psycopg

            psycopg.connect(url, connect_timeout=3).close()
        except Exception as exc:  # ImportError too: psycopg is an optional extra
            reason = f"PostgreSQL at {PG_ENV} is not reachable: {exc}"
    if reason is not None:
        if os.environ.get("FAKE_STRIPE_REQUIRE_PG") == "1":
            pytest.fail(reason + " (FAKE_STRIPE_REQUIRE_PG=1)")
        pytest.skip(reason)
    assert url is not None
    return url


def postgres_schema() -> Iterator[str]:
    """A URL whose connections use a fresh schema, dropped afterwards."""
    import psycopg

    url = postgres_url_or_skip()
    schema = "t_" + uuid.uuid4().hex[:12]
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    sep = "&" if "?" in url else "?"
    yield f"{url}{sep}options={quote(f'-csearch_path={schema}')}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA {schema} CASCADE")


def db_for(kind: str, tmp_path: Path) -> Iterator[str | None]:
    """The `--db` value of a store of this kind (None: memory)."""
    if kind == "memory":
        yield None
    elif kind == "sqlite":
        yield str(tmp_path / "store.db")
    else:
        yield from postgres_schema()
