"""normalize_pod_spec against podspec as it was before its fast paths (tests/podspec_reference.py): the same
normalized object (key order and types included) for every pod template of the corpus's manifests and for
specs built from odd values at every field the normalization reads."""

from __future__ import annotations

import random
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import podspec_reference as reference
from lashing.analyzers.config import podspec
from lashing.analyzers.config.kubernetes import POD_TEMPLATES, iter_objects
from lashing.analyzers.config.yamldoc import DocumentError, load_documents

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"


def _get(data: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        data = data.get(key) if isinstance(data, dict) else None
    return data


def _pod_templates() -> Iterator[tuple[str, Any, Any, str]]:
    for archive_path in sorted([*CORPUS.glob("k8s-manifests/*.zip"), *CORPUS.glob("config-peers/*.zip")]):
        with zipfile.ZipFile(archive_path) as archive:
            for info in archive.infolist():
                if not info.filename.endswith((".yaml", ".yml", ".json")) or info.file_size > 200_000:
                    continue
                try:
                    documents = list(load_documents(archive.read(info)))
                except DocumentError:
                    continue
                for document in documents:
                    for obj, _ in iter_objects(document):
                        if obj["kind"] in POD_TEMPLATES:
                            meta_path, spec_path = POD_TEMPLATES[obj["kind"]]
                            yield info.filename, _get(obj, spec_path), _get(obj, meta_path), obj["kind"]


def _same(spec: Any, metadata: Any, kind: str) -> bool:
    return repr(podspec.normalize_pod_spec(spec, metadata, kind)) == repr(
        reference.normalize_pod_spec(spec, metadata, kind))


def test_corpus_pod_templates_normalize_as_before() -> None:
    compared = 0
    for name, spec, metadata, kind in _pod_templates():
        assert _same(spec, metadata, kind), name
        compared += 1
    assert compared > 1000


ODD = [None, True, False, 0, 1, -1, 2.5, "", "0", "1", " 7 ", "-3", "true", " FALSE ", "yes", "x", "cap_net_raw",
       [], [None], ["ALL", "cap_sys_admin", 3], {}, {"x": None}, {"type": None}, {"type": "RuntimeDefault"},
       {"type": "Localhost", "localhostProfile": "p"}, {"user": "u", "level": 3}, {"cpu": 1, "memory": None},
       {"name": "n", "value": 2, "valueFrom": {"secretKeyRef": {}}}, {"secretRef": {}}, {"secretRef": "s"}]
POD_FIELDS = ["hostPID", "hostIPC", "hostNetwork", "hostUsers", "serviceAccountName", "serviceAccount",
              "automountServiceAccountToken", "securityContext", "volumes"]
CONTEXT_FIELDS = ["runAsUser", "runAsGroup", "runAsNonRoot", "fsGroup", "supplementalGroups", "sysctls",
                  "seccompProfile", "appArmorProfile", "seLinuxOptions", "privileged", "allowPrivilegeEscalation",
                  "readOnlyRootFilesystem", "procMount", "capabilities"]
CONTAINER_FIELDS = ["name", "image", "imagePullPolicy", "command", "args", "env", "envFrom", "ports", "resources",
                    "livenessProbe", "readinessProbe", "startupProbe", "volumeMounts", "securityContext"]
NESTED = {"capabilities": ["add", "drop"], "resources": ["limits", "requests"], "ports": [],
          "env": [], "envFrom": [], "volumeMounts": [], "volumes": []}
ITEMS = {"ports": ["containerPort", "hostPort", "protocol"], "env": ["name", "value", "valueFrom"],
         "envFrom": ["secretRef", "configMapRef"], "volumeMounts": ["name", "mountPath", "readOnly"],
         "volumes": ["name", "hostPath", "emptyDir"], "sysctls": ["name", "value"]}


def _value(rng: random.Random, field: str, depth: int = 0) -> Any:
    if depth < 2 and rng.random() < 0.5:
        if field in ITEMS:
            return [rng.choice([*ODD, {k: _value(rng, k, depth + 1) for k in rng.sample(ITEMS[field], 2)}])
                    for _ in range(rng.randint(0, 3))]
        if NESTED.get(field):
            return {k: _value(rng, k, depth + 1) for k in NESTED[field] if rng.random() < 0.7}
        if field in ("securityContext",):
            return {k: _value(rng, k, depth + 1) for k in rng.sample(CONTEXT_FIELDS, rng.randint(0, 8))}
        if field == "hostPath":
            return {"path": rng.choice(["/", "/var/run/", "/etc", 3, None]), "type": rng.choice(ODD)}
    return rng.choice(ODD)


def _container(rng: random.Random) -> Any:
    if rng.random() < 0.05:
        return rng.choice(ODD)
    return {k: _value(rng, k) for k in rng.sample(CONTAINER_FIELDS, rng.randint(0, len(CONTAINER_FIELDS)))}


def test_odd_specs_normalize_as_before() -> None:
    rng = random.Random(20240601)
    for _ in range(3000):
        spec: dict[str, Any] = {k: _value(rng, k) for k in rng.sample(POD_FIELDS, rng.randint(0, len(POD_FIELDS)))}
        for field in ("containers", "initContainers", "ephemeralContainers"):
            if rng.random() < 0.6:
                spec[field] = [_container(rng) for _ in range(rng.randint(0, 3))]
        names = [c.get("name") for c in spec.get("containers", []) if isinstance(c, dict)]
        annotations = {f"{prefix}{name}": rng.choice(["runtime/default", "localhost/p", "unconfined", 5, "x"])
                       for name in names if isinstance(name, str) and rng.random() < 0.5
                       for prefix in ("container.seccomp.security.alpha.kubernetes.io/",
                                      "container.apparmor.security.beta.kubernetes.io/")}
        if rng.random() < 0.3:
            annotations["seccomp.security.alpha.kubernetes.io/pod"] = rng.choice(["docker/default", "unconfined", 1])
        metadata = rng.choice([None, {}, {"name": "n", "annotations": annotations, "labels": {"a": 1}}])
        assert _same(rng.choice([spec, spec, spec, None, [], "x"]), metadata, "Pod"), (spec, metadata)
