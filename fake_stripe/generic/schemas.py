"""What the whole API's spec says of its schemas and paths, read once: the resource each path
answers with (object string, id prefix, example object; several objects one collection holds in
several shapes share a store), what a field expands to, the status enum, and the event types.

Stripe's GA spec has no machine-readable resource metadata: the resources come from the
response schemas, the paths that name them, and their `x-expansionResources`.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..spec.coverage import segments, shape
from ..spec.rest import WholeSpec

_JSON = "application/json"


@dataclass(frozen=True)
class Resource:
    """One response schema, as the fake stores and builds it."""

    schema: str  # the component schema ("refund"; "payment_source" for a union)
    objects: frozenset[str]  # the object strings it may be ("card", "bank_account", ...)
    store: str  # the store's kind: the object string, or the union's schema name
    build: str  # the schema a new one is built from (a union's card, else the schema itself)
    has_id: bool


class Schemas:
    """The schemas and paths of one whole-API spec."""

    def __init__(self, spec: WholeSpec) -> None:
        self.spec = spec
        self.schemas: Mapping[str, Any] = spec.document.get("components", {}).get("schemas", {})
        self.paths: Mapping[str, Any] = spec.document.get("paths", {})
        # object string -> schema name (the non-deleted one)
        self.by_object: dict[str, str] = {}
        for name, schema in self.schemas.items():
            obj = _object_of(schema)
            if obj is not None and not name.startswith("deleted_"):
                self.by_object.setdefault(obj, name)
        # A path's shape (parameters unnamed) -> its template: Stripe names one parameter
        # differently across a resource's paths (`{subscription}`, `{subscription_exposed_id}`).
        self.by_shape = {shape(template): template for template in self.paths}
        # the branches of each named union (`payment_source`) -> its name
        self.unions = {
            frozenset(refs): name
            for name, schema in self.schemas.items()
            if len(refs := [_ref_name(b) or "" for b in schema.get("anyOf", ())]) > 1 and all(refs)
        }
        self.family = self._families()

    # -- resources ---------------------------------------------------------------------------

    def response_schema(self, method: str, template: str) -> str | None:
        """The schema name a 200 answers with (for a list: its items'; for a choice of
        objects: the named union of the same choice, `payment_source`)."""
        operation = self.paths.get(template, {}).get(method.lower(), {})
        content = operation.get("responses", {}).get("200", {}).get("content", {})
        if _JSON not in content:
            return None
        schema = content[_JSON].get("schema", {})
        data = schema.get("properties", {}).get("data", {})
        if "items" in data:
            schema = data["items"]
        named = _ref_name(schema)
        if named is not None:
            return named
        branches = [n for b in schema.get("anyOf", ()) if (n := _ref_name(b)) is not None]
        if not branches:
            return None
        # The smallest named union holding every branch (`payment_source` for a customer's
        # bank accounts, cards and sources).
        holding = [(len(k), v) for k, v in self.unions.items() if k >= set(branches)]
        return min(holding)[1] if holding else branches[0]

    def _families(self) -> dict[str, str]:
        """Objects one collection holds in several shapes (a customer's sources are cards and
        bank accounts; `/cards` and `/bank_accounts` list them again) share one store kind,
        named after the first union that holds them. Objects with a top-level collection of
        their own (`/v1/sources`, `/v1/accounts`) keep theirs."""
        standalone = {
            obj
            for template, item in self.paths.items()
            if len(segments(template)) == 2
            for method in item
            if (name := self.response_schema(method.upper(), template)) is not None
            and (obj := _object_of(self.schemas.get(name, {}))) is not None
        }
        family: dict[str, str] = {}
        for name in sorted(self.schemas):
            members = self._union(name) if not name.startswith("deleted_") else frozenset()
            if not members:
                continue
            store = next((family[m] for m in members if m in family), name)
            family[name] = store
            for member in members - standalone:
                family.setdefault(member, store)
        return family

    def _union(self, name: str) -> frozenset[str]:
        branches = [_ref_name(b) for b in self.schemas[name].get("anyOf", ())]
        if len(branches) < 2 or None in branches:
            return frozenset()
        return frozenset(o for n in branches if n and (o := _object_of(self.schemas[n])))

    @functools.cache  # noqa: B019 (one catalog per process)
    def resource(self, schema_name: str) -> Resource:
        schema = self.schemas[schema_name]
        members = self._union(schema_name)
        if members:
            store = self.family.get(schema_name, schema_name)
            build = "card" if "card" in members else sorted(members)[0]
            return Resource(schema_name, members, store, build, True)
        obj = _object_of(schema) or schema_name
        has_id = "id" in schema.get("properties", {})
        return Resource(
            schema_name, frozenset((obj,)), self.family.get(obj, obj), schema_name, has_id
        )

    def example(self, schema_name: str) -> dict[str, Any]:
        found = self.spec.examples.get(schema_name)
        if isinstance(found, dict):
            return found
        least = self.spec.shapes.least(self.schemas[schema_name])
        return least if isinstance(least, dict) else {}

    def prefix(self, schema_name: str) -> tuple[str, int]:
        """The id prefix and the length after it, from the example's id (`re_...` -> `re`).
        GUESS (docs/guesses.md): a resource with no example id gets its object's initials."""
        example_id = str(self.example(schema_name).get("id") or "")
        if "_" in example_id:
            prefix, _, rest = example_id.rpartition("_")
            return prefix, max(len(rest), 8)
        if example_id:
            return "", len(example_id)
        obj = _object_of(self.schemas[schema_name]) or schema_name
        initials = "".join(word[0] for word in re.split(r"[._]", obj) if word)
        return initials, 24

    # -- operations --------------------------------------------------------------------------

    def list_url(self, method: str, template: str, url: str) -> str:
        """A list's `url`: the path asked, unless the spec pins another (an old alias,
        `/v1/balance/history`, lists `/v1/balance_transactions`)."""
        operation = self.paths.get(template, {}).get(method.lower(), {})
        content = operation.get("responses", {}).get("200", {}).get("content", {})
        schema = content.get(_JSON, {}).get("schema", {})
        pattern = schema.get("properties", {}).get("url", {}).get("pattern")
        if isinstance(pattern, str) and not re.match(pattern, url):
            literal = pattern.removeprefix("^")
            if re.fullmatch(r"[\w/]+", literal):
                return literal
        return url

    def deleted_schema(self, method: str, template: str) -> str | None:
        """The `deleted_*` schema a DELETE answers with."""
        operation = self.paths.get(template, {}).get(method.lower(), {})
        content = operation.get("responses", {}).get("200", {}).get("content", {})
        schema = content.get(_JSON, {}).get("schema", {})
        for branch in [schema, *schema.get("anyOf", ())]:
            name = _ref_name(branch)
            if name is not None and name.startswith("deleted_"):
                return name
        return None

    def _is_list(self, method: str, template: str) -> str | None:
        """`list` or `search_result` when a GET of `template` answers one."""
        operation = self.paths.get(template, {}).get(method.lower())
        if method != "GET" or operation is None:
            return None
        schema = operation["responses"]["200"]["content"].get(_JSON, {}).get("schema", {})
        enum = schema.get("properties", {}).get("object", {}).get("enum", [])
        return enum[0] if enum and enum[0] in ("list", "search_result") else None

    def _answers(self, template: str, name: str) -> bool:
        """Whether a GET of `template` answers the one object `name` (a singleton's path)."""
        if "get" not in self.paths.get(template, {}) or self._is_list("GET", template):
            return False
        return self.response_schema("GET", template) == name

    def _objects_at(self, template: str, param: str) -> frozenset[str] | None:
        """The object strings `{param}` names."""
        name = self._schema_at(template, param)
        return None if name is None else self.resource(name).objects

    def _schema_at(self, template: str, param: str) -> str | None:
        """The schema of what `{param}` names, from the GET of the path that ends with it (for
        a test helper's path, the same path without `/test_helpers`)."""
        parts = segments(template)
        index = parts.index("{" + param + "}")
        prefix = "/" + "/".join(parts[: index + 1])
        for path in (prefix, prefix.replace("/v1/test_helpers/", "/v1/", 1)):
            candidate = self.by_shape.get(shape(path), "")
            if "get" in self.paths.get(candidate, {}):
                name = self.response_schema("GET", candidate)
                if name is not None:
                    return name
        # No way to read one (`/v1/tax/calculations/{calculation}`): what its collection makes.
        collection = self.by_shape.get(shape(prefix.rsplit("/", 1)[0]), "")
        if "post" in self.paths.get(collection, {}) and not self._is_list("GET", collection):
            return self.response_schema("POST", collection)
        return None

    def _expands_to(self, schema: Mapping[str, Any]) -> frozenset[str]:
        if (
            "anyOf" in schema
            and len(schema["anyOf"]) == 2
            and schema["anyOf"][1] == {"enum": [None]}
        ):
            schema = schema["anyOf"][0]
        refs = schema.get("x-expansionResources", {}).get("oneOf", [])
        found: set[str] = set()
        for ref in refs:
            name = _ref_name(ref)
            if name is not None and name in self.schemas:
                found |= self.resource(name).objects
        return frozenset(found)

    def expansion_targets(self, object_kind: str, field: str) -> frozenset[str] | None:
        """The object strings field `field` (dotted) of a `object_kind` object expands to."""
        name = self.by_object.get(object_kind)
        if name is None:
            return None
        schema: Mapping[str, Any] = self.schemas[name]
        for part in field.split("."):
            sub = self._object_schema(schema).get("properties", {}).get(part)
            if sub is None:
                return None
            schema = sub
        found = self._expands_to(schema)
        return found or None

    def _object_schema(self, schema: Mapping[str, Any]) -> Mapping[str, Any]:
        schema = self.spec.shapes.resolve(schema)
        for branch in schema.get("anyOf", ()):
            branch = self.spec.shapes.resolve(branch)
            if "properties" in branch:
                return branch
        return schema

    def _status_enum(self, resource: Resource) -> list[Any]:
        status = self.schemas[resource.build].get("properties", {}).get("status", {})
        status = self.spec.shapes.resolve(status)
        for branch in status.get("anyOf", [status]):
            if "enum" in branch and branch["enum"] != [None]:
                return list(branch["enum"])
        return []

    @functools.cached_property
    def event_types(self) -> frozenset[str]:
        """Every event type the spec names (the `enabled_events` of webhook endpoints)."""
        schema = self.spec.request_schema("POST", "/v1/webhook_endpoints") or {}
        items = schema.get("properties", {}).get("enabled_events", {}).get("items", {})
        return frozenset(v for v in items.get("enum", ()) if v != "*")


def _ref_name(schema: Mapping[str, Any]) -> str | None:
    ref = schema.get("$ref")
    return str(ref).rsplit("/", 1)[-1] if isinstance(ref, str) else None


def _object_of(schema: Mapping[str, Any]) -> str | None:
    enum = schema.get("properties", {}).get("object", {}).get("enum")
    return str(enum[0]) if isinstance(enum, list) and len(enum) == 1 else None
