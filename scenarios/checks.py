"""The `[expect]` tables read from the client's side: the events after [given], the client's
requests (attempts, statuses, idempotency keys, replays), its webhook handler's watchlist, and
the one line an error of the client reads as."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from .expect import Mismatch
from .relink_client import Attempt, Flag, Watchlist


def check_events(
    events: Iterable[Mapping[str, Any]],
    given_events: set[str],
    want: Mapping[str, int],
    where: str,
) -> list[Mismatch]:
    seen = Counter(ev["type"] for ev in events if ev["id"] not in given_events)
    return [
        Mismatch(f"{where}.{etype!r}", n, seen.get(etype, 0), "events after [given]")
        for etype, n in want.items()
        if seen.get(etype, 0) != n
    ]


def check_requests(
    attempts: Sequence[Attempt], want: Mapping[str, Any], where: str
) -> list[Mismatch]:
    """`attempts`: the client's requests after [given]."""
    out: list[Mismatch] = []
    sent = {a.request_id for a in attempts if a.request_id}
    for req, spec in want.items():
        method, path = req.split(" ", 1)
        mine = [a for a in attempts if a.method == method and a.path == path]
        actual = {
            "attempts": len(mine),
            "statuses": [a.status for a in mine],
            "idempotency_keys": len({a.idempotency_key for a in mine if a.idempotency_key}),
            "created": len({a.object_id for a in mine if a.object_id}),
            "replayed": len(
                [a for a in mine if a.original_request is not None and a.original_request in sent]
            ),
        }
        for k, v in spec.items():
            if actual[k] != v:
                out.append(
                    Mismatch(
                        f"{where}.{req!r}.{k}",
                        v,
                        actual[k],
                        "the client's requests after [given]",
                    )
                )
    return out


def check_watchlist(
    watchlist: Watchlist, ids: Mapping[str, str], want: Mapping[str, list[str]], where: str
) -> list[Mismatch]:
    """`ids`: the scenario's names of objects (`accounts.<ref>`) and their ids."""
    by_id = {v: k.split(".", 1)[1] for k, v in ids.items() if k.startswith("accounts.")}
    out = []
    for flag_name, refs in want.items():
        flagged = watchlist.accounts(Flag(flag_name))
        actual = sorted(by_id.get(a, a) for a in flagged)
        if actual != sorted(refs):
            out.append(
                Mismatch(
                    f"{where}.{flag_name}",
                    sorted(refs),
                    actual,
                    "accounts the client's webhook handler flagged",
                )
            )
    return out


def error_line(err: Mapping[str, Any]) -> str:
    parts = [str(err.get(k)) for k in ("step", "http_status", "code") if err.get(k)]
    return " ".join(parts) + (f": {err['message']}" if err.get("message") else "")
