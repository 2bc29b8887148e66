"""`GET /v1/<collection>/search`: Stripe's search query language over the tenant's objects.

A query is clauses joined by `AND` or by `OR` (not both): `field:value` (equality; `~` for a
substring), `field>value` (`>=`, `<`, `<=` on numbers), a leading `-` to negate; a field is a
top-level name, a dotted path (`address.city`) or `metadata['key']`; a value is quoted
(`'Jane'`, `"Jane"`; a backslash escapes the character after it, as in `'O\\'Brien'`), a
number, or `null`. Results are newest first, paged by `page`.

GUESS (docs/guesses.md): Stripe's search is eventually consistent and ranks by its own rules;
here every stored object is searched at once, newest first, and equality on text ignores case.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ..core.context import Ctx
from ..core.errors import invalid_param

_CLAUSE = re.compile(
    r"""^\s*(?P<neg>-)?(?P<field>metadata\[(?P<q>['"])(?P<key>[^'"]+)(?P=q)\]|[a-z_][a-z0-9_.]*)
        \s*(?P<op>:|~|>=|<=|>|<)\s*
        (?P<value>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|-?[0-9]+(?:\.[0-9]+)?|null)\s*$""",
    re.VERBOSE,
)
_ESCAPED = re.compile(r"\\(.)", re.DOTALL)
MAX_PAGE = 10_000
# Stripe's documented cap on the clauses of one search query.
MAX_CLAUSES = 10


@dataclass(frozen=True)
class Clause:
    negate: bool
    path: tuple[str, ...]
    op: str
    value: Any

    def matches(self, data: dict[str, Any]) -> bool:
        actual: Any = data
        for part in self.path:
            actual = actual.get(part) if isinstance(actual, dict) else None
        return self._test(actual) != self.negate

    def _test(self, actual: Any) -> bool:
        if self.op == ":":
            if isinstance(actual, bool) and isinstance(self.value, str):
                return str(actual).lower() == self.value.lower()  # `active:'true'`
            if isinstance(actual, (str, int, float)) and isinstance(self.value, (str, int, float)):
                return str(actual).lower() == str(self.value).lower()
            return bool(actual == self.value)
        if self.op == "~":
            return isinstance(actual, str) and str(self.value).lower() in actual.lower()
        if not isinstance(actual, (int, float)) or not isinstance(self.value, (int, float)):
            return False
        return {
            ">": actual > self.value,
            "<": actual < self.value,
            ">=": actual >= self.value,
            "<=": actual <= self.value,
        }[self.op]


def parse(query: str) -> tuple[list[Clause], bool]:
    """The clauses, and whether they are joined by OR (else AND)."""
    if " AND " in query and " OR " in query:
        raise _invalid(query, "AND and OR cannot be combined in one query")
    joined_by_or = " OR " in query
    texts = query.split(" OR " if joined_by_or else " AND ")
    if len(texts) > MAX_CLAUSES:
        raise _invalid(query, f"a query has at most {MAX_CLAUSES} clauses")
    clauses = []
    for text in texts:
        found = _CLAUSE.match(text)
        if found is None:
            raise _invalid(query, f"the clause {text.strip()[:60]!r} is not understood")
        raw = found.group("value")
        value: Any
        if raw == "null":
            value = None
        elif raw[0] in "'\"":
            value = _ESCAPED.sub(r"\1", raw[1:-1])
        else:
            value = float(raw) if "." in raw else int(raw)
        if found.group("key") is not None:
            path: tuple[str, ...] = ("metadata", found.group("key"))
        else:
            path = tuple(found.group("field").split("."))
        clauses.append(Clause(bool(found.group("neg")), path, found.group("op"), value))
    return clauses, joined_by_or


def _invalid(query: str, why: str) -> Exception:
    # GUESS (docs/guesses.md): Stripe's wording for a query it cannot parse.
    return invalid_param("query", f"Invalid search query: {why}. Query: {query[:200]}")


def search(ctx: Ctx, source: Any, p: dict[str, Any], url: str) -> dict[str, Any]:
    """One page of the objects of `source` (a model class or a `RawKind`) the query matches."""
    clauses, joined_by_or = parse(str(p.get("query", "")))
    limit = int(p.get("limit", 10))
    page = str(p.get("page") or "0")
    start = int(page) if page.isascii() and page.isdigit() and len(page) < 6 else -1
    if not 0 <= start <= MAX_PAGE:
        raise invalid_param("page", f"Invalid page: {page[:40]}")
    hits: list[dict[str, Any]] = []
    seen = 0
    has_more = False
    for obj in ctx.tenant.iterate(source):
        data = obj.to_api(ctx.version)
        if data.get("deleted") is True:
            continue
        results = (c.matches(data) for c in clauses)
        if not (any(results) if joined_by_or else all(results)):
            continue
        if seen >= start:
            if len(hits) == limit:
                has_more = True
                break
            hits.append(data)
        seen += 1
    return {
        "object": "search_result",
        "data": hits,
        "has_more": has_more,
        "next_page": str(start + limit) if has_more else None,
        "url": url,
    }
