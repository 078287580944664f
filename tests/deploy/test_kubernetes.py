"""The Kubernetes manifests, rendered offline and checked: built-in objects against
the Kubernetes schemas (strict), custom resources for the fields we rely on, and
the references between objects (and to the services' settings) for typos."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
from otog_devstack import nginx
from otog_devstack.postgres import free_port
from otog_devstack.stack import SERVICES
from otog_loan_ledger.settings import Settings as LoanSettings
from otog_registry.settings import RegistrySettings
from otog_shared.objectstore import ObjectStoreSettings
from otog_training.settings import Settings as TrainingSettings
from pydantic_settings import BaseSettings

from tests.deploy.kustomize import (
    UnsupportedKustomization,
    build,
    containers,
    load_documents,
    pod_specs,
)

ROOT = Path(__file__).resolve().parents[2]
KUBE = ROOT / "deploy" / "kubernetes"
# The oldest Kubernetes we support: the preStop `sleep` action is on by default
# since 1.30; kubernetes-validate's schemas are pinned with the lock file.
KUBERNETES_VERSION = "1.33.0"
CUSTOM_GROUPS = ("postgresql.cnpg.io/", "barmancloud.cnpg.io/")
SETTINGS: dict[str, type[BaseSettings]] = {
    "REGISTRY_": RegistrySettings,
    "TRAINING_": TrainingSettings,
    "LOANS_": LoanSettings,
    "OBJECT_STORE_": ObjectStoreSettings,
}
# Read by otog_shared.migrations, outside any settings class.
OTHER_ENV = {"OTOG_MIGRATION_DATABASE_URL"}
WORKER = "otog-webhook-worker"

Obj = dict[str, Any]


@pytest.fixture(scope="module")
def objects() -> list[Obj]:
    return build(KUBE)


@pytest.fixture(scope="module")
def secrets() -> list[Obj]:
    return load_documents(KUBE / "secrets.example.yaml")


def of_kind(objects: list[Obj], kind: str) -> list[Obj]:
    return [o for o in objects if o["kind"] == kind]


def named(objects: list[Obj], kind: str, name: str) -> Obj:
    [found] = [o for o in of_kind(objects, kind) if o["metadata"]["name"] == name]
    return found


def selects(selector: Obj, labels: dict[str, str]) -> bool:
    wanted = selector.get("matchLabels", selector)
    return bool(wanted) and all(labels.get(k) == v for k, v in wanted.items())


def test_the_renderer_refuses_what_it_does_not_implement(tmp_path: Path) -> None:
    (tmp_path / "kustomization.yaml").write_text("resources: []\npatches: []\n")
    with pytest.raises(UnsupportedKustomization, match="patches"):
        build(tmp_path)


def test_the_gateway_config_is_rendered_from_the_current_template() -> None:
    result = subprocess.run(
        ["python", str(KUBE / "gateway" / "render.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_every_built_in_object_is_valid_in_strict_mode(
    objects: list[Obj], secrets: list[Obj]
) -> None:
    checked = 0
    for obj in [*objects, *secrets]:
        if obj["apiVersion"].startswith(CUSTOM_GROUPS):
            continue
        try:
            kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(f"{obj['kind']}/{obj['metadata']['name']}: {exc.message} at {exc.path}")
        checked += 1
    assert checked >= 20


def test_a_misspelt_field_would_be_caught() -> None:
    [deployment] = [
        o for o in load_documents(KUBE / "services" / "registry.yaml") if o["kind"] == "Deployment"
    ]
    deployment["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["httpGett"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)


def test_the_cluster_replicates_synchronously_and_archives(objects: list[Obj]) -> None:
    cluster = named(objects, "Cluster", "otog-pg")
    spec = cluster["spec"]
    assert cluster["apiVersion"] == "postgresql.cnpg.io/v1"
    assert spec["instances"] == 3
    assert spec["postgresql"]["synchronous"] == {
        "method": "any",
        "number": 1,
        "dataDurability": "required",
    }
    assert spec["affinity"]["podAntiAffinityType"] == "required"
    # Backups through the Barman Cloud plugin, which also archives the WAL.
    assert "backup" not in spec
    [plugin] = spec["plugins"]
    assert plugin["name"] == "barman-cloud.cloudnative-pg.io" and plugin["isWALArchiver"]
    store = named(objects, "ObjectStore", plugin["parameters"]["barmanObjectName"])
    config = store["spec"]["configuration"]
    assert config["destinationPath"].startswith("s3://")
    assert store["spec"]["retentionPolicy"]
    assert config["wal"]["encryption"] and config["data"]["encryption"]

    [scheduled] = of_kind(objects, "ScheduledBackup")
    assert scheduled["spec"]["cluster"]["name"] == "otog-pg"
    assert scheduled["spec"]["method"] == "plugin"
    assert scheduled["spec"]["pluginConfiguration"]["name"] == plugin["name"]
    # CloudNativePG's schedule has a seconds field first.
    assert len(scheduled["spec"]["schedule"].split()) == 6


def test_each_service_has_its_database_and_role(objects: list[Obj], secrets: list[Obj]) -> None:
    roles = {r["name"]: r for r in named(objects, "Cluster", "otog-pg")["spec"]["managed"]["roles"]}
    databases = {d["spec"]["name"]: d["spec"] for d in of_kind(objects, "Database")}
    assert set(databases) == {s.database for s in SERVICES}
    for name, spec in databases.items():
        assert spec["cluster"]["name"] == "otog-pg"
        assert spec["databaseReclaimPolicy"] == "retain"
        role = roles[spec["owner"]]
        assert role["ensure"] == "present" and role["login"]
        secret = named(secrets, "Secret", role["passwordSecret"]["name"])
        assert secret["type"] == "kubernetes.io/basic-auth"
        assert secret["stringData"]["username"] == spec["owner"]
        for key in ("pooler-url", "direct-url"):
            assert secret["stringData"][key].endswith(f"/{name}")


def test_the_pooler_is_in_transaction_mode_and_the_services_fit_it(objects: list[Obj]) -> None:
    [pooler] = of_kind(objects, "Pooler")
    spec = pooler["spec"]
    assert spec["cluster"]["name"] == "otog-pg" and spec["type"] == "rw"
    assert spec["pgbouncer"]["poolMode"] == "transaction"
    assert int(spec["pgbouncer"]["parameters"]["max_prepared_statements"]) > 0

    config = named(objects, "ConfigMap", "otog-config")["data"]
    for deployment in of_kind(objects, "Deployment"):
        for pod in pod_specs(deployment):
            for container in containers(pod):
                env = _environment(container, objects)
                urls = [
                    e["valueFrom"]["secretKeyRef"]["key"]
                    for e in container.get("env", [])
                    if e["name"].endswith("_DATABASE_URL") and "valueFrom" in e
                ]
                if "pooler-url" not in urls:
                    continue
                [prefix] = {e.split("_", 1)[0] for e in env if e.endswith("_DATABASE_URL")}
                # Through PgBouncer in transaction mode: no per-connection statement cache.
                assert config.get(f"{prefix}_DB_STATEMENT_CACHE_SIZE") == "0", deployment


def _environment(container: Obj, objects: list[Obj]) -> set[str]:
    names = {e["name"] for e in container.get("env", [])}
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            names |= set(named(objects, "ConfigMap", source["configMapRef"]["name"])["data"])
    return names


def test_every_serving_deployment_is_probed_bounded_drained_and_scaled(
    objects: list[Obj],
) -> None:
    deployments = of_kind(objects, "Deployment")
    assert {d["metadata"]["name"] for d in deployments} == {
        "otog-registry",
        "otog-training",
        "otog-loan-ledger",
        "otog-gateway",
        WORKER,
    }
    for deployment in deployments:
        name = deployment["metadata"]["name"]
        pod = deployment["spec"]["template"]["spec"]
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert selects(deployment["spec"]["selector"], labels)
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["automountServiceAccountToken"] is False
        for container in containers(pod):
            limits = container["resources"]["limits"]
            requests = container["resources"]["requests"]
            assert {"cpu", "memory"} <= set(limits) and {"cpu", "memory"} <= set(requests)
            security = container["securityContext"]
            assert security["readOnlyRootFilesystem"] is True
            assert security["allowPrivilegeEscalation"] is False
            assert security["capabilities"]["drop"] == ["ALL"]

        pdbs = [
            p
            for p in of_kind(objects, "PodDisruptionBudget")
            if selects(p["spec"]["selector"], labels)
        ]
        assert len(pdbs) == 1, name
        assert pdbs[0]["spec"]["minAvailable"] < deployment["spec"]["replicas"] or name == WORKER
        if name == WORKER:
            # No HTTP to probe or route to, a steady load: see webhook-worker.yaml.
            assert deployment["spec"]["replicas"] >= 2
            continue

        [container] = pod["containers"]
        assert container["readinessProbe"] and container["livenessProbe"]
        if name != "otog-gateway":
            assert container["readinessProbe"]["httpGet"]["path"] == "/v1/health/ready"
            assert container["livenessProbe"]["httpGet"]["path"] == "/v1/health"
        # The pod leaves the endpoints before SIGTERM, and has time to finish after it.
        pause = container["lifecycle"]["preStop"]["sleep"]["seconds"]
        assert pause >= 5
        assert pod["terminationGracePeriodSeconds"] > pause + 15

        [hpa] = [
            h
            for h in of_kind(objects, "HorizontalPodAutoscaler")
            if h["spec"]["scaleTargetRef"]
            == {"apiVersion": "apps/v1", "kind": "Deployment", "name": name}
        ]
        assert hpa["apiVersion"] == "autoscaling/v2"
        assert hpa["spec"]["minReplicas"] >= 2
        [metric] = hpa["spec"]["metrics"]
        assert metric["resource"]["name"] == "cpu"

        [service] = [
            s for s in of_kind(objects, "Service") if selects(s["spec"]["selector"], labels)
        ]
        ports = {p["name"] for p in container["ports"]}
        assert all(p["targetPort"] in ports for p in service["spec"]["ports"])


def test_env_names_exist_in_the_settings(objects: list[Obj]) -> None:
    names: set[str] = set(named(objects, "ConfigMap", "otog-config")["data"])
    for obj in objects:
        for pod in pod_specs(obj):
            for container in containers(pod):
                names |= {e["name"] for e in container.get("env", [])}
    assert names
    for name in names - OTHER_ENV:
        prefix = next((p for p in SETTINGS if name.startswith(p)), None)
        assert prefix, f"{name}: no service reads it"
        field = name[len(prefix) :].lower().split("__")[0]
        assert field in SETTINGS[prefix].model_fields, f"{name}: not a setting of {prefix}"
    # And the settings parse: the values are of the right type.
    config = named(objects, "ConfigMap", "otog-config")["data"]
    for prefix, cls in SETTINGS.items():
        values = {k[len(prefix) :].lower(): v for k, v in config.items() if k.startswith(prefix)}
        cls(**values)


def test_every_referenced_secret_and_config_map_exists(
    objects: list[Obj], secrets: list[Obj]
) -> None:
    secret_keys = {s["metadata"]["name"]: set(s["stringData"]) for s in secrets}
    config_maps = {c["metadata"]["name"]: set(c["data"]) for c in of_kind(objects, "ConfigMap")}
    for obj in objects:
        for pod in pod_specs(obj):
            for volume in pod.get("volumes", []):
                if "secret" in volume:
                    # Mounted files belong to root and the pod's fsGroup: the
                    # non-root user reads them through the group bit.
                    assert volume["secret"].get("defaultMode", 0o644) & 0o040, volume
                    for item in volume["secret"].get("items", []):
                        assert item["key"] in secret_keys[volume["secret"]["secretName"]]
                if "configMap" in volume:
                    assert volume["configMap"]["name"] in config_maps
            for container in containers(pod):
                for env in container.get("env", []):
                    ref = env.get("valueFrom", {}).get("secretKeyRef")
                    if ref:
                        assert ref["key"] in secret_keys[ref["name"]], ref
    store = named(objects, "ObjectStore", "otog-backups")["spec"]["configuration"]
    for ref in store["s3Credentials"].values():
        assert ref["key"] in secret_keys[ref["name"]]


def test_the_gateway_proxies_to_the_services(objects: list[Obj]) -> None:
    conf = next(iter(named_prefix(objects, "otog-gateway")["data"].values()))
    services = {s["metadata"]["name"]: s for s in of_kind(objects, "Service")}
    upstreams = re.findall(r"server ([a-z-]+):(\d+);", conf)
    assert {u for u, _ in upstreams} == {"otog-registry", "otog-training", "otog-loan-ledger"}
    for name, port in upstreams:
        assert int(port) in {p["port"] for p in services[name]["spec"]["ports"]}
    gateway = named(objects, "Deployment", "otog-gateway")
    listen = re.search(r"listen (\d+) ", conf)
    assert listen
    ports = gateway["spec"]["template"]["spec"]["containers"][0]["ports"]
    assert int(listen.group(1)) in {p["containerPort"] for p in ports}


def named_prefix(objects: list[Obj], prefix: str) -> Obj:
    [found] = [
        o for o in of_kind(objects, "ConfigMap") if o["metadata"]["name"].startswith(prefix + "-")
    ]
    return found


@pytest.mark.skipif(nginx.find_nginx() is None, reason="nginx is not installed")
def test_nginx_accepts_the_rendered_gateway_config(tmp_path: Path) -> None:
    """nginx -t on the cluster's config, with the Service names (unresolvable
    here) and the pod's paths pointed at this machine."""
    conf = (KUBE / "gateway" / "nginx.conf").read_text()
    conf = re.sub(r"server otog-[a-z-]+:8000;", "server 127.0.0.1:8000;", conf)
    conf = conf.replace("listen 8080 ", f"listen 127.0.0.1:{free_port()} ")
    conf = conf.replace("/tmp/", f"{tmp_path}/")  # noqa: S108 (the pod's paths, rewritten)
    path = tmp_path / "nginx.conf"
    path.write_text(conf)
    binary = nginx.find_nginx()
    assert binary
    result = subprocess.run(
        [binary, "-t", "-q", "-c", str(path), "-p", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_the_image_is_described() -> None:
    dockerfile = (KUBE / "Dockerfile").read_text()
    targets = set(re.findall(r"(?m)^FROM \S+ AS (\w+)$", dockerfile))
    assert {"services", "gateway"} <= targets
