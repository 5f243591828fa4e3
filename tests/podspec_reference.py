"""podspec's normalization as it was before its fast paths (main at e3bd641), frozen: tests compare the
current one's output with this one's."""

from __future__ import annotations

from typing import Any

INHERITED = ("runAsUser", "runAsGroup", "runAsNonRoot", "seccompProfile", "appArmorProfile", "seLinuxOptions")
CONTAINER_ROLES = (("containers", "container"), ("initContainers", "initContainer"),
                   ("ephemeralContainers", "ephemeralContainer"))
_SECCOMP_ANNOTATION = "seccomp.security.alpha.kubernetes.io/pod"
_CONTAINER_SECCOMP = "container.seccomp.security.alpha.kubernetes.io/"
_APPARMOR = "container.apparmor.security.beta.kubernetes.io/"


def as_bool(value: Any) -> bool | None:
    """true/false, also from the strings Compose and flags use; None when unset or unreadable."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return None


def as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    return None


def as_str(value: Any) -> str | None:
    if value is None or isinstance(value, dict | list):
        return None
    return str(value)


def as_dict(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list:
    return value if isinstance(value, list) else []


def capability(name: Any) -> str:
    """`cap_sys_admin` -> `SYS_ADMIN` (Compose and docker accept either spelling)."""
    text = str(name).strip().upper()
    return text[4:] if text.startswith("CAP_") else text


def split_image(image: str | None) -> dict[str, str | None]:
    """registry, repository, tag and digest of an image reference (docker.io when no registry)."""
    if not image:
        return {"registry": None, "repository": None, "tag": None, "digest": None}
    rest, _, digest = image.partition("@")
    first, slash, remainder = rest.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost"):
        registry, path = first, remainder
    else:
        registry, path = "docker.io", rest
    repository, colon, tag = path.rpartition(":") if ":" in path else (path, "", "")
    if not colon:
        repository, tag = path, ""
    return {"registry": registry, "repository": repository, "tag": tag or None, "digest": digest or None}


def _profile(raw: Any) -> dict[str, Any]:
    raw = as_dict(raw)
    return {"type": as_str(raw.get("type")), "localhostProfile": as_str(raw.get("localhostProfile"))}


def _annotation_profile(value: str) -> dict[str, Any]:
    """Legacy annotation values: runtime/default, docker/default, unconfined, localhost/<p>."""
    if value in ("runtime/default", "docker/default"):
        return {"type": "RuntimeDefault", "localhostProfile": None}
    if value.startswith("localhost/"):
        return {"type": "Localhost", "localhostProfile": value[len("localhost/"):]}
    return {"type": "Unconfined" if value == "unconfined" else value, "localhostProfile": None}


def pod_security_context(raw: Any, annotations: dict[str, Any]) -> dict[str, Any]:
    """The pod-level securityContext, normalized; the pod seccomp annotation counts when no field."""
    raw = as_dict(raw)
    seccomp = _profile(raw.get("seccompProfile"))
    if seccomp["type"] is None and isinstance(annotations.get(_SECCOMP_ANNOTATION), str):
        seccomp = _annotation_profile(annotations[_SECCOMP_ANNOTATION])
    selinux = as_dict(raw.get("seLinuxOptions"))
    return {
        "runAsUser": as_int(raw.get("runAsUser")),
        "runAsGroup": as_int(raw.get("runAsGroup")),
        "runAsNonRoot": as_bool(raw.get("runAsNonRoot")),
        "fsGroup": as_int(raw.get("fsGroup")),
        "supplementalGroups": [g for g in (as_int(x) for x in as_list(raw.get("supplementalGroups"))) if g is not None],
        "sysctls": [{"name": as_str(s.get("name")) or "", "value": as_str(s.get("value")) or ""}
                    for s in as_list(raw.get("sysctls")) if isinstance(s, dict)],
        "seccompProfile": seccomp,
        "appArmorProfile": _profile(raw.get("appArmorProfile")),
        "seLinuxOptions": {k: as_str(selinux.get(k)) for k in ("type", "user", "role", "level")},
    }


def container_security_context(raw: Any, pod: dict[str, Any], name: str, annotations: dict[str, Any]) -> dict:
    """A container's effective securityContext (see the module docstring for inheritance)."""
    raw = as_dict(raw)
    caps = as_dict(raw.get("capabilities"))
    selinux = as_dict(raw.get("seLinuxOptions"))
    own: dict[str, Any] = {
        "runAsUser": as_int(raw.get("runAsUser")),
        "runAsGroup": as_int(raw.get("runAsGroup")),
        "runAsNonRoot": as_bool(raw.get("runAsNonRoot")),
        "seccompProfile": _profile(raw.get("seccompProfile")),
        "appArmorProfile": _profile(raw.get("appArmorProfile")),
        "seLinuxOptions": {k: as_str(selinux.get(k)) for k in ("type", "user", "role", "level")},
    }
    seccomp_note = annotations.get(_CONTAINER_SECCOMP + name)
    if own["seccompProfile"]["type"] is None and isinstance(seccomp_note, str):
        own["seccompProfile"] = _annotation_profile(seccomp_note)
    apparmor_note = annotations.get(_APPARMOR + name)
    if own["appArmorProfile"]["type"] is None and isinstance(apparmor_note, str):
        own["appArmorProfile"] = _annotation_profile(apparmor_note)
    for key in INHERITED:
        value = own[key]
        unset = value is None or (isinstance(value, dict) and not any(v is not None for v in value.values()))
        if unset:
            own[key] = pod[key]
    own.update({
        "privileged": as_bool(raw.get("privileged")),
        "allowPrivilegeEscalation": as_bool(raw.get("allowPrivilegeEscalation")),
        "readOnlyRootFilesystem": as_bool(raw.get("readOnlyRootFilesystem")),
        "procMount": as_str(raw.get("procMount")),
        "capabilities": {"add": [capability(c) for c in as_list(caps.get("add"))],
                         "drop": [capability(c) for c in as_list(caps.get("drop"))]},
    })
    return own


def _resources(raw: Any) -> dict[str, dict[str, str | None]]:
    raw = as_dict(raw)
    return {part: {k: as_str(as_dict(raw.get(part)).get(k)) for k in ("cpu", "memory")}
            for part in ("limits", "requests")}


def normalize_container(raw: Any, role: str, pod_sc: dict, annotations: dict[str, Any]) -> dict[str, Any]:
    """One container in the normalized shape."""
    raw = as_dict(raw)
    name = as_str(raw.get("name")) or ""
    image = as_str(raw.get("image"))
    env = []
    for item in as_list(raw.get("env")):
        if isinstance(item, dict):
            source = as_dict(item.get("valueFrom"))
            env.append({"name": as_str(item.get("name")) or "", "value": as_str(item.get("value")),
                        "valueFrom": isinstance(item.get("valueFrom"), dict),
                        "secretRef": isinstance(source.get("secretKeyRef"), dict)})
    ports = []
    for port in as_list(raw.get("ports")):
        if isinstance(port, dict):
            ports.append({"containerPort": as_int(port.get("containerPort")) or 0,
                          "hostPort": as_int(port.get("hostPort")) or 0,
                          "protocol": as_str(port.get("protocol")) or "TCP"})
    return {
        "name": name,
        "role": role,
        "image": image,
        "imageRef": split_image(image),
        "imagePullPolicy": as_str(raw.get("imagePullPolicy")),
        "command": [str(x) for x in as_list(raw.get("command"))],
        "args": [str(x) for x in as_list(raw.get("args"))],
        "env": env,
        "envFromSecret": any(isinstance(as_dict(e).get("secretRef"), dict) for e in as_list(raw.get("envFrom"))),
        "ports": ports,
        "resources": _resources(raw.get("resources")),
        "livenessProbe": isinstance(raw.get("livenessProbe"), dict),
        "readinessProbe": isinstance(raw.get("readinessProbe"), dict),
        "startupProbe": isinstance(raw.get("startupProbe"), dict),
        "volumeMounts": [{"name": as_str(m.get("name")) or "", "mountPath": as_str(m.get("mountPath")) or "",
                          "readOnly": as_bool(m.get("readOnly")) or False}
                         for m in as_list(raw.get("volumeMounts")) if isinstance(m, dict)],
        "securityContext": container_security_context(raw.get("securityContext"), pod_sc, name, annotations),
    }


def _volume(raw: dict) -> dict[str, Any]:
    host = as_dict(raw.get("hostPath"))
    kinds = [k for k in raw if k != "name"]
    path = as_str(host.get("path")) if "hostPath" in raw else None
    if path and len(path) > 1:
        path = path.rstrip("/")
    return {"name": as_str(raw.get("name")) or "", "type": kinds[0] if kinds else "emptyDir",
            "hostPath": {"path": path, "type": as_str(host.get("type"))} if "hostPath" in raw else None}


def normalize_pod_spec(spec: Any, metadata: Any, kind: str, source: str = "kubernetes") -> dict[str, Any]:
    """`object` for pod-spec rules: {kind, source, metadata, spec} with the spec and containers normalized.

    `source` is kubernetes, compose or docker-run, so Kubernetes-only rules (probes, service accounts)
    can stay silent on the others.
    """
    spec, metadata = as_dict(spec), as_dict(metadata)
    annotations = {str(k): v for k, v in as_dict(metadata.get("annotations")).items()}
    pod_sc = pod_security_context(spec.get("securityContext"), annotations)
    volumes = [_volume(v) for v in as_list(spec.get("volumes")) if isinstance(v, dict)]
    normalized: dict[str, Any] = {
        "hostPID": as_bool(spec.get("hostPID")) or False,
        "hostIPC": as_bool(spec.get("hostIPC")) or False,
        "hostNetwork": as_bool(spec.get("hostNetwork")) or False,
        "hostUsers": as_bool(spec.get("hostUsers")),
        "serviceAccountName": as_str(spec.get("serviceAccountName") or spec.get("serviceAccount")) or "default",
        "automountServiceAccountToken": as_bool(spec.get("automountServiceAccountToken")),
        "securityContext": pod_sc,
        "volumes": volumes,
        "hostPaths": [v["hostPath"]["path"] for v in volumes if v["hostPath"] and v["hostPath"]["path"]],
    }
    for field, role in CONTAINER_ROLES:
        normalized[field] = [normalize_container(c, role, pod_sc, annotations)
                             for c in as_list(spec.get(field)) if isinstance(c, dict)]
    return {
        "kind": kind,
        "source": source,
        "metadata": {"name": as_str(metadata.get("name")) or "", "namespace": as_str(metadata.get("namespace")),
                     "labels": as_dict(metadata.get("labels")), "annotations": annotations},
        "spec": normalized,
    }


def all_containers(obj: dict[str, Any]) -> list[dict[str, Any]]:
    """Containers, init containers and ephemeral containers, in the order container rules see them."""
    spec = obj["spec"]
    return [*spec["containers"], *spec["initContainers"], *spec["ephemeralContainers"]]
