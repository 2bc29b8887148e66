"""The links behind `next_action.verify_with_microdeposits.hosted_verification_url`: each names
one intent of one tenant, and only someone given it can use it.

A link is `{kind}_test_{ref}{secret}`: `ref` is a public lookup id, `secret` 160 random bits
of which the store keeps only a hash, compared in constant time. The page that takes a link
carries no API key, so the record of each link (its tenant and intent) is kept in the store,
where every instance sharing it finds it, in the server-wide metadata (tenant "").
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
from typing import NamedTuple

from ..core.context import Ctx
from ..core.store import Backend

PATH = "/microdeposit"
SERVER = ""  # the store's server-wide metadata, as `core/indexes.py` keeps its own
_LINK = re.compile(r"(sacs|pacs)_test_([0-9a-f]{16})([0-9a-f]{40})")


class Target(NamedTuple):
    tenant: str
    intent: str


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _name(kind: str, ref: str) -> str:
    return f"microdeposit_link:{kind}_{ref}"


def issue(ctx: Ctx, intent_id: str) -> str:
    """A new link to the page for this intent, recorded once the request commits."""
    kind = "sacs" if intent_id.startswith("seti_") else "pacs"
    ref, secret = secrets.token_hex(8), secrets.token_hex(20)
    record = json.dumps({"tenant": ctx.tenant.name, "intent": intent_id, "hash": _digest(secret)})
    backend = ctx.tenant.backend
    ctx.tenant.after_commit.append(lambda: backend.meta_set(SERVER, _name(kind, ref), record))
    # GUESS (docs/guesses.md, microdeposits): the path mirrors Stripe's
    # payments.stripe.com/microdeposit/sacs_test_… addresses.
    return f"{ctx.origin}{PATH}/{kind}_test_{ref}{secret}"


def resolve(backend: Backend, link: str) -> Target | None:
    """The tenant and intent a link names, or None for anything that is not a link issued here."""
    m = _LINK.fullmatch(link)
    if m is None:
        return None
    kind, ref, secret = m.groups()
    raw = backend.meta_get(SERVER, _name(kind, ref))
    if raw is None:
        return None
    record = json.loads(raw)
    if not hmac.compare_digest(_digest(secret), str(record["hash"])):
        return None
    return Target(str(record["tenant"]), str(record["intent"]))
