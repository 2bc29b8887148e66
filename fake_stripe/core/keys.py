"""API keys: what a whole key looks like and the tenant it names (light: the command line reads
keys without importing the server)."""

from __future__ import annotations

import re

# An API key, matched in full (`fullmatch`: `$` would also match before a final newline).
KEY_RE = re.compile(r"(sk|rk|pk)_(test|live)_([A-Za-z0-9_]+)")


def tenant_of(key: str) -> str:
    """The one way from an API key to its tenant's name: `sk_test_abc` / `rk_test_abc` /
    `pk_test_abc` -> `abc`. A tenant name is never read as a key again (`sk_test_sk_test_x`
    is tenant `sk_test_x`, not `x`). Raises ValueError for anything that is not a whole key."""
    m = KEY_RE.fullmatch(key)
    if m is None:
        raise ValueError("not an API key")
    return m.group(3)
