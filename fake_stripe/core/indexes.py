"""The store's lookups kept in step with the models' `indexed` fields.

A store remembers which fields it indexes (a metadata row outside every tenant). When the models
index a field the store did not (a newer fake-stripe opening an older file or database), every
stored object of the kinds concerned is indexed again once, when the store is opened, so a list
filtered on the new field finds objects stored before it existed.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping

from .kinds import model_for
from .store import Backend

# The metadata row, under the tenant "" that no API key names.
FIELDS = "indexed fields"


def fields_of(indexed: Mapping[str, Iterable[str]]) -> str:
    """What the store records of `indexed` (kind -> the fields its model indexes)."""
    return json.dumps({k: list(f) for k, f in indexed.items() if f}, sort_keys=True)


def bring_up_to_date(backend: Backend, indexed: Mapping[str, tuple[str, ...]]) -> int:
    """Index every stored object again if `indexed` differs from the fields the store was
    indexed for; returns how many objects were indexed. The models are imported only then,
    and only if the store holds a tenant (a new one holds none)."""
    wanted = fields_of(indexed)
    if backend.meta_get("", FIELDS) == wanted:
        return 0
    tenants = backend.tenants()
    models = [model_for(kind) for kind, fields in indexed.items() if fields] if tenants else []
    done = 0
    for tenant in tenants:
        with backend.transaction(tenant, True):
            for model in models:
                rows = list(backend.iter_desc(tenant, model.kind, None, None))
                for oid, data in rows:
                    index = model.model_validate_json(data).index_values()
                    backend.put(tenant, model.kind, oid, data, index)
                done += len(rows)
    with backend.transaction("", True):
        backend.meta_set("", FIELDS, wanted)
    return done
