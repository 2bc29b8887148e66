"""What makes a store unusable, found when it is opened: `StoreError`, one line that names the
file or URL, what is wrong and what to do.

`fake-stripe serve` opens its store before it says it is listening, and stops with that line
(exit status 2) rather than starting and answering 500 to every request: a truncated or junk
file, another program's SQLite database, a schema newer than this fake-stripe, a directory, a
folder that does not exist, a read-only file or mount, a PostgreSQL server it cannot reach, or
a missing psycopg.
"""

from __future__ import annotations

import os
import sqlite3
import struct
import time
from urllib.parse import urlsplit, urlunsplit

# The tables of a store made before the schema was versioned (its first migration).
UNVERSIONED = {"objects", "meta", "seqs"}
_HEADER = b"SQLite format 3\x00"


class StoreError(RuntimeError):
    """The store cannot be used; the message is one line."""


def sqlite_file(path: str) -> None:
    """Checks before connecting: what SQLite would report only as "unable to open"."""
    where = f"--db {path}"
    if os.path.isdir(path):
        raise StoreError(f"{where} is a directory; give a file in it, e.g. {path}/fake.db")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise StoreError(f"{where}: the folder {folder} does not exist; create it first")
    if not os.path.exists(path) or os.path.getsize(path) == 0:
        return  # a new store
    with open(path, "rb") as f:
        head = f.read(100)
    if not head.startswith(_HEADER):
        raise StoreError(
            f"{where} is not a SQLite database; give another file, or move this one away"
        )
    short = _short_by(path, head)
    # Another process sharing the file may be checkpointing its journal into it, header first:
    # the file is short only for those milliseconds. A truncated file stays short.
    for _ in range(10 if short else 0):
        time.sleep(0.05)
        with open(path, "rb") as f:
            short = _short_by(path, f.read(100))
        if short is None:
            break
    if short is not None:
        raise StoreError(
            f"{where} is truncated ({short[0]} bytes of {short[1]}); restore it from a copy or "
            "start from a new file"
        )


def _short_by(path: str, head: bytes) -> tuple[int, int] | None:
    """(the file's size, the size its header gives) when the file is shorter, else None."""
    if len(head) < 100:
        return None
    size = int.from_bytes(head[16:18], "big")
    page_size = 65536 if size == 1 else size
    pages = int.from_bytes(head[28:32], "big")
    have = os.path.getsize(path)
    # The header's page count holds when it was written with the change counter.
    if head[24:28] == head[92:96] and have < pages * page_size:
        if _wal_holds(path, have // page_size, pages):
            return None
        return have, pages * page_size
    return None


def _wal_holds(path: str, whole: int, pages: int) -> bool:
    """Whether the write-ahead log beside the file holds every page past its first `whole` ones,
    up to the database's size at the log's last commit (at least `pages`). A process killed
    while it checkpointed the log into the file leaves it so: the header written, the pages
    after it not yet. SQLite reads them from the log, and the next checkpoint writes them.

    A frame counts as SQLite's recovery counts it: with the log's salts and a running checksum
    that holds (a frame torn by the kill, and any after it, are not part of the log)."""
    try:
        f = open(path + "-wal", "rb")  # noqa: SIM115
    except OSError:
        return False
    with f:
        head = f.read(32)
        magic = int.from_bytes(head[:4], "big") if len(head) == 32 else 0
        if magic not in (0x377F0682, 0x377F0683):
            return False
        order = ">" if magic & 1 else "<"  # the byte order of the checksums' words
        page_size = int.from_bytes(head[8:12], "big")
        salts = head[16:24]
        sums = _wal_checksum(order, head[:24], (0, 0))
        if sums != struct.unpack(">2I", head[24:32]):
            return False
        seen: set[int] = set()
        committed: set[int] = set()
        size = 0  # the database's pages at the last commit found
        while len(frame := f.read(24)) == 24 and frame[8:16] == salts:
            page = f.read(page_size)
            if len(page) < page_size:
                break  # a frame cut short
            sums = _wal_checksum(order, page, _wal_checksum(order, frame[:8], sums))
            if sums != struct.unpack(">2I", frame[16:24]):
                break
            seen.add(int.from_bytes(frame[:4], "big"))
            if after := int.from_bytes(frame[4:8], "big"):  # a commit frame
                size, committed = after, set(seen)
    return size >= pages and all(p in committed for p in range(whole + 1, size + 1))


def _wal_checksum(order: str, data: bytes, sums: tuple[int, int]) -> tuple[int, int]:
    """SQLite's write-ahead log checksum of `data`, carried on from `sums`."""
    s0, s1 = sums
    words = struct.unpack(f"{order}{len(data) // 4}I", data)
    for i in range(0, len(words), 2):
        s0 = (s0 + words[i] + s1) & 0xFFFFFFFF
        s1 = (s1 + words[i + 1] + s0) & 0xFFFFFFFF
    return s0, s1


def sqlite_tables(db: sqlite3.Connection, path: str) -> None:
    """A database with tables but none of fake-stripe's schema belongs to something else."""
    tables = {
        r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    }
    if tables and "schema_migrations" not in tables and not tables <= UNVERSIONED:
        shown = ", ".join(sorted(tables)[:5])
        raise StoreError(
            f"--db {path} is a SQLite database of another program (tables: {shown}); "
            "give fake-stripe a file of its own"
        )


def sqlite_error(path: str, exc: sqlite3.Error) -> StoreError:
    text = str(exc)
    if "readonly" in text or "read-only" in text:
        return StoreError(
            f"--db {path} is read-only ({text}); fake-stripe writes to its store: make the file "
            "and its folder writable, or give another file"
        )
    if "malformed" in text or "not a database" in text:
        return StoreError(
            f"--db {path} is damaged ({text}); restore it from a copy or start from a new file"
        )
    return StoreError(f"--db {path} cannot be opened ({text}); check the file and its folder")


def redacted(url: str) -> str:
    """The URL without its password."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def postgres_error(url: str, exc: Exception) -> StoreError:
    text = " ".join(str(exc).split())[:300]
    where = f"--db {redacted(url)}"
    if "read-only" in text or "read only" in text:
        return StoreError(
            f"{where} is read-only ({text}); fake-stripe writes to its store: give a database "
            "and role that may write"
        )
    return StoreError(
        f"{where} cannot be used ({text}); check that PostgreSQL runs there and the URL"
    )
