"""One container model: any pod spec normalized to the Kubernetes shape, every field present.

Rules never need `has()`: absent fields are null, absent lists are empty. Each container's
`securityContext` holds the *effective* settings: the pod-level runAsUser, runAsGroup, runAsNonRoot,
seccompProfile, appArmorProfile and seLinuxOptions are inherited when the container does not set
them, exactly as the kubelet does; privileged, allowPrivilegeEscalation, capabilities, procMount
and readOnlyRootFilesystem exist only on containers. The legacy seccomp/AppArmor annotations are
read too. The raw pod-level context stays in `object.spec.securityContext`.
"""

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
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return None


def as_int(value: Any) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    return None


def as_str(value: Any) -> str | None:
    if type(value) is str:
        return value
    if value is None or isinstance(value, (dict, list)):
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
    if not raw or not isinstance(raw, dict):
        return {"type": None, "localhostProfile": None}
    return {"type": as_str(raw.get("type")), "localhostProfile": as_str(raw.get("localhostProfile"))}


def _selinux(raw: Any) -> dict[str, str | None]:
    if not raw or not isinstance(raw, dict):
        return {"type": None, "user": None, "role": None, "level": None}
    get = raw.get
    return {"type": as_str(get("type")), "user": as_str(get("user")), "role": as_str(get("role")),
            "level": as_str(get("level"))}


def _unset(settings: dict[str, Any]) -> bool:
    """Whether a settings map (a profile, seLinuxOptions) has nothing set."""
    for item in settings.values():  # noqa: SIM110 - a loop: cheaper than all() over a generator
        if item is not None:
            return False
    return True


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
        "seLinuxOptions": _selinux(raw.get("seLinuxOptions")),
    }


def container_security_context(raw: Any, pod: dict[str, Any], name: str, annotations: dict[str, Any]) -> dict:
    """A container's effective securityContext (see the module docstring for inheritance)."""
    get = raw.get if isinstance(raw, dict) else {}.get
    seccomp = _profile(get("seccompProfile"))
    apparmor = _profile(get("appArmorProfile"))
    if annotations:
        seccomp_note = annotations.get(_CONTAINER_SECCOMP + name)
        if seccomp["type"] is None and isinstance(seccomp_note, str):
            seccomp = _annotation_profile(seccomp_note)
        apparmor_note = annotations.get(_APPARMOR + name)
        if apparmor["type"] is None and isinstance(apparmor_note, str):
            apparmor = _annotation_profile(apparmor_note)
    selinux = _selinux(get("seLinuxOptions"))
    run_as_user, run_as_group = as_int(get("runAsUser")), as_int(get("runAsGroup"))
    run_as_non_root = as_bool(get("runAsNonRoot"))
    caps = as_dict(get("capabilities"))
    return {  # INHERITED, each the pod's when the container leaves it unset; then the container-only fields
        "runAsUser": pod["runAsUser"] if run_as_user is None else run_as_user,
        "runAsGroup": pod["runAsGroup"] if run_as_group is None else run_as_group,
        "runAsNonRoot": pod["runAsNonRoot"] if run_as_non_root is None else run_as_non_root,
        "seccompProfile": pod["seccompProfile"] if _unset(seccomp) else seccomp,
        "appArmorProfile": pod["appArmorProfile"] if _unset(apparmor) else apparmor,
        "seLinuxOptions": pod["seLinuxOptions"] if _unset(selinux) else selinux,
        "privileged": as_bool(get("privileged")),
        "allowPrivilegeEscalation": as_bool(get("allowPrivilegeEscalation")),
        "readOnlyRootFilesystem": as_bool(get("readOnlyRootFilesystem")),
        "procMount": as_str(get("procMount")),
        "capabilities": {"add": [capability(c) for c in as_list(caps.get("add"))],
                         "drop": [capability(c) for c in as_list(caps.get("drop"))]},
    }


def _amounts(raw: Any) -> dict[str, str | None]:
    if not raw or not isinstance(raw, dict):
        return {"cpu": None, "memory": None}
    return {"cpu": as_str(raw.get("cpu")), "memory": as_str(raw.get("memory"))}


def _resources(raw: Any) -> dict[str, dict[str, str | None]]:
    raw = as_dict(raw)
    return {"limits": _amounts(raw.get("limits")), "requests": _amounts(raw.get("requests"))}


def _strings(raw: Any) -> list[str]:
    return [str(x) for x in raw] if isinstance(raw, list) and raw else []


def _any_secret_ref(env_from: Any) -> bool:
    """Whether an envFrom list takes a Secret."""
    if isinstance(env_from, list):
        for source in env_from:
            if isinstance(source, dict) and isinstance(source.get("secretRef"), dict):
                return True
    return False


def normalize_container(raw: Any, role: str, pod_sc: dict, annotations: dict[str, Any]) -> dict[str, Any]:
    """One container in the normalized shape."""
    raw = as_dict(raw)
    get = raw.get
    name = as_str(get("name")) or ""
    image = as_str(get("image"))
    env = []
    for item in as_list(get("env")):
        if isinstance(item, dict):
            source = item.get("valueFrom")
            from_source = isinstance(source, dict)
            env.append({"name": as_str(item.get("name")) or "", "value": as_str(item.get("value")),
                        "valueFrom": from_source,
                        "secretRef": from_source and isinstance(source.get("secretKeyRef"), dict)})
    ports = []
    for port in as_list(get("ports")):
        if isinstance(port, dict):
            ports.append({"containerPort": as_int(port.get("containerPort")) or 0,
                          "hostPort": as_int(port.get("hostPort")) or 0,
                          "protocol": as_str(port.get("protocol")) or "TCP"})
    mounts = get("volumeMounts")
    return {
        "name": name,
        "role": role,
        "image": image,
        "imageRef": split_image(image),
        "imagePullPolicy": as_str(get("imagePullPolicy")),
        "command": _strings(get("command")),
        "args": _strings(get("args")),
        "env": env,
        "envFromSecret": _any_secret_ref(get("envFrom")),
        "ports": ports,
        "resources": _resources(get("resources")),
        "livenessProbe": isinstance(get("livenessProbe"), dict),
        "readinessProbe": isinstance(get("readinessProbe"), dict),
        "startupProbe": isinstance(get("startupProbe"), dict),
        "volumeMounts": [{"name": as_str(m.get("name")) or "", "mountPath": as_str(m.get("mountPath")) or "",
                          "readOnly": as_bool(m.get("readOnly")) or False}
                         for m in mounts if isinstance(m, dict)] if isinstance(mounts, list) and mounts else [],
        "securityContext": container_security_context(get("securityContext"), pod_sc, name, annotations),
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
