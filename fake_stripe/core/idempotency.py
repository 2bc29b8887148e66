"""A tenant's idempotency records: claiming a key, checking a replay, and forgetting a record
once Stripe's 24 hours have passed in the tenant's time.

A record is tenant metadata `idem:<key>`: the endpoint, a fingerprint of the parameters, when
(tenant time) it was claimed, and once the request is done, the status and body to replay. Each
claim is also appended to the tenant's log of claims (`idem:log:<n>`, oldest first; `idem:head`
is the oldest entry still there), and each claim first purges up to `PURGE_BATCH` entries from
the head whose 24 hours have passed, with their records. So a tenant keeps the records of about
one day of claims, and a request costs a few store operations however many there are.
"""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any

from .errors import IdempotencyError, InvalidRequestError
from .tenant import Tenant

TTL = 24 * 3600
# A key still in flight this long after its claim was claimed by a process that died (the
# outcome is committed with the request's writes, and requests last milliseconds).
IN_FLIGHT_ABANDONED = 30.0
# Log entries purged per claim at most: more than the one a claim adds, so a backlog (after the
# clock jumped) drains while the tenant keeps sending idempotent requests.
PURGE_BATCH = 4
_HEAD, _TAIL = "idem:head", "idem:tail"


def check_key(key: str) -> None:
    if not 1 <= len(key) <= 255:
        raise InvalidRequestError(
            f"Idempotent key length is {len(key)}, which is outside accepted lengths. "
            "Idempotent Keys must be 1-255 characters long. If you're looking for a decent "
            "generator, try using a UUID defined by IETF RFC 4122."
        )


def fingerprint(decoded: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(decoded, sort_keys=True).encode()).hexdigest()


def claim(store: Tenant, key: str, record: dict[str, Any]) -> dict[str, Any] | None:
    """Claim `key` for a request described by `record`; None once claimed, or the live record
    of an earlier request to replay.

    The claim is an atomic compare-and-set outside the request's transaction: of two processes
    racing with one key, one wins and the other sees it in flight (409) or replays it. A record
    still in flight long after its claim belongs to a process that died before committing: it
    may be claimed again, as may an expired or released one.
    """
    purge(store, record["created"])
    meta = "idem:" + key
    claimed = json.dumps(record)
    stored: str | None = None  # first, as for a key never used: claimed without a read
    for attempt in range(9):  # one blind claim, then up to 8 with a read
        if attempt:
            stored = store.meta_get(meta)
            rec = None if stored is None else json.loads(stored)
            if rec is not None and record["created"] - rec["created"] > TTL:
                rec = None
            if rec is not None and rec.get("in_flight"):
                if time.time() - rec.get("claimed_at", 0) > IN_FLIGHT_ABANDONED:
                    rec = None
            if rec is not None:
                return dict(rec)
        if store.backend.meta_swap(store.name, meta, stored, claimed):
            n = store.backend.increment(store.name, _TAIL)
            store.backend.meta_set(
                store.name, f"idem:log:{n}", json.dumps([key, record["created"]])
            )
            return None
    raise in_use(key)


def outcome(record: dict[str, Any], status: int, body: Any) -> str:
    """The record of a finished request, as stored for replays."""
    return json.dumps({**record, "status": status, "body": body, "in_flight": False})


def outcome_encoded(record: dict[str, Any], status: int, body: bytes) -> str:
    """`outcome`, with the body already encoded as JSON (the bytes the response sends): the
    body is serialized once for both."""
    head = json.dumps({**record, "status": status, "in_flight": False})
    return f'{head[:-1]}, "body": {body.decode()}}}'


def release(store: Tenant, key: str, record: dict[str, Any]) -> None:
    """Forget the claim (nothing ran, or the fake failed): a retry with the key runs again."""
    released = {**record, "created": -TTL - 1, "in_flight": False}
    store.meta_set("idem:" + key, json.dumps(released))


def purge(store: Tenant, now: int) -> int:
    """Forget up to PURGE_BATCH of the oldest claims made more than TTL before `now` (tenant
    time), with their records unless the key was claimed again since. Returns how many."""
    backend, name = store.backend, store.name
    done = 0
    while done < PURGE_BATCH:
        head = backend.meta_get(name, _HEAD)
        n = int(head or 1)
        entry = backend.meta_get(name, f"idem:log:{n}")
        if entry is None:
            # Past the tail; or an entry whose claimer stopped between counting and writing it.
            if n > int(backend.meta_get(name, _TAIL) or 0):
                return done
        elif now - int(json.loads(entry)[1]) <= TTL:
            return done
        if not backend.meta_swap(name, _HEAD, head, str(n + 1)):
            return done  # another request is purging this tenant
        done += 1
        if entry is None:
            continue
        backend.meta_swap(name, f"idem:log:{n}", entry, None)
        key, created = json.loads(entry)
        meta = "idem:" + key
        stored = backend.meta_get(name, meta)
        if stored is not None and json.loads(stored)["created"] <= created:
            backend.meta_swap(name, meta, stored, None)
    return done


def check_replay(rec: dict[str, Any], key: str, path: str, endpoint: str, fp: str) -> None:
    """Raise unless `rec` may be replayed for this request."""
    if rec["endpoint"] != endpoint:
        raise IdempotencyError(
            "Keys for idempotent requests can only be used for the same endpoint they were "
            f"first used for ('{rec['endpoint'].split(' ', 1)[1]}' vs '{path}'). Try using a "
            f"key other than '{key}' if you meant to execute a different request."
        )
    if rec["fingerprint"] != fp:
        raise IdempotencyError(
            "Keys for idempotent requests can only be used with the same parameters they "
            f"were first used with. Try using a key other than '{key}' if you meant to "
            "execute a different request."
        )
    if rec.get("in_flight"):
        raise in_use(key)


def in_use(key: str) -> IdempotencyError:
    return IdempotencyError(
        "There is currently another in-progress request using this Idempotent Key "
        "(that probably means you submitted twice, and the other request is still "
        f"going through): {key}. Please try again later.",
        code="idempotency_key_in_use",
        status=409,
    )
