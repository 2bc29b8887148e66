"""Stripe's (Rack-style) form encoding: `a[b][c]=v`, `a[]=x`, `a[0]=x`, repeated keys.

Decoding keeps the order of keys and every repeated value. The result is a tree of dicts, lists
and strings; numeric hash keys stay strings here (`metadata[0]` is a valid metadata key), and the
parameter checker turns `{"0": .., "1": ..}` into a list where the endpoint expects an array.
"""

from __future__ import annotations

import binascii
import re
from collections.abc import Sequence
from typing import Any

from .errors import ParamError
from .turns import checkpoint

MAX_DEPTH = 10
MAX_PAIRS = 10_000


class Repeated(list[str]):
    """Values of a plain key given more than once (`a=x&a=y`); the last one wins for scalars."""


# A `%` not followed by two hex digits.
_BAD_ESCAPE = re.compile(rb"%(?![0-9A-Fa-f]{2})")

# Bytes searched for as their values: `b"%" in v` first tries `b"%"` as an integer, raising
# and clearing a TypeError each time (some 140 ns, where `37 in v` takes 16).
_PLUS = ord("+")
_PERCENT = ord("%")


def _unquote(raw: bytes, param: str) -> str:
    out = raw
    if _PLUS in out:
        out = out.replace(b"+", b" ")
    if _PERCENT in out:
        if _BAD_ESCAPE.search(out):
            raise ParamError(
                f"Invalid percent-encoding in parameter: {param or '(name)'}",
                param=param or None,
            )
        # Every `%` now starts a valid escape, so quoted-printable's C decoder (`=XX`) does the
        # work once `=` is escaped and `%` becomes `=`: milliseconds for a body at the size
        # limit, where a loop in Python takes a tenth of a second.
        out = binascii.a2b_qp(out.replace(b"=", b"=3D").replace(b"%", b"="))
    try:
        return out.decode("utf-8")
    except UnicodeDecodeError:
        raise ParamError(
            f"Invalid UTF-8 in parameter: {param or '(name)'}",
            param=param or None,
        ) from None


def _no_nul(key: str, value: str) -> None:
    """A NUL (a raw byte or `%00`) in a name or a value is refused: no string Stripe takes
    holds one, and PostgreSQL's text cannot. (Stripe's own edge answers a NUL in the URL with
    a bare 400; the Stripe-shaped error naming the parameter is this fake's choice.)"""
    if "\0" in key:
        raise ParamError("Invalid null byte in parameter name.", param=key[:200])
    if "\0" in value:
        raise ParamError(f"Invalid null byte in parameter: {key[:200]}", param=key[:200])


def split_key(key: str) -> list[str]:
    """`a[b][]` -> ["a", "b", ""]. Raises on unbalanced brackets or more than MAX_DEPTH parts.

    One pass from left to right that stops at the first part over the limit, so a name of a
    million brackets costs no more than one of eleven.
    """
    open_at = key.find("[")
    head = key if open_at < 0 else key[:open_at]
    if not head or "]" in head:
        raise ParamError(f"Invalid parameter name: {key[:80]!r}", param=key[:200] or None)
    parts = [head]
    pos, n = open_at, len(key)
    while 0 <= pos < n:
        if key[pos] != "[":
            raise ParamError(f"Invalid parameter name: {key[:80]!r}", param=key[:200])
        end = key.find("]", pos + 1)
        if end < 0:
            raise ParamError(f"Invalid parameter name: {key[:80]!r}", param=key[:200])
        inner = key[pos + 1 : end]
        if "[" in inner:
            raise ParamError(f"Invalid parameter name: {key[:80]!r}", param=key[:200])
        parts.append(inner)
        if len(parts) > MAX_DEPTH:
            raise ParamError(
                f"Parameter nested too deeply: {head[:80]} (at most {MAX_DEPTH} levels)",
                param=head[:200],
            )
        pos = end + 1
    return parts


def bracket(parts: Sequence[str]) -> str:
    """["a", "b", "0"] -> "a[b][0]": the name Stripe uses in `param`."""
    return parts[0] + "".join(f"[{p}]" for p in parts[1:])


def _conflict(parts: Sequence[str], upto: int) -> ParamError:
    name = bracket(parts[: upto + 1])
    return ParamError(
        f"Invalid value for {name}: it is given both as a plain value and as a hash or array.",
        param=name,
    )


def _insert(root: dict[str, Any], parts: Sequence[str], value: str) -> None:
    node: Any = root
    for depth, part in enumerate(parts):
        last = depth == len(parts) - 1
        if isinstance(node, dict):
            if last:
                if part in node:
                    prev = node[part]
                    if isinstance(prev, Repeated):
                        prev.append(value)
                    elif isinstance(prev, str):
                        node[part] = Repeated([prev, value])
                    else:
                        raise _conflict(parts, depth)
                else:
                    node[part] = value
                return
            nxt = parts[depth + 1]
            want_list = nxt == ""
            child = node.get(part)
            if child is None:
                child = [] if want_list else {}
                node[part] = child
            elif isinstance(child, str) or (want_list != isinstance(child, list)):
                raise _conflict(parts, depth)
            node = child
        else:  # a list, reached through `[]`
            if part != "":
                raise _conflict(parts, depth - 1)
            if last:
                node.append(value)
                return
            nxt = parts[depth + 1]
            if nxt == "":
                raise ParamError(
                    f"Nested arrays are not supported: {bracket(parts)}",
                    param=bracket(parts[:depth]),
                )
            # Rack: `a[][x]=1&a[][y]=2` fills one hash until a key repeats.
            rest_key = parts[depth + 1]
            if node and isinstance(node[-1], dict) and rest_key not in node[-1]:
                target = node[-1]
            elif node and not isinstance(node[-1], dict):
                raise _conflict(parts, depth - 1)
            else:
                target = {}
                node.append(target)
            node = target
            # `part` was the list slot; the following loop step handles the hash key.
    return


def _pairs(raw: bytes) -> list[bytes]:
    """The non-empty `&`-separated pairs, at most MAX_PAIRS of them."""
    pairs = raw.split(b"&")
    if len(pairs) > MAX_PAIRS:
        pairs = list(filter(None, pairs))
        if len(pairs) > MAX_PAIRS:
            raise ParamError(f"Too many parameters (at most {MAX_PAIRS}).")
    return pairs


# Names as sent (still escaped) -> the name and its parts (None for a plain name): a client
# sends the same few names on every request, and unescaping and splitting them was a third of
# decoding a customer's create. At most `_NAMES_KEPT`; emptied when full.
_names: dict[bytes, tuple[str, tuple[str, ...] | None]] = {}
_NAMES_KEPT = 1024


def _name(raw: bytes) -> tuple[str, tuple[str, ...] | None]:
    found = _names.get(raw)
    if found is None:
        key = _unquote(raw, "")
        plain = bool(key) and "[" not in key and "]" not in key
        found = (key, None if plain else tuple(split_key(key)))
        if len(_names) >= _NAMES_KEPT:
            _names.clear()
        _names[raw] = found
    return found


def decode(raw: bytes | str) -> dict[str, Any]:
    """Decode a form body or query string into a nested dict. Raises ParamError on bad input.

    Linear in the size of the input, whatever its shape (the wire layer moves large bodies off
    the event loop all the same).
    """
    if isinstance(raw, str):
        raw = raw.encode("utf-8")
    nul = 0 in raw or b"%00" in raw  # (one search of the whole input, not one per pair)
    root: dict[str, Any] = {}
    for n, pair in enumerate(_pairs(raw)):
        if not pair:
            continue
        if n & 127 == 127:
            checkpoint()  # a long body, on a worker thread: the event loop's turn (`core.turns`)
        k, _, v = pair.partition(b"=")
        key, parts = _names.get(k) or _name(k)
        if _PERCENT in v or _PLUS in v:
            value = _unquote(v, key[:200])
        else:
            try:
                value = v.decode("utf-8")
            except UnicodeDecodeError:
                value = _unquote(v, key[:200])  # its error
        if nul:
            _no_nul(key, value)
        if parts is None:
            if key not in root:
                root[key] = value  # a plain name seen first: most of a body's pairs
                continue
        elif len(parts) == 2 and parts[1]:
            # `a[b]` (metadata, an address's fields): a new key of a hash, or a new hash
            child = root.get(parts[0])
            if child is None:
                root[parts[0]] = {parts[1]: value}
                continue
            if type(child) is dict and parts[1] not in child:
                child[parts[1]] = value
                continue
        _insert(root, parts or [key], value)
    return root


_BOUNDARY = re.compile(r'boundary="?([^";]+)"?', re.IGNORECASE)
_NAME = re.compile(rb'\bname="([^"]*)"', re.IGNORECASE)
_FILENAME = re.compile(rb'\bfilename="([^"]*)"', re.IGNORECASE)


def decode_multipart(raw: bytes, content_type: str) -> dict[str, Any]:
    """Decode a `multipart/form-data` body (a file upload) into the same nested dict. A file
    part's value is its file name: the fake keeps no file's contents."""
    found = _BOUNDARY.search(content_type)
    if found is None:
        raise ParamError("Invalid multipart/form-data body: the Content-Type names no boundary.")
    chunks = raw.split(b"--" + found.group(1).encode("latin-1"))
    if len(chunks) > MAX_PAIRS + 2:
        raise ParamError(f"Too many parameters (at most {MAX_PAIRS}).")
    root: dict[str, Any] = {}
    for chunk in chunks[1:]:
        if chunk.startswith(b"--"):
            break
        head, sep, body = chunk.partition(b"\r\n\r\n")
        name = _NAME.search(head)
        if not sep or name is None:
            raise ParamError("Invalid multipart/form-data body: a part has no name.")
        filename = _FILENAME.search(head)
        data = filename.group(1) if filename else body.removesuffix(b"\r\n")
        key = _text(name.group(1), "")
        value = _text(data, key[:200])
        _no_nul(key, value)
        _insert(root, split_key(key), value)
    return root


def _text(raw: bytes, param: str) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ParamError(
            f"Invalid UTF-8 in parameter: {param or '(name)'}", param=param or None
        ) from None
