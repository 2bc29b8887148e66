"""An event as `EventLog.emit` stores it: the object's JSON written in as it is, the rest as
`Event` itself would write it."""

from __future__ import annotations

import json
from typing import Any

import pytest

from fake_stripe.core.events import Event, EventLog, Recorded, type_index
from fake_stripe.core.raw import RawObject
from fake_stripe.core.store.memory import MemoryBackend
from fake_stripe.core.tenant import StagedTenant, Tenant
from fake_stripe.resources.customer_object import Customer


def _reference(row: str, obj_dump: dict[str, Any], **given: Any) -> str:
    """What storing the event through its model writes, from the same values."""
    request_id = given["request_id"]
    return Event.model_validate(
        {
            "id": json.loads(row)["id"],
            "api_version": given["version"],
            "created": json.loads(row)["created"],
            "data": {"object": obj_dump, "previous_attributes": given["previous_attributes"]},
            "pending_webhooks": given["pending"],
            "request": {"id": request_id, "idempotency_key": given["idempotency_key"]}
            if request_id is not None
            else {},
            "type": given["type"],
            "snapshot_kind": given["kind"],
        }
    ).model_dump_json()


CUSTOMER = Customer(
    id="cus_1",
    created=1,
    email="é@example.com",
    name='Jo "quoted" \\ name',
    metadata={"plan": "gold", "emoji": "✓"},
)
CASES: dict[str, tuple[Customer | RawObject, str | None, str | None, dict[str, Any] | None]] = {
    "model, a request": (CUSTOMER, "req_1", "idem key", {"email": None, "metadata": {"a": "1"}}),
    "a key JSON escapes": (CUSTOMER, "req_3", 'k "é" \\ \x01 ✓', {"name": "Jo\nRosen"}),
    "model, acting alone": (CUSTOMER, None, "ignored", None),
    "raw object": (RawObject("product", {"id": "prod_1", "n": [1, 2.5, None]}), "req_2", None, {}),
}


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("pending", [0, 2])
def test_the_stored_event_is_what_its_model_writes(case: str, pending: int) -> None:
    obj, request_id, idempotency_key, previous = CASES[case]
    backend = MemoryBackend()
    base = Tenant(backend, "t", seed=1)
    staged = StagedTenant(base)
    log = EventLog()

    def route(_tenant: StagedTenant, ev: Recorded) -> None:
        ev.pending_webhooks = pending

    log.routers.append(route)
    with backend.transaction("t", True):
        ev = log.emit(
            staged,
            "customer.updated",
            obj,
            version="2026-09-30.preview",
            request_id=request_id,
            idempotency_key=idempotency_key,
            previous_attributes=previous,
        )
        staged.commit()
    row = backend.get("t", ev.id)
    assert row is not None and row[0] == "event"
    expected = _reference(
        row[1],
        obj.model_dump(mode="json"),
        version="2026-09-30.preview",
        request_id=request_id,
        idempotency_key=idempotency_key,
        previous_attributes=previous,
        pending=pending,
        type="customer.updated",
        kind=obj.kind,
    )
    assert row[1] == expected  # byte for byte
    # And read back, the model writes it as it was stored.
    assert json.loads(Event.model_validate_json(row[1]).model_dump_json()) == json.loads(row[1])
    assert type_index("customer.updated") == {"type": "customer.updated", "type.1": "customer."}
