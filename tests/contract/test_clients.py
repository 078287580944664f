"""The merged document as integrators meet it: Spectral-clean, and typed clients that
generate and compile (TypeScript with tsc; Kotlin and Swift with openapi-generator)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from otog_devstack.openapi import OUTPUT

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
BUILD = ROOT / "build" / "clients"
BIN = HERE / "node_modules" / ".bin"


def run(cmd: list[str], cwd: Path = ROOT, timeout: int = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False
    )


@pytest.fixture(scope="module")
def node_tools() -> Path:
    if not (BIN / "spectral").exists() or not (BIN / "tsc").exists():
        npm = shutil.which("npm")
        assert npm, "npm is required for the contract checks"
        result = run([npm, "ci", "--no-audit", "--no-fund", "--silent"], cwd=HERE, timeout=600)
        assert result.returncode == 0, result.stderr[-3000:]
    return BIN


def test_spectral_reports_nothing(node_tools: Path) -> None:
    result = run(
        [
            str(node_tools / "spectral"),
            "lint",
            "--fail-severity",
            "hint",
            "--ruleset",
            str(HERE / ".spectral.yaml"),
            str(OUTPUT),
        ]
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No results" in result.stdout, result.stdout


def test_spectral_catches_a_broken_document(node_tools: Path, tmp_path: Path) -> None:
    """The lint can fail: a camelCase operation id and a camelCase field."""
    broken = OUTPUT.read_text(encoding="utf-8").replace('"issue_token"', '"issueToken"')
    broken = broken.replace('"access_token"', '"accessToken"')
    target = tmp_path / "broken.json"
    target.write_text(broken, encoding="utf-8")
    result = run(
        [
            str(node_tools / "spectral"),
            "lint",
            "--ruleset",
            str(HERE / ".spectral.yaml"),
            str(target),
        ]
    )
    assert result.returncode != 0
    assert "otog-operation-id-snake-case" in result.stdout
    assert "otog-snake-case-properties" in result.stdout


def test_typescript_client_compiles(node_tools: Path) -> None:
    out = BUILD / "typescript" / "otog.d.ts"
    out.parent.mkdir(parents=True, exist_ok=True)
    gen = run([str(node_tools / "openapi-typescript"), str(OUTPUT), "-o", str(out)])
    assert gen.returncode == 0, gen.stderr
    tsc = run([str(node_tools / "tsc"), "-p", str(HERE / "tsconfig.json")], cwd=HERE)
    assert tsc.returncode == 0, tsc.stdout + tsc.stderr


@pytest.mark.parametrize(
    ("generator", "options", "model_dir"),
    [
        ("kotlin", "packageName=th.go.mol.otog", "src/main/kotlin/th/go/mol/otog/models"),
        ("swift5", "projectName=OTOG", "OTOG/Classes/OpenAPIs/Models"),
    ],
)
def test_mobile_clients_generate(generator: str, options: str, model_dir: str) -> None:
    target = BUILD / generator
    shutil.rmtree(target, ignore_errors=True)
    result = run(
        [
            "openapi-generator-cli",
            "generate",
            "-i",
            str(OUTPUT),
            "-g",
            generator,
            "-o",
            str(target),
            "--additional-properties",
            options,
        ]
    )
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    assert " ERROR " not in result.stdout
    models = {p.stem for p in (target / model_dir).iterdir()}
    assert {"Problem", "TokenResponse"} <= models
    assert not [m for m in models if m.startswith("InlineObject") or m.startswith("Body")], models


def test_python_client_methods_are_the_operation_ids() -> None:
    """Operation ids become method names as they are: `create_group`, not `groupscreate_group`."""
    import json

    target = BUILD / "python"
    shutil.rmtree(target, ignore_errors=True)
    result = run(
        [
            "openapi-generator-cli",
            "generate",
            "-i",
            str(OUTPUT),
            "-g",
            "python",
            "-o",
            str(target),
            "--additional-properties",
            "packageName=otog_client",
        ]
    )
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    code = "\n".join(
        p.read_text(encoding="utf-8") for p in (target / "otog_client/api").glob("*.py")
    )
    document = json.loads(OUTPUT.read_text(encoding="utf-8"))
    ids = [
        op["operationId"]
        for item in document["paths"].values()
        for op in item.values()
        if isinstance(op, dict) and "operationId" in op
    ]
    missing = [i for i in ids if f"    def {i}(" not in code]
    assert not missing, missing
