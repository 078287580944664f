"""Schemathesis against the merged document, through the real gateway, with every check in
every phase: no 500s, responses and their headers match the schema, invalid input is
rejected, valid input is accepted, undeclared methods get a 405 with the path's `Allow`, and
the stateful phase follows the document's links from created objects to the operations that
take their ids. What is not checked, and why, is listed below one by one."""

from __future__ import annotations

import json
import re
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from otog_devstack.openapi import OUTPUT
from otog_devstack.stack import ROOT
from otog_shared.auth import SCOPES

from tests.conftest import Stack
from tests.support.tokens import TokenFactory

pytestmark = pytest.mark.e2e

# Per operation (the coverage phase makes its own cases; the stateful phase ends its run
# of scenarios by itself, well under this).
MAX_EXAMPLES = 30
SEED = "20261121"

# positive_data_acceptance: a schema-valid request must not be refused. These operations
# may answer 422 to one, because the rule depends on stored state or on the day, or is one
# that JSON Schema cannot state; each operation documents its 422.
VALID_MAY_BE_422: dict[str, str] = {
    "create_worker": "unknown subdistrict (reference data), national ID check digit (mod 11)",
    "search_workers": "national ID check digit (mod 11)",
    "update_worker": "unknown subdistrict; birth date after today; consent without a time",
    "import_workers": "the CSV's header and rows (reported per line)",
    "create_group": "unknown subdistrict (reference data)",
    "create_stage_change": "fiscal year later than the next one (by today's date)",
    "add_member": "unknown worker",
    "create_market_link": "a product of another group",
    "create_visit": "visit date after today",
    "create_certification": "expires_on before issued_on (one field against another)",
    "create_fund": "one term against another: close on or after open, min ≤ max ≤ budget, "
    "min at least term_months × installment_multiple_satang",
    "apply_for_loan": "unknown fund or group; amount outside the fund's range; fund closed",
    "create_training_session": "unknown course",
    "update_training_session": "one term against another: starts_on ≤ ends_on, booking closing "
    "before the first day, minimum ≤ capacity (of the values sent and those kept)",
    "create_enrollment": "unknown worker or group",
    "list_events": "an `after` cursor this API did not make; an unknown type in `types`",
    "create_webhook": "a target URL whose host does not resolve to a globally routable address",
    "update_webhook": "a target URL whose host does not resolve to a globally routable address",
    "replay_webhook": "until not after since (one field against another)",
    "put_product_photo": "bytes that are not a decodable JPEG, PNG or WebP image",
    "put_visit_photo": "bytes that are not a decodable JPEG, PNG or WebP image",
}
# The sign-in page answers 400 with an error page to a request naming no registered app
# or redirect URI: which ones are registered is stored state.
VALID_MAY_BE_400: dict[str, str] = {
    "authorize": "unknown app or unregistered redirect URI (an error page, never a redirect)",
    "authorize_submit": "unknown app or unregistered redirect URI; the form's CSRF token",
}

# Lists refuse a cursor they did not make (422): valid only as a value the API gave, like an
# id, which no schema can state. Every operation with a `cursor` parameter is added below.
CURSOR = "a `cursor` this API did not make"

# The same Idempotency-Key with another body is a 422 by the contract: a fuzzer sends one
# key with many bodies. Every operation taking the header is added below.
IDEMPOTENCY_KEY = "a key already used with another body"

# The gateway answers TRACE itself (nginx refuses it before any location) with a 405 that
# has no `Allow`; the services answer it properly (tests/shared/test_problems.py).
UNEXPECTED_METHODS = ["get", "put", "post", "delete", "options", "patch", "query"]

DEFAULT_ACCEPTED = ["2xx", "3xx", 401, 403, 404, 409, 429, "5xx"]


def operations_with_parameter(name: str) -> list[str]:
    document = json.loads(OUTPUT.read_text(encoding="utf-8"))
    shared = document["components"].get("parameters", {})

    def named(p: dict[str, Any]) -> str:
        # A shared parameter (the Idempotency-Key header) is a $ref to components.
        return str(shared[p["$ref"].rsplit("/", 1)[1]]["name"] if "$ref" in p else p["name"])

    return sorted(
        op["operationId"]
        for item in document["paths"].values()
        for op in item.values()
        if isinstance(op, dict) and any(named(p) == name for p in op.get("parameters", []))
    )


def operations_with_cursor() -> list[str]:
    return operations_with_parameter("cursor")


def operations_with_idempotency_key() -> list[str]:
    return operations_with_parameter("Idempotency-Key")


def _toml(value: Any) -> str:
    return json.dumps(value)  # TOML's strings, integers and arrays are JSON's


def config() -> str:
    tolerated: dict[str, list[Any]] = {}
    for operation_id in [
        *VALID_MAY_BE_422,
        *operations_with_cursor(),
        *operations_with_idempotency_key(),
    ]:
        tolerated[operation_id] = [*DEFAULT_ACCEPTED, 422]
    for operation_id in VALID_MAY_BE_400:
        tolerated[operation_id] = [*DEFAULT_ACCEPTED, 400]
    lines = [
        # Only the document's own links: inferred ones (over a thousand) would spread the
        # stateful phase's steps thin over guesses.
        "[phases.stateful.inference]",
        "algorithms = []",
        "[phases.coverage]",
        f"unexpected-methods = {_toml(UNEXPECTED_METHODS)}",
    ]
    for operation_id, statuses in sorted(tolerated.items()):
        lines += [
            "[[operations]]",
            f"include-operation-id = {_toml(operation_id)}",
            "[operations.checks.positive_data_acceptance]",
            f"expected-statuses = {_toml(sorted(set(statuses), key=str))}",
        ]
    return "\n".join(lines) + "\n"


def test_every_tolerance_names_a_real_operation() -> None:
    document = json.loads(OUTPUT.read_text(encoding="utf-8"))
    ids = {
        op["operationId"]
        for item in document["paths"].values()
        for op in item.values()
        if isinstance(op, dict)
    }
    assert set(VALID_MAY_BE_422) <= ids
    assert set(VALID_MAY_BE_400) <= ids
    assert len(operations_with_cursor()) > 10
    assert "record_repayment" in operations_with_idempotency_key()


@pytest.mark.parametrize("phase", ["examples", "coverage", "fuzzing", "stateful"])
@pytest.mark.slow
def test_schemathesis_finds_no_failure(
    live_stack: Stack, tokens: TokenFactory, phase: str, tmp_path: Path
) -> None:
    token = tokens(*[s for s in SCOPES if s != "admin"], client_id="schemathesis", ttl=1800)
    settings = tmp_path / "schemathesis.toml"
    settings.write_text(config(), encoding="utf-8")
    started = time.monotonic()
    result = subprocess.run(
        [
            "schemathesis",
            "--config-file",
            str(settings),
            "run",
            str(OUTPUT),
            "--url",
            live_stack.gateway_url,
            "--header",
            f"Authorization: Bearer {token}",
            "--checks",
            "all",
            "--phases",
            phase,
            "--max-examples",
            str(MAX_EXAMPLES),
            "--seed",
            SEED,
            # One worker: hypothesis' lambda introspection races under threads on 3.11.
            "--workers",
            "1",
            "--request-timeout",
            "20",
            "--suppress-health-check",
            "all",
            "--warnings",
            "off",
            "--no-color",
        ],
        # Its response cache lives in the working directory: one per run, never the repo.
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    output = result.stdout + result.stderr
    log = ROOT / "build" / f"schemathesis-{phase}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text(output + f"\n{time.monotonic() - started:.1f} s\n", encoding="utf-8")
    failures = [
        line.strip()[:200]
        for line in output.splitlines()
        if re.match(r"^_{3,} .* _{3,}$", line) or re.match(r"^\s*(- ST\d+|\[\d{3}\]|🚫)", line)
    ]
    assert result.returncode == 0, f"see {log}:\n" + "\n".join(failures)
    selected = re.search(r"Selected: (\d+)/(\d+)", output)
    tested = re.search(r"Tested: (\d+)", output)
    assert selected and tested, output[-3000:]
    assert int(tested.group(1)) > 0, output[-3000:]
    if phase == "stateful":
        links = re.search(r"API Links:\s+(\d+) covered / (\d+) selected", output)
        assert links, output[-3000:]
        # The links are the document's own (inference is off), and the run follows them.
        assert int(links.group(2)) > 50 and int(links.group(1)) > 0, links.group(0)
