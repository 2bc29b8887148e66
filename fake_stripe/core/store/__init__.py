"""Per-tenant state: objects by id, ordered lists, counters, idempotency records, leases.

A tenant is one test-mode account, named by its API key (`sk_test_X`, `rk_test_X` and
`pk_test_X` all reach tenant `X`). `open_backend` picks the store from `--db`: none is memory,
a `postgresql://` URL is PostgreSQL, anything else is a SQLite file.
"""

from __future__ import annotations

from .base import Backend, Busy, Conflict, WouldWait
from .check import StoreError
from .memory import MemoryBackend
from .sqlite import SQLiteBackend

__all__ = [
    "Backend",
    "Busy",
    "Conflict",
    "MemoryBackend",
    "SQLiteBackend",
    "StoreError",
    "WouldWait",
    "open_backend",
]


def open_backend(db: str | None) -> Backend:
    """The store `--db` names, opened and checked (`StoreError` when it cannot be used)."""
    if not db:
        return MemoryBackend()
    if db.startswith(("postgresql://", "postgres://")):
        try:
            from .postgres import PostgresBackend
        except ImportError:
            raise StoreError(
                f"--db {db.split('://')[0]}://... needs psycopg, which is not installed: "
                "pip install 'fake-stripe[postgres]'"
            ) from None
        return PostgresBackend(db)
    return SQLiteBackend(db)
