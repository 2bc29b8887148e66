"""Ascending sequence numbers packed in a `bytearray`, 8 bytes each: the memory store's indexes.

A `bytearray` is not tracked by the cyclic garbage collector (a `list` of ints or an `array`
is, and a collection walks them), so an index of any size costs the collector nothing, nor
does a dict of them. Each operation here is one C call on the buffer (a slice, a pack, an
insert), so readers without the writer's lock see the entries before or after a change, never
half of one; an index read while an entry is removed may shift by one, which the walks allow for.
"""

from __future__ import annotations

import struct
from array import array
from collections.abc import Iterator

_ENTRY = struct.Struct("=q")
WIDTH = _ENTRY.size
_CHUNK = 128  # entries read per slice by a walk


def count(seqs: bytearray) -> int:
    return len(seqs) // WIDTH


def at(seqs: bytearray, i: int) -> int | None:
    """The `i`th entry, or None if the index has shrunk below it meanwhile."""
    try:
        return int(_ENTRY.unpack_from(seqs, i * WIDTH)[0])
    except struct.error:
        return None


def _bisect(seqs: bytearray, seq: int, right: bool) -> int:
    lo, hi = 0, count(seqs)
    while lo < hi:
        mid = (lo + hi) // 2
        found = at(seqs, mid)
        if found is not None and (found < seq or (right and found == seq)):
            lo = mid + 1
        else:
            hi = mid
    return lo


def bisect_left(seqs: bytearray, seq: int) -> int:
    """The position of the first entry ≥ `seq`."""
    return _bisect(seqs, seq, False)


def bisect_right(seqs: bytearray, seq: int) -> int:
    """The position after the last entry ≤ `seq`."""
    return _bisect(seqs, seq, True)


# `seq` as an entry: `seqs += pack(seq)` adds a number larger than every entry (a new object's).
pack = _ENTRY.pack


def add(seqs: bytearray, seq: int) -> None:
    """Add `seq`, once, in order (at the end, the usual case, without a search)."""
    size = len(seqs)
    if not size or seq > _ENTRY.unpack_from(seqs, size - WIDTH)[0]:
        seqs += _ENTRY.pack(seq)
        return
    i = bisect_left(seqs, seq)
    if i == size // WIDTH or at(seqs, i) != seq:
        seqs[i * WIDTH : i * WIDTH] = _ENTRY.pack(seq)


def remove(seqs: bytearray, seq: int) -> None:
    i = bisect_left(seqs, seq)
    if at(seqs, i) == seq:
        del seqs[i * WIDTH : (i + 1) * WIDTH]


def _chunk(seqs: bytearray, lo: int, hi: int) -> array[int]:
    out = array("q")
    out.frombytes(seqs[lo * WIDTH : hi * WIDTH])
    return out


def descending(seqs: bytearray, end: int) -> Iterator[int]:
    """The entries before position `end`, newest first, read a slice at a time."""
    hi = end
    while hi > 0:
        lo = max(0, hi - _CHUNK)
        yield from reversed(_chunk(seqs, lo, hi))
        hi = lo


def ascending(seqs: bytearray, start: int) -> Iterator[int]:
    """The entries from position `start` on, oldest first, read a slice at a time."""
    lo = start
    while lo < count(seqs):
        chunk = _chunk(seqs, lo, lo + _CHUNK)
        yield from chunk
        lo += len(chunk)
