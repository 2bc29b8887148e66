"""The chaos suite's short form (`python -m tests.stress.chaos` runs the long one)."""

from __future__ import annotations

from .chaos import SHORT, report, run


def test_chaos_short_form_gives_no_5xx_loses_no_write_and_drops_slow_clients() -> None:
    # The latency figures are printed, not asserted: they are measured by the long form.
    fig = run(SHORT)
    print(report(fig))
    assert fig.fivexx == []
    assert fig.lost_writes == 0 and fig.acknowledged_writes > 0
    assert fig.extra.get("duplicate objects per idempotency key", 0) == 0
    assert fig.extra["slowloris all closed"], fig.extra
    assert fig.extra["internal errors logged"] == 0
    assert fig.extra["tracebacks logged"] == 0
    assert "nested brackets answered" not in fig.extra  # every one was a 400
    assert fig.extra["endless response bodies: RSS within 64 MiB"], fig.extra
    assert fig.extra["16 hanging receivers: most held at once"] == 16
    assert "largest: 101 features answered" not in fig.extra  # over the cap: a 400
    assert fig.extra["SQLite, 2 processes: writes acknowledged"] > 0
    assert fig.extra["lock phases: tracebacks logged"] == 0
