"""Stripe's (Rack-style) form encoding: `a[b][c]=v`, `a[]=x`, `a[0]=x`, repeated keys.

Decoding keeps the order of keys and every repeated value. The result is a tree of dicts, lists
and strings; numeric hash keys stay strings here (`metadata[0]` is a valid metadata key), and the
parameter checker turns `{"0": .., "1": ..}` into a list where the endpoint expects an array.
"""

from __future__ import annotations

from typing import Any

from .errors import ParamError

MAX_DEPTH = 10
MAX_PAIRS = 10_000

_HEX = {ord(c): int(c, 16) for c in "0123456789abcdefABCDEF"}


class Repeated(list[str]):
    """Values of a plain key given more than once (`a=x&a=y`); the last one wins for scalars."""


def _unquote(raw: bytes, param: str) -> str:
    if b"%" not in raw and b"+" not in raw:
        out = raw
    else:
        buf = bytearray()
        i, n = 0, len(raw)
        while i < n:
            c = raw[i]
            if c == 0x25:  # '%'
                if i + 2 >= n or raw[i + 1] not in _HEX or raw[i + 2] not in _HEX:
                    raise ParamError(
                        f"Invalid percent-encoding in parameter: {param or '(name)'}",
                        param=param or None,
                    )
                buf.append(_HEX[raw[i + 1]] * 16 + _HEX[raw[i + 2]])
                i += 3
            else:
                buf.append(0x20 if c == 0x2B else c)
                i += 1
        out = bytes(buf)
    try:
        return out.decode("utf-8")
    except UnicodeDecodeError:
        raise ParamError(
            f"Invalid UTF-8 in parameter: {param or '(name)'}",
            param=param or None,
        ) from None


def split_key(key: str) -> list[str]:
    """`a[b][]` -> ["a", "b", ""]. Raises on unbalanced brackets."""
    head, sep, rest = key.partition("[")
    if not head:
        raise ParamError(f"Invalid parameter name: {key!r}", param=key)
    parts = [head]
    if not sep:
        if "]" in head:
            raise ParamError(f"Invalid parameter name: {key!r}", param=key)
        return parts
    rest = "[" + rest
    while rest:
        if not rest.startswith("["):
            raise ParamError(f"Invalid parameter name: {key!r}", param=key)
        end = rest.find("]")
        if end < 0:
            raise ParamError(f"Invalid parameter name: {key!r}", param=key)
        inner = rest[1:end]
        if "[" in inner:
            raise ParamError(f"Invalid parameter name: {key!r}", param=key)
        parts.append(inner)
        rest = rest[end + 1 :]
    if len(parts) > MAX_DEPTH:
        raise ParamError(
            f"Parameter nested too deeply: {parts[0]} (at most {MAX_DEPTH} levels)",
            param=parts[0],
        )
    return parts


def bracket(parts: list[str]) -> str:
    """["a", "b", "0"] -> "a[b][0]": the name Stripe uses in `param`."""
    return parts[0] + "".join(f"[{p}]" for p in parts[1:])


def _conflict(parts: list[str], upto: int) -> ParamError:
    name = bracket(parts[: upto + 1])
    return ParamError(
        f"Invalid value for {name}: it is given both as a plain value and as a hash or array.",
        param=name,
    )


def _insert(root: dict[str, Any], parts: list[str], value: str) -> None:
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


def decode(raw: bytes | str) -> dict[str, Any]:
    """Decode a form body or query string into a nested dict. Raises ParamError on bad input."""
    if isinstance(raw, str):
        raw = raw.encode("utf-8")
    root: dict[str, Any] = {}
    if not raw:
        return root
    pairs = raw.split(b"&")
    if len(pairs) > MAX_PAIRS:
        raise ParamError(
            f"Too many parameters (at most {MAX_PAIRS}).",
        )
    for pair in pairs:
        if not pair:
            continue
        k, _, v = pair.partition(b"=")
        key = _unquote(k, "")
        value = _unquote(v, key)
        parts = split_key(key)
        _insert(root, parts, value)
    return root
