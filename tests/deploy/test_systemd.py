"""The systemd units of a plain-VM install: systemd's own verifier, the
hardening every unit carries, and the environment file against the settings."""

from __future__ import annotations

import configparser
import dataclasses
import importlib.util
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from otog_devstack import nginx
from otog_loan_ledger.settings import Settings as LoanSettings
from otog_registry.settings import RegistrySettings
from otog_training.settings import Settings as TrainingSettings
from pydantic_settings import BaseSettings

ROOT = Path(__file__).resolve().parents[2]
UNITS = ROOT / "deploy" / "systemd"
INSTALL_ROOT = "/opt/otog"
SETTINGS: dict[str, type[BaseSettings]] = {
    "REGISTRY_": RegistrySettings,
    "TRAINING_": TrainingSettings,
    "LOANS_": LoanSettings,
}
# Read by `python -m otog_devstack` (layout, gateway-config), not by a service.
DEVSTACK_ENV = {"OTOG_VAR_DIR", "GATEWAY_PORT", "REGISTRY_PORT", "TRAINING_PORT", "LOANS_PORT"}
GATEWAY_TUNABLES = {
    f"GATEWAY_{f.name.upper()}"
    for f in dataclasses.fields(nginx.GatewayConfig)
    if f.name.startswith(("rate_", "burst_", "cors_"))
}
HARDENING = {
    "NoNewPrivileges": "yes",
    "ProtectSystem": "strict",
    "ProtectHome": "yes",
    "PrivateTmp": "yes",
    "PrivateDevices": "yes",
    "CapabilityBoundingSet": "",
}
# The webhook delivery worker's module lands with the events work.
PENDING_MODULES = {"otog_registry.webhooks.worker"}


def units() -> list[Path]:
    return sorted(p for p in UNITS.iterdir() if p.suffix in (".service", ".timer", ".target"))


def parse(path: Path) -> configparser.RawConfigParser:
    parser = configparser.RawConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(path.read_text().replace("\\\n", " "))
    return parser


def environment_file() -> dict[str, str]:
    found = {}
    for line in (UNITS / "otog.env.example").read_text().splitlines():
        # Commented-out settings count too: an operator will uncomment them.
        match = re.fullmatch(r"#?([A-Z][A-Z0-9_]*)=(.*)", line.strip())
        if match:
            found[match.group(1)] = match.group(2)
    return found


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze missing")
def test_systemd_accepts_every_unit(tmp_path: Path) -> None:
    """`systemd-analyze verify` on copies whose install root is this checkout (the
    executables must exist) and whose nginx is this machine's."""
    binary = nginx.find_nginx() or "/usr/sbin/nginx"
    for unit in units():
        text = unit.read_text().replace(INSTALL_ROOT, str(ROOT))
        (tmp_path / unit.name).write_text(text.replace("/usr/sbin/nginx", binary))
    result = subprocess.run(
        ["systemd-analyze", "verify", *sorted(p.name for p in tmp_path.iterdir())],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    # Unknown keys are only warnings (exit 0): any line about our units fails.
    ours = [line for line in result.stderr.splitlines() if str(tmp_path) in line or "otog" in line]
    assert result.returncode == 0 and not ours, result.stderr


def test_every_service_runs_unprivileged_and_hardened() -> None:
    services = [u for u in units() if u.suffix == ".service"]
    assert {u.stem for u in services} >= {
        "otog-registry",
        "otog-training",
        "otog-loan-ledger",
        "otog-webhook-worker",
        "otog-gateway",
        "otog-gateway-config",
        "otog-migrate",
        "otog-backup",
    }
    for unit in services:
        section = parse(unit)["Service"]
        assert section["User"] == "otog", unit.name
        for key, value in HARDENING.items():
            assert section.get(key) == value, f"{unit.name}: {key}"
        if section.get("Type") != "oneshot":
            assert section["Restart"] == "on-failure", unit.name


def test_the_units_start_what_exists() -> None:
    for unit in units():
        if unit.suffix != ".service":
            continue
        command = parse(unit)["Service"]["ExecStart"]
        if not command.startswith(INSTALL_ROOT):
            continue  # nginx: systemd-analyze checks that the executable exists
        module = re.search(r"(?:-m |uvicorn )([a-z_.]+?)(?::create_app|\s|$)", command)
        assert module, f"{unit.name}: {command}"
        name = module.group(1)
        if name in PENDING_MODULES:
            continue
        assert importlib.util.find_spec(name) is not None, f"{unit.name}: no module {name}"


def test_the_environment_file_names_real_settings() -> None:
    env = environment_file()
    assert env
    for name in env:
        if name in DEVSTACK_ENV or name in GATEWAY_TUNABLES:
            continue
        prefix = next((p for p in SETTINGS if name.startswith(p)), None)
        assert prefix, f"{name}: nothing reads it"
        assert name[len(prefix) :].lower() in SETTINGS[prefix].model_fields, name
    # Every ${VARIABLE} a unit expands is in the file.
    for unit in units():
        for variable in re.findall(r"\$\{([A-Z_]+)\}", unit.read_text()):
            assert variable in env, f"{unit.name}: ${{{variable}}}"
