"""The event catalogue: every event type, who records it, its subject and its data.

This is the documentation of each service's data shapes: the OpenAPI document's
``webhooks`` section (OpenAPI 3.1) is built from it, one entry per type with an
example, and the tests check that what the services record has the keys listed
here. Data hold ids, codes, stages, amounts and dates, never personal data.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from otog_shared.events import DATACONTENTTYPE, SOURCE_URIS, SPECVERSION, CloudEvent
from otog_shared.outbox import EVENT_TYPES, read_scope

GROUP = "8c7b6a5d-4e3f-4a1b-9c8d-7e6f5a4b3c2d"
WORKER = "1f2e3d4c-5b6a-4978-8a6b-5c4d3e2f1a0b"
PRODUCT = "2a3b4c5d-6e7f-4a8b-9c0d-1e2f3a4b5c6d"
SESSION = "6b5a4c3d-2e1f-4a0b-8c9d-0e1f2a3b4c5d"
COURSE = "4d5e6f7a-8b9c-4d0e-a1f2-3a4b5c6d7e8f"
ENROLLMENT = "7e8f9a0b-1c2d-4e3f-8a4b-5c6d7e8f9a0b"
LOAN = "5d0f3c1e-2b7a-4c1d-9e4f-7a8b9c0d1e2f"
FUND = "3e6a1f0b-4c2d-4e8f-9a1b-2c3d4e5f6a7b"
REPAYMENT = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"


@dataclass(frozen=True)
class EventSpec:
    source: str  # the service
    summary: str
    subject: str
    example: dict[str, Any]
    # Published with no province (national objects only); otherwise the object's.
    national: bool = False


def _session(status: str, **extra: Any) -> dict[str, Any]:
    return {
        "session_id": SESSION,
        "course_id": COURSE,
        "status": status,
        "mode": "onsite",
        "starts_on": "2026-02-09",
        "ends_on": "2026-02-13",
        "capacity": 30,
        "minimum": 10,
        "confirmed_count": 12 if status != "open" else 0,
        **extra,
    }


def _enrollment(**extra: Any) -> dict[str, Any]:
    return {
        "enrollment_id": ENROLLMENT,
        "session_id": SESSION,
        "course_id": COURSE,
        "worker_id": WORKER,
        **extra,
    }


def _loan(status: str, previous: str | None, **extra: Any) -> dict[str, Any]:
    return {
        "loan_id": LOAN,
        "fund_id": FUND,
        "group_id": GROUP,
        "status": status,
        "previous_status": previous,
        "principal_satang": 5_000_000,
        "term_months": 24,
        "disbursed_on": None,
        "closed_on": None,
        **extra,
    }


def _repayment(outstanding: int) -> dict[str, Any]:
    return {
        "loan_id": LOAN,
        "repayment_id": REPAYMENT,
        "fund_id": FUND,
        "group_id": GROUP,
        "amount_satang": 210_000,
        "paid_on": "2026-04-30",
        "outstanding_satang": outstanding,
    }


CATALOGUE: dict[str, EventSpec] = {
    "group.created": EventSpec(
        "registry",
        "A group was registered (stage `registered`).",
        "/v1/groups/{group_id}",
        {
            "group_id": GROUP,
            "occupation": "handicraft",
            "subdistrict_code": "150101",
            "district_code": "1501",
            "province_code": "15",
            "stage": "registered",
        },
    ),
    "group.stage_changed": EventSpec(
        "registry",
        "A group moved to another stage of the programme.",
        "/v1/groups/{group_id}",
        {
            "group_id": GROUP,
            "stage_change_id": "0c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f",
            "from_stage": "registered",
            "to_stage": "training",
            "fiscal_year": 2026,
        },
    ),
    "group.member_added": EventSpec(
        "registry",
        "A worker joined a group.",
        "/v1/groups/{group_id}/members/{worker_id}",
        {
            "group_id": GROUP,
            "worker_id": WORKER,
            "membership_id": "3c4d5e6f-7a8b-4c9d-8e0f-1a2b3c4d5e6f",
            "role": "member",
        },
    ),
    "group.member_removed": EventSpec(
        "registry",
        "A worker left a group.",
        "/v1/groups/{group_id}/members/{worker_id}",
        {
            "group_id": GROUP,
            "worker_id": WORKER,
            "membership_id": "3c4d5e6f-7a8b-4c9d-8e0f-1a2b3c4d5e6f",
            "role": "member",
        },
    ),
    "product.created": EventSpec(
        "registry",
        "A group recorded a product.",
        "/v1/products/{product_id}",
        {"product_id": PRODUCT, "group_id": GROUP},
    ),
    "product.certified": EventSpec(
        "registry",
        "A product received a certification (มผช., อย., halal, …).",
        "/v1/products/{product_id}",
        {
            "product_id": PRODUCT,
            "group_id": GROUP,
            "certification_id": "5e6f7a8b-9c0d-4e1f-8a2b-3c4d5e6f7a8b",
            "standard": "tcps",
            "number": "มผช. 1234/2569",
            "issued_on": "2026-01-15",
            "expires_on": "2029-01-14",
        },
    ),
    "certification.expiring": EventSpec(
        "registry",
        "A product's certification expires in 30 days (recorded by the scheduler).",
        "/v1/products/{product_id}/certifications",
        {
            "certification_id": "5e6f7a8b-9c0d-4e1f-8a2b-3c4d5e6f7a8b",
            "product_id": PRODUCT,
            "group_id": GROUP,
            "standard": "tcps",
            "expires_on": "2029-01-14",
            "days_left": 30,
        },
    ),
    "visit.recorded": EventSpec(
        "registry",
        "An officer recorded a field visit to a group.",
        "/v1/groups/{group_id}/visits/{visit_id}",
        {
            "visit_id": "6f7a8b9c-0d1e-4f2a-8b3c-4d5e6f7a8b9c",
            "group_id": GROUP,
            "visited_on": "2026-04-10",
            "progress_percent": 60,
            "next_visit_on": "2026-06-10",
        },
    ),
    "market_link.recorded": EventSpec(
        "registry",
        "A partner recorded a market link or sales of a group.",
        "/v1/groups/{group_id}/market-links/{market_link_id}",
        {
            "market_link_id": "7a8b9c0d-1e2f-4a3b-8c4d-5e6f7a8b9c0d",
            "group_id": GROUP,
            "product_id": PRODUCT,
            "partner": "commerce",
            "channel": "trade_fair",
            "occurred_on": "2026-03-15",
            "sales_satang": 4_520_000,
        },
    ),
    "session.created": EventSpec(
        "training",
        "A training session was scheduled and takes bookings.",
        "/v1/training-sessions/{session_id}",
        _session("open"),
    ),
    "session.confirmed": EventSpec(
        "training",
        "A session reached its minimum number of people: it will take place.",
        "/v1/training-sessions/{session_id}",
        _session("confirmed"),
    ),
    "session.cancelled": EventSpec(
        "training",
        "A session was cancelled (`reason`: `below_minimum` or `organiser`), by hand or by "
        "the scheduler at the booking cut-off; each of the `cancelled_enrollments` also gets "
        "`enrollment.cancelled`.",
        "/v1/training-sessions/{session_id}",
        _session("cancelled", confirmed_count=0, reason="below_minimum", cancelled_enrollments=12),
    ),
    "session.completed": EventSpec(
        "training",
        "A session's teaching is over.",
        "/v1/training-sessions/{session_id}",
        _session("completed"),
    ),
    "enrollment.confirmed": EventSpec(
        "training",
        "A booking got a seat.",
        "/v1/enrollments/{enrollment_id}",
        _enrollment(),
    ),
    "enrollment.waitlisted": EventSpec(
        "training",
        "A booking joined the waiting list at `waitlist_position`.",
        "/v1/enrollments/{enrollment_id}",
        _enrollment(waitlist_position=3),
    ),
    "enrollment.promoted": EventSpec(
        "training",
        "Someone on the waiting list got a seat.",
        "/v1/enrollments/{enrollment_id}",
        _enrollment(),
    ),
    "enrollment.cancelled": EventSpec(
        "training",
        "A booking ended without training (`reason`: `withdrawn`, `session_cancelled`, "
        "`waitlist_closed`; `previous_status`: `confirmed` or `waitlisted`).",
        "/v1/enrollments/{enrollment_id}",
        _enrollment(reason="withdrawn", previous_status="confirmed"),
    ),
    "enrollment.completed": EventSpec(
        "training",
        "A trainee completed the course; `certificate_number` is the certificate's.",
        "/v1/enrollments/{enrollment_id}",
        _enrollment(certificate_number="TR-15-2569-000123"),
    ),
    "loan.submitted": EventSpec(
        "loan-ledger",
        "A group applied for a loan.",
        "/v1/loans/{loan_id}",
        _loan("submitted", None),
    ),
    "loan.approved": EventSpec(
        "loan-ledger",
        "A loan was approved; its principal is reserved in the fund.",
        "/v1/loans/{loan_id}",
        _loan("approved", "submitted"),
    ),
    "loan.rejected": EventSpec(
        "loan-ledger",
        "A loan application was rejected.",
        "/v1/loans/{loan_id}",
        _loan("rejected", "submitted"),
    ),
    "loan.withdrawn": EventSpec(
        "loan-ledger",
        "The group withdrew its application.",
        "/v1/loans/{loan_id}",
        _loan("withdrawn", "approved"),
    ),
    "loan.disbursed": EventSpec(
        "loan-ledger",
        "The money went out; the repayment schedule starts.",
        "/v1/loans/{loan_id}",
        _loan("active", "approved", disbursed_on="2026-03-01"),
    ),
    "loan.repayment_posted": EventSpec(
        "loan-ledger",
        "A repayment was recorded; `outstanding_satang` is what remains.",
        "/v1/loans/{loan_id}/repayments/{repayment_id}",
        _repayment(4_790_000),
    ),
    "loan.repayment_reversed": EventSpec(
        "loan-ledger",
        "A mistaken repayment was reversed; `outstanding_satang` is what remains after.",
        "/v1/loans/{loan_id}/repayments/{repayment_id}",
        _repayment(5_000_000),
    ),
    "loan.closed": EventSpec(
        "loan-ledger",
        "A loan was repaid in full.",
        "/v1/loans/{loan_id}",
        _loan("closed", "active", disbursed_on="2026-03-01", closed_on="2028-02-28"),
    ),
    "loan.overdue": EventSpec(
        "loan-ledger",
        "A loan's days past due reached 1, 31, 61 or 91 (recorded by the scheduler).",
        "/v1/loans/{loan_id}",
        {
            "loan_id": LOAN,
            "group_id": GROUP,
            "fund_id": FUND,
            "days_past_due": 31,
            "threshold": 31,
            "arrears_satang": 420_000,
            "outstanding_satang": 4_580_000,
            "due_since": "2026-05-01",
            "as_of": "2026-06-01",
        },
    ),
    "fund.budget_low": EventSpec(
        "loan-ledger",
        "A fund's available money fell under 10% of its budget. A national fund's "
        "event has no `provincecode`.",
        "/v1/funds/{fund_id}",
        {
            "fund_id": FUND,
            "budget_satang": 1_000_000_000,
            "available_satang": 95_000_000,
            "threshold_percent": 10,
            "loan_id": LOAN,
        },
        national=True,
    ),
    "webhook.ping": EventSpec(
        "registry",
        "Sent to one subscription on request (`POST /v1/webhooks/{id}/ping`); never in the feed.",
        "/v1/webhooks/{webhook_id}",
        {"webhook_id": "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"},
        national=True,
    ),
}

assert set(CATALOGUE) == EVENT_TYPES, "every event type needs a catalogue entry"


def example_event(event_type: str) -> dict[str, Any]:
    spec = CATALOGUE[event_type]
    subject = spec.subject
    for name, value in (
        ("group_id", GROUP),
        ("worker_id", WORKER),
        ("product_id", PRODUCT),
        ("session_id", SESSION),
        ("enrollment_id", ENROLLMENT),
        ("loan_id", LOAN),
        ("fund_id", FUND),
        ("repayment_id", REPAYMENT),
    ):
        subject = subject.replace("{" + name + "}", value)
    for key in ("visit_id", "market_link_id", "webhook_id"):
        if key in spec.example:
            subject = subject.replace("{" + key + "}", str(spec.example[key]))
    event: dict[str, Any] = {
        "specversion": SPECVERSION,
        "id": "0b9c1d3e-8f1a-4c55-9a57-3f1de0b6c2aa",
        "source": SOURCE_URIS[spec.source],
        "type": event_type,
        "time": "2026-03-02T03:15:09.412Z",
        "subject": subject,
        "datacontenttype": DATACONTENTTYPE,
    }
    if not spec.national:
        event["provincecode"] = "15"
    event["data"] = spec.example
    return event


CATALOGUE_TAG = {
    "name": "event-types",
    "description": (
        "What webhooks deliver and `GET /v1/events` lists: one CloudEvent per event type, "
        "with its subject and an example."
    ),
}


def openapi_webhooks() -> tuple[dict[str, Any], dict[str, Any]]:
    """The ``webhooks`` section (one entry per type) and the schemas it refers to."""
    schema = CloudEvent.model_json_schema(ref_template="#/components/schemas/{model}")
    schema.pop("$defs", None)
    webhooks: dict[str, Any] = {}
    for event_type in sorted(CATALOGUE):
        spec = CATALOGUE[event_type]
        scope = read_scope(event_type)
        seen_by = f"Delivered to and listed for callers with `{scope}`." if scope else ""
        webhooks[event_type] = {
            "post": {
                "summary": event_type,
                "description": f"{spec.summary} Subject: `{spec.subject}`. {seen_by}".strip(),
                "operationId": "event_" + event_type.replace(".", "_"),
                # Not the feed's tag: client generators would file both under one API
                # class, and the feed's method would be lost.
                "tags": [CATALOGUE_TAG["name"]],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/cloudevents+json": {
                            "schema": {"$ref": "#/components/schemas/CloudEvent"},
                            "example": example_event(event_type),
                        }
                    },
                },
                "responses": {
                    "200": {"description": "Any 2xx: received."},
                    "410": {"description": "Gone: the subscription is disabled."},
                },
            }
        }
    return webhooks, {"CloudEvent": schema}
