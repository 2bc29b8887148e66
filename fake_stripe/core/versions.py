"""API versions: the one an account has by default, the preview version the fake's own tools
send, and how versions compare.

The relink surface (`relink_options`, authorizations, `status_details`) is in public preview:
it shows only under a `YYYY-MM-DD.preview` `Stripe-Version`. `PREVIEW_VERSION` is the one
everything of this project sends for it (the pytest plugin, `fake-stripe trigger`, the
dashboard, the reference client, the scenario runner, the tests). A version never decides a
yes/no for preview on its own: renderings take the reader's version (`shows_since`).
"""

from __future__ import annotations

import datetime
import re

DEFAULT_API_VERSION = "2026-10-28.endive"
PREVIEW_VERSION = "2026-01-28.preview"
# What a preview build of the SDK sends: the newest preview. Used where the fake renders for
# "any reader" (for instance to remember the previous values of a change).
NEWEST_PREVIEW = "9999-12-31.preview"
VERSION_RE = re.compile(r"^\d{4}-\d{2}-\d{2}(\.[a-z]+)?(;\s*[a-z_]+=v\d+)*$")


def is_version(version: str) -> bool:
    """A version as Stripe writes them, on a date that exists (`2019-13-45` is refused). A date
    after the fake's newest version is accepted: Stripe may have released it since."""
    if not VERSION_RE.match(version):
        return False
    try:
        datetime.date.fromisoformat(version[:10])
    except ValueError:
        return False
    return True


def is_preview(version: str | None) -> bool:
    """A `YYYY-MM-DD.preview` version (with or without beta flags)."""
    return (version or "").split(";")[0].endswith(".preview")


def version_date(version: str | None) -> str:
    """`2026-10-28` of `2026-10-28.endive` (dates compare as strings)."""
    return (version or "")[:10]


def shows_since(version: str, ga_since: str | None) -> bool:
    """Whether a reader at `version` sees what preview readers see and GA got on `ga_since`."""
    if is_preview(version):
        return True
    return ga_since is not None and version_date(version) >= ga_since
