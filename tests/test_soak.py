"""The short form of the store soak (`bench/soak_stores.py --short`): mixed load, raced
idempotency keys, kill -9 cycles and audited webhook deliveries on 1 process, 2 processes on
one SQLite file and 3 instances on one PostgreSQL database. The long form is in the README."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.stores import postgres_url

SOAK = Path(__file__).resolve().parent.parent / "bench" / "soak_stores.py"


@pytest.mark.soak
@pytest.mark.parametrize("stores", ["one", "sqlite2", "pg3"])
def test_the_short_soak_loses_nothing_and_duplicates_nothing(stores: str) -> None:
    env = dict(os.environ)
    if stores == "pg3":
        env["FAKE_STRIPE_TEST_PG"] = postgres_url()
    done = subprocess.run(
        [sys.executable, str(SOAK), "--short", "--stores", stores],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    print(done.stdout)
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    assert "audit: PASS" in done.stdout
    assert "lost: 0 customers, 0 keys" in done.stdout
