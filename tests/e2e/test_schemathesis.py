"""Schemathesis against the merged document, through the real gateway: no 500s, responses
match the schema, invalid input is rejected. Bounded examples per operation keep it fast."""

from __future__ import annotations

import re
import subprocess

import pytest
from otog_devstack.openapi import OUTPUT
from otog_shared.auth import SCOPES

from tests.conftest import Stack
from tests.support.tokens import TokenFactory

pytestmark = pytest.mark.e2e

CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_headers_conformance",
        "response_schema_conformance",
        "negative_data_rejection",
    ]
)


def test_schemathesis_finds_no_failure(
    live_stack: Stack, tokens: TokenFactory, tmp_path: object
) -> None:
    token = tokens(*[s for s in SCOPES if s != "admin"], client_id="schemathesis", ttl=1800)
    result = subprocess.run(
        [
            "schemathesis",
            "run",
            str(OUTPUT),
            "--url",
            live_stack.gateway_url,
            "--header",
            f"Authorization: Bearer {token}",
            "--checks",
            CHECKS,
            "--max-examples",
            "8",
            "--seed",
            "20261121",
            "--workers",
            "2",
            "--request-timeout",
            "20",
            "--suppress-health-check",
            "all",
            "--warnings",
            "off",
            "--no-color",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-8000:]
    selected = re.search(r"Selected: (\d+)/(\d+)", output)
    tested = re.search(r"Tested: (\d+)", output)
    assert selected and tested, output[-3000:]
    assert int(tested.group(1)) == int(selected.group(2)) > 0, output[-3000:]
