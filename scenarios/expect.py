"""Matching what a scenario expects against what was observed, one `Mismatch` per difference.

Tables match as subsets (keys not named are not checked), except an empty table, which requires
an empty object. Lists match element by element. Strings may name a runtime id (`{customer}`,
`{accounts.checking}`) or be one of the markers `<null>`, `<absent>`, `<any>`, `<changed>`,
`<unchanged>` (see FORMAT.md).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

_REF_RE = re.compile(r"^\{([a-z_]+)(?:\.([A-Za-z0-9_-]+))?\}$")


class _Missing:
    def __repr__(self) -> str:
        return "<absent>"

    def __reduce__(self) -> str:
        return "MISSING"  # unpickled as this module's one instance (results cross processes)


MISSING: Any = _Missing()


@dataclass(frozen=True)
class Mismatch:
    where: str  # "expect.accounts.checking.status"
    expected: Any
    actual: Any
    note: str = ""

    def __str__(self) -> str:
        note = f" ({self.note})" if self.note else ""
        return f"{self.where}: expected {_show(self.expected)}, got {_show(self.actual)}{note}"


def _show(v: Any) -> str:
    if v is None:
        return "null"
    if v is MISSING:
        return "<absent>"
    return repr(v) if not isinstance(v, str) else f"'{v}'"


Resolver = Callable[[str, str | None], str | None]
Baseline = Callable[[str], Any]


class Matcher:
    """`resolve(kind, ref)` turns `{kind.ref}` into an id; `baseline(where)` gives a value as it
    was when [given] was set up (for `<changed>`/`<unchanged>`)."""

    def __init__(self, resolve: Resolver, baseline: Baseline) -> None:
        self.resolve = resolve
        self.baseline = baseline

    def expand(self, value: Any) -> Any:
        """`{...}` references replaced by ids (markers left as they are)."""
        if isinstance(value, str):
            m = _REF_RE.match(value)
            if m:
                resolved = self.resolve(m.group(1), m.group(2))
                return value if resolved is None else resolved
            return value
        if isinstance(value, list):
            return [self.expand(v) for v in value]
        if isinstance(value, dict):
            return {k: self.expand(v) for k, v in value.items()}
        return value

    def match(self, expected: Any, actual: Any, where: str, key: str = "") -> list[Mismatch]:
        if isinstance(expected, str):
            return self._scalar(expected, actual, where, key)
        if isinstance(expected, dict):
            if not isinstance(actual, Mapping):
                note = "" if actual is MISSING else "not an object"
                return [Mismatch(where, self.expand(expected), actual, note)]
            if not expected:
                return [] if not actual else [Mismatch(where, {}, dict(actual))]
            out: list[Mismatch] = []
            for k, v in expected.items():
                out += self.match(v, actual.get(k, MISSING), f"{where}.{k}", k)
            return out
        if isinstance(expected, list):
            exp = self.expand(expected)
            if not isinstance(actual, list) or len(actual) != len(exp):
                return [Mismatch(where, exp, actual)]
            out = []
            for i, (e, a) in enumerate(zip(expected, actual, strict=True)):
                out += self.match(e, a, f"{where}[{i}]")
            return out
        if type(expected) is not type(actual) or expected != actual:
            return [Mismatch(where, expected, actual)]
        return []

    def _scalar(self, expected: str, actual: Any, where: str, key: str) -> list[Mismatch]:
        if expected == "<null>":
            return [] if actual is None else [Mismatch(where, None, actual)]
        if expected == "<absent>":
            return [] if actual is MISSING else [Mismatch(where, MISSING, actual)]
        if expected == "<any>":
            return (
                []
                if actual is not MISSING and actual is not None
                else [Mismatch(where, "<any>", actual, "a value")]
            )
        if expected in ("<changed>", "<unchanged>"):
            before = self.baseline(where)
            if before is MISSING:
                return [
                    Mismatch(
                        where,
                        expected,
                        actual,
                        "nothing to compare with: not observed after [given]",
                    )
                ]
            same = before == actual
            if (expected == "<changed>") == same:
                return [Mismatch(where, expected, actual, f"after [given] it was {_show(before)}")]
            return []
        want = self.expand(expected)
        if key == "message" and isinstance(actual, str):
            return [] if want in actual else [Mismatch(where, want, actual, "as a substring")]
        if want != actual:
            note = ""
            m = _REF_RE.match(expected)
            if m and want == expected:
                note = "the reference names nothing yet"
            elif m:
                note = f"{expected}"
            return [Mismatch(where, want, actual, note)]
        return []
