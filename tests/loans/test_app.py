"""The service's OpenAPI document is complete."""

from __future__ import annotations

from fastapi import FastAPI


def test_openapi_document(loans_app: FastAPI) -> None:
    doc = loans_app.openapi()
    operations = [
        (path, method, op)
        for path, item in doc["paths"].items()
        for method, op in item.items()
        if path.startswith("/v1/funds") or path.startswith("/v1/loans")
    ]
    assert len(operations) == 23
    assert len({op["operationId"] for _, _, op in operations}) == 23
    for path, method, op in operations:
        assert op["operationId"].isidentifier(), (path, method)
        assert op["summary"] and op.get("description"), (path, method)
        assert op["tags"], (path, method)
        assert "401" in op["responses"] and "403" in op["responses"], (path, method)
        for status, response in op["responses"].items():
            if status.startswith(("4", "5")):
                assert "application/problem+json" in response["content"], (path, status)
    for path in ("/v1/loans/{loan_id}/repayments", "/v1/funds/{fund_id}/top-ups"):
        post = doc["paths"][path]["post"]
        # The header is one shared parameter: the required variant here.
        [ref] = [p["$ref"] for p in post["parameters"] if "$ref" in p]
        header = doc["components"]["parameters"][ref.rsplit("/", 1)[1]]
        assert header["name"] == "Idempotency-Key" and header["required"] is True, path
    approve = doc["paths"]["/v1/loans/{loan_id}/approve"]["post"]
    assert "409" in approve["responses"]
    # Applying, approving and disbursing ask the registry, which may be down.
    for path in ("/v1/loans", "/v1/loans/{loan_id}/approve", "/v1/loans/{loan_id}/disburse"):
        assert "503" in doc["paths"][path]["post"]["responses"], path
