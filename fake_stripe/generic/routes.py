"""Routing to the generic operations: the routes index the server reads when it starts (every
operation's method and path template, a few kilobytes), a segment trie over the operations the
fake does not model by hand (built on the first request the hand-modelled table does not answer),
and each operation's `Endpoint`, made on its first request from the whole spec (read then).

A lookup walks the path's segments once, a literal segment before a parameter (`/v1/customers/
search` before `/v1/customers/{customer}`), so it costs the same however many operations there
are. Hand-modelled operations win: they are not in the trie, and `shadowing` tells the `/v1`
router which of its own patterns a more literal generic path takes precedence over.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from ..core.context import Ctx, Endpoint
from ..core.errors import StripeError
from ..core.params import PAGINATION, Spec, Str
from ..core.raw import RawObject
from ..core.render import Page
from ..spec.coverage import param_of, segments, shape
from ..spec.rest import read_routes

if TYPE_CHECKING:
    from .catalog import Catalog
    from .handlers import Handlers

HEADERS = {"Fake-Stripe-Model": "generic"}
_MULTIPART = "multipart/form-data"


class Listed(Protocol):
    """A row of the hand-modelled routes table (an `Endpoint`, or the app's `Op`)."""

    @property
    def method(self) -> str: ...

    @property
    def path(self) -> str: ...


@dataclass
class _Node:
    literal: dict[str, _Node] = field(default_factory=dict)
    param: _Node | None = None
    # method -> template
    operations: dict[str, str] = field(default_factory=dict)


class GenericRoutes:
    """The generic operations of one server."""

    def __init__(
        self,
        modelled: Iterable[Listed],
        fixtures_on_miss: bool = False,
        operations: list[tuple[str, str]] | None = None,
    ) -> None:
        self.modelled = {(ep.method, shape(ep.path)) for ep in modelled}
        self.fixtures_on_miss = fixtures_on_miss
        listed = operations if operations is not None else read_routes()
        self.operations = [(m, t) for m, t in listed if (m, shape(t)) not in self.modelled]
        self._trie: _Node | None = None
        self._heads: dict[tuple[int, str | None], list[tuple[list[str | None], str, str]]] | None
        self._heads = None
        self._handlers: Handlers | None = None
        self._endpoints: dict[tuple[str, str], dict[str, Endpoint]] = {}
        self._lock = threading.Lock()

    def shadowing(self, pattern: str) -> dict[str, frozenset[str]]:
        """The generic path templates more literal than the modelled `pattern` that it would
        match (`/v1/customers/search` for `/v1/customers/{customer}`), with their methods."""
        mine = _literals(pattern)
        heads = self._by_shape()
        if _head(mine)[1] is None:  # a parameter right after /v1: any collection may fit
            candidates = [op for key, ops in heads.items() if key[0] == len(mine) for op in ops]
        else:
            candidates = heads.get(_head(mine), [])
        found: dict[str, set[str]] = {}
        for theirs, method, template in candidates:
            pairs = list(zip(mine, theirs, strict=True))
            covered = all(a is None or a == b for a, b in pairs)
            literal = any(a is None and b is not None for a, b in pairs)
            if covered and literal:
                found.setdefault(template, set()).add(method)
        return {template: frozenset(methods) for template, methods in found.items()}

    def _by_shape(self) -> dict[tuple[int, str | None], list[tuple[list[str | None], str, str]]]:
        """The operations by segment count and collection (`/v1/<collection>/...`)."""
        if self._heads is None:
            heads: dict[tuple[int, str | None], list[tuple[list[str | None], str, str]]] = {}
            for method, template in self.operations:
                parts = _literals(template)
                heads.setdefault(_head(parts), []).append((parts, method, template))
            self._heads = heads
        return self._heads

    # -- lookup --------------------------------------------------------------------------------
    def _build(self) -> _Node:
        root = _Node()
        for method, template in self.operations:
            node = root
            for segment in segments(template):
                if param_of(segment) is not None:
                    node.param = node.param or _Node()
                    node = node.param
                else:
                    node = node.literal.setdefault(segment, _Node())
            node.operations[method] = template
        return root

    @property
    def indexed(self) -> bool:
        """Whether the paths' tree is built (`index`; the first `match` builds it otherwise)."""
        return self._trie is not None

    def index(self) -> _Node:
        if self._trie is None:
            with self._lock:
                if self._trie is None:
                    self._trie = self._build()
        return self._trie

    def match(self, method: str, path: str) -> tuple[str, dict[str, str]] | None:
        """The template of the generic operation `method path`, and its path parameters."""
        trie = self.index()
        parts = path.strip("/").split("/")
        if any(not part for part in parts):
            return None
        template = _walk(trie, parts, 0, method)
        if template is None:
            return None
        values = {
            name: part
            for segment, part in zip(segments(template), parts, strict=True)
            if (name := param_of(segment)) is not None
        }
        return template, values

    @property
    def loaded(self) -> bool:
        """Whether the whole spec has been read (on the first generic request)."""
        return self._handlers is not None

    # -- endpoints -----------------------------------------------------------------------------
    @property
    def handlers(self) -> Handlers | None:
        if self._handlers is None:
            # Read (and imported) on the first generic request only.
            from ..spec.rest import load_whole
            from .catalog import Catalog
            from .handlers import Handlers

            with self._lock:
                if self._handlers is None:
                    whole = load_whole()
                    if whole is None:
                        return None
                    self._handlers = Handlers(Catalog(whole), self.fixtures_on_miss)
        return self._handlers

    def endpoints(self, method: str, template: str) -> dict[str, Endpoint]:
        key = (method, template)
        found = self._endpoints.get(key)
        if found is None:
            handlers = self.handlers
            if handlers is None:
                return {}
            op = handlers.catalog.operation(method, template)
            endpoint = Endpoint(
                method,
                template,
                handlers.handler(op),
                _params(handlers.catalog, method, template),
                headers=HEADERS,
                # One object read or written (`Endpoint.light`); lists and searches walk many.
                light=op.kind not in ("list", "search", "binary"),
            )
            found = self._endpoints[key] = {method: endpoint}
        return found

    def answering_misses(self, ep: Endpoint) -> Endpoint:
        """`ep` (hand-modelled), answering an id of its path the fake never made with the
        resource's example, as `fixtures_on_miss` does for the generic operations (stripe-mock's
        way, for code such as SDK examples that names `cus_xxxxxxxxxxxxx` without creating it).
        A list filtered by such an id is empty. Nothing is stored by a miss; an unknown id in the
        body of a write is still an error."""
        if not self.fixtures_on_miss:
            return ep
        inner = ep.handler

        def handler(ctx: Ctx, p: dict[str, Any]) -> Any:
            try:
                return inner(ctx, p)
            except StripeError as err:
                handlers = self.handlers
                if err.code != "resource_missing" or handlers is None:
                    raise
                op = handlers.catalog.operation(ep.method, ep.path)
                if op.kind == "list":
                    # A list filtered by (or under) an id the fake never made: nothing matches.
                    return Page([], False, ep.path.format(**ctx.path))
                if err.param != "id" or op.resource is None:
                    raise
                obj_id = ctx.path.get(op.id_param or "", "")
                example = handlers.build.example_of(ctx, op, obj_id or None)
                return RawObject(op.resource.store, example)

        return dataclasses.replace(ep, handler=handler, light=False)

    def targets(self, kind: str, field_name: str) -> frozenset[str] | None:
        """`Expansions` for `expand[]`: what the spec says a field of `kind` expands to."""
        handlers = self.handlers
        return None if handlers is None else handlers.catalog.expansion_targets(kind, field_name)

    def validate(self, method: str, path: str, status: int, body: Any) -> list[str] | None:
        """The whole spec's check of a generic answer; None before any generic request."""
        if self._handlers is None:
            return None
        spec = self._handlers.catalog.spec
        return [str(v) for v in spec.validate_response(method, path, status, body)]


def _walk(node: _Node, parts: list[str], index: int, method: str) -> str | None:
    if index == len(parts):
        return node.operations.get(method)
    child = node.literal.get(parts[index])
    if child is not None:
        found = _walk(child, parts, index + 1, method)
        if found is not None:
            return found
    if node.param is not None:
        return _walk(node.param, parts, index + 1, method)
    return None


def _literals(template: str) -> list[str | None]:
    """The segments of `template`, None for a parameter."""
    return [None if param_of(s) is not None else s for s in segments(template)]


def _head(parts: list[str | None]) -> tuple[int, str | None]:
    return len(parts), parts[1] if len(parts) > 1 else None


def _params(catalog: Catalog, method: str, template: str) -> Spec:
    """The operation's parameters, from its request schema (a file upload's from the
    multipart body's)."""
    from ..spec.params import from_schema

    schema = catalog.spec.request_schema(method, template)
    if schema is None:
        operation = catalog.paths[template][method.lower()]
        content = operation.get("requestBody", {}).get("content", {})
        schema = dict(content.get(_MULTIPART, {}).get("schema", {"properties": {}}))
    spec = from_schema(schema)
    fields = {k: v for k, v in spec.fields.items() if k != "expand"}
    if "limit" in fields:
        # 1 to 100, as the spec's descriptions say (its schema says only `integer`).
        fields["limit"] = PAGINATION["limit"]
    chosen = fields.get("id") if method == "POST" else None
    if isinstance(chosen, Str):
        # An id of the caller's choosing (a coupon's, a product's). GUESS (docs/guesses.md):
        # the spec allows 5000 characters; a SQL store's index entry holds some 2,700 bytes,
        # which 500 characters of UTF-8 and the tenant's name fit.
        fields["id"] = dataclasses.replace(chosen, max_length=MAX_CHOSEN_ID)
    return Spec(fields, spec.required)


MAX_CHOSEN_ID = 500
