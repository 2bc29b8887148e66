"""API keys: what a whole key looks like and the tenant it names, reading the `Authorization`
header, and masking a key the way Stripe does in its error messages (light: the command line
reads keys without importing the server)."""

from __future__ import annotations

import base64
import re

from .errors import AuthenticationError

# An API key, matched in full (`fullmatch`: `$` would also match before a final newline). Its
# tenant's name is at most 200 characters (Stripe's keys are about 100 long): a name is kept
# for as long as its tenant is.
KEY_RE = re.compile(r"(sk|rk|pk)_(test|live)_([A-Za-z0-9_]{1,200})")

NO_KEY = (
    "You did not provide an API key. You need to provide your API key in the Authorization "
    "header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See "
    "https://stripe.com/docs/api#authentication for details, or we can help at "
    "https://support.stripe.com/."
)


def mask_key(key: str) -> str:
    """Stripe keeps the first 8 and last 4 characters and the length: `sk_test_****Aso0`."""
    if len(key) <= 12:
        return key[:8] + "*" * max(0, len(key) - 8)
    return key[:8] + "*" * (len(key) - 12) + key[-4:]


def parse_key(header: str | None, allow: tuple[str, ...]) -> str:
    """The API key from an `Authorization` header, `Bearer` or Basic (key as username), if its
    kind is one of `allow` (`sk`, `rk`, `pk`); else Stripe's `AuthenticationError`."""
    if not header:
        raise AuthenticationError(NO_KEY)
    scheme, _, cred = header.strip().partition(" ")
    cred = cred.strip()
    if scheme.lower() == "basic":
        try:
            cred = base64.b64decode(cred, validate=True).decode("utf-8").partition(":")[0]
        except (ValueError, UnicodeDecodeError):
            raise AuthenticationError(
                "Invalid API Key provided: the Basic credentials are not valid base64."
            ) from None
    elif scheme.lower() != "bearer":
        raise AuthenticationError(f"Invalid API Key provided: {mask_key(header.strip())[:40]}")
    if not cred:
        raise AuthenticationError(NO_KEY)
    m = KEY_RE.fullmatch(cred)
    if not m:
        raise AuthenticationError(f"Invalid API Key provided: {mask_key(cred)}")
    if m.group(2) == "live":
        raise AuthenticationError(
            f"This fake Stripe server never accepts live-mode API keys ({mask_key(cred)}). "
            "Use a test-mode key such as sk_test_..., which gets its own isolated test world."
        )
    if m.group(1) not in allow:
        if m.group(1) == "pk":
            raise AuthenticationError(
                "This API call cannot be made with a publishable API key. Please use a secret "
                "API key. You can find a list of your API keys at "
                "https://dashboard.stripe.com/account/apikeys.",
                code="secret_key_required",
            )
        raise AuthenticationError(f"Invalid API Key provided: {mask_key(cred)}")
    return cred


def tenant_of(key: str) -> str:
    """The one way from an API key to its tenant's name: `sk_test_abc` / `rk_test_abc` /
    `pk_test_abc` -> `abc`. A tenant name is never read as a key again (`sk_test_sk_test_x`
    is tenant `sk_test_x`, not `x`). Raises ValueError for anything that is not a whole key."""
    m = KEY_RE.fullmatch(key)
    if m is None:
        raise ValueError("not an API key")
    return m.group(3)
