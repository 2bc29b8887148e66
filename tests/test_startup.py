"""`fake-stripe serve --db X` with a store it cannot use: one line on stderr naming X, what is
wrong and what to do, exit status 2, no traceback, and never `listening` first."""

from __future__ import annotations

import contextlib
import socket
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from fake_stripe.core.store import SQLiteBackend

from .stores import postgres_schema


def refused(db: str, env: dict[str, str] | None = None) -> str:
    """Run `serve --db db`; it must stop at once as described above. Returns its line."""
    proc = subprocess.run(
        [sys.executable, "-m", "fake_stripe.cli.main", "serve", "--port", "0", "--db", db],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert "listening" not in proc.stdout
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("fake-stripe serve: --db "), lines[0]
    return lines[0]


def a_store(path: Path, objects: int = 0) -> str:
    backend = SQLiteBackend(str(path))
    for i in range(objects):
        backend.put("t", "customer", f"cus_{i}", "x" * 500)
    backend.close()
    return str(path)


def test_a_truncated_file(tmp_path: Path) -> None:
    db = a_store(tmp_path / "fake.db", objects=2000)
    size = Path(db).stat().st_size
    with open(db, "r+b") as f:
        f.truncate(size // 2)
    line = refused(db)
    assert db in line and "truncated" in line


def _killed_mid_checkpoint(folder: Path) -> tuple[Path, int]:
    """A store as a process killed while it checkpointed its write-ahead log leaves it: the
    file's header (page 1) rewritten from the log, claiming pages the file does not have yet,
    which the log still holds. Returns the file and the objects stored."""
    live = folder / "live.db"
    db = sqlite3.connect(live)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA wal_autocheckpoint=0")
    db.execute("CREATE TABLE t (v TEXT)")
    db.commit()
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # the table in the file, the log empty
    db.executemany("INSERT INTO t VALUES (?)", [("x" * 500,) for _ in range(2000)])
    db.commit()  # every new page in the log only
    crashed = folder / "crashed.db"
    crashed.write_bytes(live.read_bytes())
    wal = (folder / "live.db-wal").read_bytes()
    db.close()
    (folder / "crashed.db-wal").write_bytes(wal)
    page_size = int.from_bytes(wal[8:12], "big")
    page_one = None
    for at in range(32, len(wal), 24 + page_size):
        if int.from_bytes(wal[at : at + 4], "big") == 1:
            page_one = wal[at + 24 : at + 24 + page_size]
    assert page_one is not None
    with open(crashed, "r+b") as f:
        f.write(page_one)  # the checkpoint's first write, and nothing after it
    assert crashed.stat().st_size < int.from_bytes(page_one[28:32], "big") * page_size
    return crashed, 2000


def test_a_file_left_short_by_a_checkpoint_cut_off_opens_from_its_log(tmp_path: Path) -> None:
    from fake_stripe.core.store import check

    crashed, rows = _killed_mid_checkpoint(tmp_path)
    check.sqlite_file(str(crashed))  # not refused: the log holds the missing pages
    with contextlib.closing(sqlite3.connect(crashed)) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert db.execute("SELECT count(*) FROM t").fetchone() == (rows,)
    # Without its log, or with its last commit's frame torn (its checksum fails, as SQLite's
    # recovery finds it), the same file is truncated.
    for tear in (False, True):
        again = tmp_path / f"again-{tear}"
        again.mkdir()
        crashed, _rows = _killed_mid_checkpoint(again)
        log = Path(str(crashed) + "-wal")
        if tear:
            data = bytearray(log.read_bytes())
            data[-100] ^= 0xFF  # inside the last frame's page
            log.write_bytes(bytes(data))
        else:
            log.unlink()
        with pytest.raises(check.StoreError, match="truncated"):
            check.sqlite_file(str(crashed))


def test_a_file_that_is_not_a_database(tmp_path: Path) -> None:
    db = tmp_path / "fake.db"
    db.write_bytes(b"these are not the pages you are looking for\n" * 100)
    line = refused(str(db))
    assert str(db) in line and "not a SQLite database" in line


def test_a_schema_newer_than_this_fake_stripe(tmp_path: Path) -> None:
    db = a_store(tmp_path / "fake.db")
    with contextlib.closing(sqlite3.connect(db)) as con:
        con.execute("INSERT INTO schema_migrations VALUES (999, 0)")
        con.commit()
    line = refused(db)
    assert db in line and "schema version 999" in line and "upgrade fake-stripe" in line


def test_another_programs_database_is_left_alone(tmp_path: Path) -> None:
    db = str(tmp_path / "app.db")
    with contextlib.closing(sqlite3.connect(db)) as con:
        con.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)")
        con.commit()
    line = refused(db)
    assert db in line and "another program" in line and "users" in line
    with contextlib.closing(sqlite3.connect(db)) as con:
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert tables == {"users"}


def test_a_directory(tmp_path: Path) -> None:
    line = refused(str(tmp_path))
    assert str(tmp_path) in line and "is a directory" in line


def test_a_folder_that_does_not_exist(tmp_path: Path) -> None:
    db = tmp_path / "nowhere" / "fake.db"
    line = refused(str(db))
    assert str(db) in line and "does not exist" in line
    assert not db.parent.exists()


def test_an_immutable_file(tmp_path: Path) -> None:
    db = a_store(tmp_path / "fake.db", objects=1)
    if subprocess.run(["chattr", "+i", db], capture_output=True).returncode != 0:
        pytest.skip("chattr +i is not available here (needs root and a filesystem with it)")
    try:
        line = refused(db)
    finally:
        subprocess.run(["chattr", "-i", db], check=True)
    assert db in line and "read-only" in line


@pytest.fixture
def read_only_mount(tmp_path: Path) -> Iterator[Path]:
    """A tmpfs holding a store, mounted read-only."""
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "tmpfs", str(mnt)], capture_output=True).returncode:
        pytest.skip("cannot mount a tmpfs here (needs root with CAP_SYS_ADMIN)")
    try:
        a_store(mnt / "fake.db", objects=1)
        subprocess.run(["mount", "-o", "remount,ro", str(mnt)], check=True)
        yield mnt / "fake.db"
    finally:
        subprocess.run(["umount", str(mnt)], check=True)


def test_a_store_on_a_read_only_mount(read_only_mount: Path) -> None:
    line = refused(str(read_only_mount))
    assert str(read_only_mount) in line
    assert "read-only" in line or "cannot be opened" in line


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_postgresql_server_that_does_not_answer() -> None:
    url = f"postgresql://postgres@127.0.0.1:{_free_port()}/fake"
    line = refused(url)
    assert url in line and "check that PostgreSQL runs there" in line


def test_a_password_in_the_url_is_not_shown() -> None:
    url = f"postgresql://fake:s3cret@127.0.0.1:{_free_port()}/fake"
    line = refused(url)
    assert "s3cret" not in line and "fake:***@127.0.0.1" in line


def test_postgresql_without_psycopg_names_the_extra(tmp_path: Path) -> None:
    (tmp_path / "psycopg.py").write_text("raise ImportError('psycopg is not installed')\n")
    env = {"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"}
    line = refused("postgresql://postgres@127.0.0.1:5432/fake", env)
    assert "needs psycopg" in line and "pip install 'fake-stripe[postgres]'" in line


def test_a_read_only_postgresql_database() -> None:
    for url in postgres_schema():
        read_only = f"{url}{quote(' -c default_transaction_read_only=on')}"
        line = refused(read_only)
        assert "read-only" in line
