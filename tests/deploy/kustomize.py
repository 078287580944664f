"""The subset of kustomize our manifests use, to render them offline in tests.

Supported: ``resources`` (files, and directories with their own
kustomization.yaml), ``namespace``, ``configMapGenerator`` (``files``,
``literals``; a content-hash name suffix, with the references to it rewritten),
``generatorOptions.disableNameSuffixHash`` and ``images``. Anything else in a
kustomization.yaml is refused, so the manifests cannot come to rely on a
feature this renderer would silently ignore. The hash suffix is ours, not
kustomize's exact algorithm: the tests look at references, not at names.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

SUPPORTED = {
    "apiVersion",
    "kind",
    "namespace",
    "resources",
    "configMapGenerator",
    "generatorOptions",
    "images",
}
CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "PersistentVolume"}

Obj = dict[str, Any]


class UnsupportedKustomization(ValueError):
    pass


def load_documents(path: Path) -> list[Obj]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def pod_specs(obj: Obj) -> Iterator[Obj]:
    spec = obj.get("spec", {})
    if obj["kind"] in ("Deployment", "StatefulSet", "DaemonSet", "Job", "ReplicaSet"):
        yield spec["template"]["spec"]
    elif obj["kind"] == "CronJob":
        yield spec["jobTemplate"]["spec"]["template"]["spec"]
    elif obj["kind"] == "Pod":
        yield spec


def containers(pod: Obj) -> Iterator[Obj]:
    yield from pod.get("initContainers", [])
    yield from pod.get("containers", [])


def _generate(directory: Path, generator: Obj, hashed: bool) -> tuple[Obj, str]:
    data: dict[str, str] = {}
    for entry in generator.get("files", []):
        key, _, source = entry.rpartition("=")
        data[key or Path(source).name] = (directory / source).read_text()
    for literal in generator.get("literals", []):
        key, _, value = literal.partition("=")
        data[key] = value
    name = generator["name"]
    if hashed:
        digest = hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()
        name = f"{name}-{digest[:10]}"
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data}, name


def _rename_config_maps(obj: Obj, renamed: dict[str, str]) -> None:
    for pod in pod_specs(obj):
        for volume in pod.get("volumes", []):
            ref = volume.get("configMap")
            if ref and ref.get("name") in renamed:
                ref["name"] = renamed[ref["name"]]
        for container in containers(pod):
            for source in container.get("envFrom", []):
                ref = source.get("configMapRef")
                if ref and ref.get("name") in renamed:
                    ref["name"] = renamed[ref["name"]]
            for env in container.get("env", []):
                ref = env.get("valueFrom", {}).get("configMapKeyRef")
                if ref and ref.get("name") in renamed:
                    ref["name"] = renamed[ref["name"]]


def _set_images(obj: Obj, images: list[Obj]) -> None:
    for pod in pod_specs(obj):
        for container in containers(pod):
            name = container["image"].split("@")[0].split(":")[0]
            for image in images:
                if image["name"] == name:
                    new = image.get("newName", name)
                    if "digest" in image:
                        container["image"] = f"{new}@{image['digest']}"
                    else:
                        container["image"] = f"{new}:{image.get('newTag', 'latest')}"


def build(directory: Path) -> list[Obj]:
    """The objects ``kustomize build directory`` would print."""
    k: Obj = yaml.safe_load((directory / "kustomization.yaml").read_text())
    unknown = set(k) - SUPPORTED
    if unknown:
        raise UnsupportedKustomization(f"unsupported kustomization fields: {sorted(unknown)}")
    objects: list[Obj] = []
    for resource in k.get("resources", []):
        path = directory / resource
        objects += build(path) if path.is_dir() else load_documents(path)
    hashed = not k.get("generatorOptions", {}).get("disableNameSuffixHash", False)
    renamed: dict[str, str] = {}
    for generator in k.get("configMapGenerator", []):
        config_map, name = _generate(directory, generator, hashed)
        renamed[generator["name"]] = name
        objects.append(config_map)
    for obj in objects:
        _rename_config_maps(obj, renamed)
        _set_images(obj, k.get("images", []))
        if k.get("namespace") and obj["kind"] not in CLUSTER_SCOPED:
            obj["metadata"]["namespace"] = k["namespace"]
    return objects
