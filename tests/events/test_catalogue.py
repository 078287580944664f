"""The event catalogue (the OpenAPI document's webhooks section) covers every type,
with examples that are valid CloudEvents and carry nothing personal."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from otog_shared.events import CloudEvent
from otog_shared.events_catalog import CATALOGUE, example_event
from otog_shared.outbox import EVENT_TYPES, PERSONAL_KEYS, record_event

CONTRACT = Path(__file__).resolve().parents[2] / "deploy" / "openapi" / "openapi.json"


def test_the_contract_lists_every_event_type_with_an_example() -> None:
    doc = json.loads(CONTRACT.read_text())
    assert set(doc["webhooks"]) == EVENT_TYPES
    assert "CloudEvent" in doc["components"]["schemas"]
    for event_type, item in doc["webhooks"].items():
        media = item["post"]["requestBody"]["content"]["application/cloudevents+json"]
        assert media["schema"] == {"$ref": "#/components/schemas/CloudEvent"}
        example = media["example"]
        assert example == example_event(event_type)
        event = CloudEvent.model_validate(example)
        assert event.type == event_type and event.specversion == "1.0"
        assert "{" not in event.subject, event.subject
        assert not PERSONAL_KEYS & set(event.data)
        assert ("provincecode" in example) is not CATALOGUE[event_type].national


async def test_personal_data_is_refused_at_any_depth() -> None:
    class NoSession:
        async def execute(self, *_: object) -> None:
            raise AssertionError("nothing may be written")

    for data in ({"national_id": "1101700207030"}, {"members": [{"phone": "0812345678"}]}):
        with pytest.raises(ValueError, match="personal"):
            await record_event(NoSession(), "group.created", subject="/v1/groups/x", data=data)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown event type"):
        await record_event(NoSession(), "group.renamed", subject="/v1/groups/x", data={})  # type: ignore[arg-type]
