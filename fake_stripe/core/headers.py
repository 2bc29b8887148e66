"""What a response header may be (RFC 9110, 5): a name must be a token; a value may hold no
control character but a tab. Checked by the server on every head it writes from an app's
headers (`http_server`), and by the wire layer on the lines it writes itself
(`wire.JSONResponse.header_lines`)."""

from __future__ import annotations

import re

BAD_NAME = re.compile(rb'[\x00-\x20\x7f()<>@,;:\\"/\[\]?={}]')
BAD_VALUE = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")
# The response headers that frame the body or the connection: the server's to write.
FRAMING = frozenset((b"content-length", b"transfer-encoding", b"connection"))


def plain_header_name(name: bytes) -> bool:
    """Whether an app may write header `name` (lower-case) as a line of its own: a token that
    does not frame the response."""
    return bool(name) and name not in FRAMING and not BAD_NAME.search(name)
