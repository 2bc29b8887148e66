"""The links behind `next_action.verify_with_microdeposits.hosted_verification_url`: each names
one intent of one tenant, and only someone given it can use it.

The page that takes a link carries no API key, so the link itself says which tenant it belongs
to: the tenant's name sealed under a key of the store's (one value in its server-wide metadata,
tenant "", shared by every instance), which a link's holder cannot read, since the name is the
secret part of the tenant's API keys. A link is `{kind}_test_{nonce}{sealed name}{secret}`;
the tenant's own metadata keeps, under the nonce, the intent and a hash of the 160-bit secret,
compared in constant time. So the records are the tenant's: they go with the tenant's reset,
and no tenant adds anything to what the server keeps for all.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
from typing import NamedTuple

from ..core.context import Ctx
from ..core.keys import KEY_RE
from ..core.store import Backend

PATH = "/microdeposit"
SERVER = ""  # the store's server-wide metadata, as `core/indexes.py` keeps its own
KEY_META = "microdeposit_link_key"
# The name's length is bounded by the request line's (http_server's head limit).
_LINK = re.compile(r"(sacs|pacs)_test_([0-9a-f]{16})((?:[0-9a-f]{2})+)([0-9a-f]{40})")


class Target(NamedTuple):
    tenant: str
    intent: str


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _name(nonce: str) -> str:
    return f"microdeposit_link:{nonce}"


def _key(backend: Backend, make: bool) -> bytes | None:
    key = backend.meta_get(SERVER, KEY_META)
    if key is None and make:
        backend.meta_swap(SERVER, KEY_META, None, secrets.token_hex(32))
        key = backend.meta_get(SERVER, KEY_META)
    return None if key is None else bytes.fromhex(key)


def _seal(key: bytes, nonce: bytes, data: bytes) -> bytes:
    """`data` XOR a keystream of HMAC-SHA256(key, nonce, block): its own inverse."""
    stream = b"".join(
        hmac.new(key, nonce + i.to_bytes(4, "big"), hashlib.sha256).digest()
        for i in range(len(data) // 32 + 1)
    )
    return bytes(a ^ b for a, b in zip(data, stream, strict=False))


def issue(ctx: Ctx, intent_id: str) -> str:
    """A new link to the page for this intent, recorded with the request's other writes."""
    kind = "sacs" if intent_id.startswith("seti_") else "pacs"
    name = ctx.tenant.name.encode()
    key = _key(ctx.tenant.backend, make=True)
    assert key is not None
    nonce, secret = secrets.token_bytes(8), secrets.token_hex(20)
    record = json.dumps({"intent": intent_id, "hash": _digest(secret)})
    ctx.tenant.meta_set(_name(nonce.hex()), record)
    # GUESS (docs/guesses.md, microdeposits): the path mirrors Stripe's
    # payments.stripe.com/microdeposit/sacs_test_… addresses.
    return f"{ctx.origin}{PATH}/{kind}_test_{nonce.hex()}{_seal(key, nonce, name).hex()}{secret}"


def resolve(backend: Backend, link: str) -> Target | None:
    """The tenant and intent a link names, or None for anything that is not a link issued here."""
    m = _LINK.fullmatch(link)
    key = _key(backend, make=False) if m is not None else None
    if m is None or key is None:
        return None
    _kind, nonce, sealed, secret = m.groups()
    try:
        tenant = _seal(key, bytes.fromhex(nonce), bytes.fromhex(sealed)).decode("ascii")
    except UnicodeDecodeError:
        return None
    if KEY_RE.fullmatch(f"sk_test_{tenant}") is None:
        return None
    raw = backend.meta_get(tenant, _name(nonce))
    if raw is None:
        return None
    record = json.loads(raw)
    if not hmac.compare_digest(_digest(secret), str(record["hash"])):
        return None
    return Target(tenant, str(record["intent"]))
