"""Schemathesis over a sample of the generic operations (those the fake does not model by hand),
with the whole API's spec, on a strict app.

The sample is drawn per run from every generic operation (JSON in and out: not the file upload
nor the PDF), seeded by `FAKE_STRIPE_GENERIC_FUZZ_SEED` (a fixed default, so a failure
reproduces; set it to walk other operations). The document, the encoding and the checks are
those of tests/test_schemathesis.py (fuzz_spec, fuzz_wire, fuzz_checks), with the spec's own
parameters as the generic operations declare them. Before the run, one object is made for each
resource the sample names in a path; most generated ids are then pointed at it, so reads and
writes reach stored objects, and the rest probe unknown ids (404).

Run it alone with `pytest tests/test_schemathesis_generic.py -s` to see the case count.
"""

from __future__ import annotations

import os
import random
import zlib
from typing import Any

from schemathesis.core.parameters import ParameterLocation

from fake_stripe.app import routes_table
from fake_stripe.generic.catalog import BINARY, CREATE, Catalog, Operation
from fake_stripe.spec.coverage import is_implemented
from fake_stripe.spec.rest import WholeSpec, load_whole

from .fuzz_run import start
from .fuzz_spec import fuzzed_document
from .fuzz_wire import stripe_encode

LOADED = load_whole()
assert LOADED is not None
WHOLE: WholeSpec = LOADED
CATALOG = Catalog(WHOLE)
SEED = int(os.environ.get("FAKE_STRIPE_GENERIC_FUZZ_SEED", "20261204"))
SAMPLE_SIZE = 40
MAX_EXAMPLES = 20
MIN_CASES = 1_000


def _fuzzable(method: str, path: str) -> bool:
    if is_implemented(routes_table(), method, path):
        return False
    operation = CATALOG.operation(method, path)
    return operation.kind != BINARY and WHOLE.request_schema(method, path) is not None


GENERIC = sorted((op for op in WHOLE.operations() if _fuzzable(*op)), key=lambda op: (op[1], op[0]))
SAMPLE = sorted(random.Random(SEED).sample(GENERIC, SAMPLE_SIZE), key=lambda op: (op[1], op[0]))
VERSION = "2023-08-16"
AUTH = {"Authorization": "Bearer sk_test_generic_fuzz", "Stripe-Version": VERSION}

DOCUMENT, _ = fuzzed_document(WHOLE, SAMPLE)
schema, RUN, CLIENT = start(DOCUMENT, MAX_EXAMPLES, 4243, AUTH)
IDS: dict[str, str] = {}  # object string -> the id of one stored object of it


def _least(schema: dict[str, Any]) -> Any:
    """A value the request schema takes (for the world's creates)."""
    for branch in schema.get("anyOf", ()):
        if branch.get("enum") != [""]:
            return _least(branch)
    if "enum" in schema:
        return next(v for v in schema["enum"] if v != "")
    kind = schema.get("type")
    if kind == "object":
        props = schema.get("properties", {})
        return {k: _least(props[k]) for k in schema.get("required", ())}
    if kind == "array":
        return [_least(schema.get("items", {}))]
    return {"integer": 1, "number": 1, "boolean": True}.get(str(kind), "x_1")


def _named(operation: Operation) -> list[tuple[str, frozenset[str]]]:
    """The path parameters of `operation` and the objects each names."""
    found = [(p.param, p.objects) for p in operation.parents if p.objects]
    if operation.id_param is not None and operation.resource is not None:
        found.append((operation.id_param, operation.resource.objects))
    return found


def _build_world() -> None:
    """One stored object of each resource the sample names in a path, made by its create."""
    wanted = {obj for m, p in SAMPLE for _, objs in _named(CATALOG.operation(m, p)) for obj in objs}
    creates = [
        (m, p) for m, p in GENERIC if (op := CATALOG.operation(m, p)).kind == CREATE and op.resource
    ]
    for _ in range(2):  # a nested create needs its parent first
        for method, path in creates:
            operation = CATALOG.operation(method, path)
            assert operation.resource is not None
            objects = operation.resource.objects
            if not objects & wanted or objects & set(IDS):
                continue
            target = path
            for name, objs in [(p.param, p.objects or frozenset()) for p in operation.parents]:
                parent = next((IDS[o] for o in sorted(objs) if o in IDS), None)
                if parent is None:
                    break
                target = target.replace("{" + name + "}", parent)
            if "{" in target:
                continue
            body = WHOLE.request_schema(method, path) or {}
            data = {k: _least(body["properties"][k]) for k in body.get("required", ())}
            resp = CLIENT.post(
                target,
                content=stripe_encode(data),
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            )
            made = resp.json()
            if resp.status_code == 200 and isinstance(made.get("id"), str):
                IDS.setdefault(made["object"], made["id"])
    customer = CLIENT.post("/v1/customers").json()
    IDS.setdefault("customer", customer["id"])


def _prepare(case: Any) -> None:
    """Point path ids at stored objects in four cases out of five, where generated valid."""
    if case.meta is None or case.method != case.operation.method.upper():
        return
    if not case.path_parameters or case.meta.is_negative_at(ParameterLocation.PATH):
        return
    seed = zlib.crc32(repr((case.path_parameters, case.query, case.body)).encode())
    if seed % 5 == 0:
        return
    operation = CATALOG.operation(case.method, case.path)
    for name, objects in _named(operation):
        found = next((IDS[o] for o in sorted(objects) if o in IDS), None)
        if found is not None and name in case.path_parameters:
            case.path_parameters[name] = found


def _generic(case: Any, response: Any) -> None:
    """An operation's own method is answered generically (a probe with another method may
    reach a modelled one)."""
    if case.method == case.operation.method.upper() and response.status_code < 500:
        assert response.headers.get("fake-stripe-model") == ["generic"], response.headers


@schema.parametrize()
def test_generic_operations_answer_as_the_spec_says(case: Any) -> None:
    if not IDS:
        _build_world()
    _prepare(case)
    RUN.check(case, _generic)


def test_the_generic_run_reached_its_sample_and_the_case_budget() -> None:
    labels = (f"{method} {path}" for method, path in SAMPLE)
    title = f"schemathesis (generic, seed {SEED}, {SAMPLE_SIZE} of {len(GENERIC)} operations)"
    RUN.report(labels, title, MIN_CASES)
