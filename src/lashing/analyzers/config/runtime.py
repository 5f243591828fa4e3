"""Docker-style container settings (Compose services, `docker run` flags) in the pod spec shape.

Both front ends collect a `RuntimeSettings`; `to_pod` turns it into a raw Kubernetes pod spec that
goes through the same normalization as a real pod. Docker applies its default seccomp and AppArmor
profiles unless told otherwise, so those count as RuntimeDefault; there is no service account token.
What Docker can share and a pod spec cannot say (the host's UTS and user namespaces, host devices) is added
to `object.spec` as `hostUTS`, `hostUserns` and `devices`, present on Docker targets only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lashing.analyzers.config.podspec import all_containers, as_int, normalize_pod_spec


@dataclass
class RuntimeSettings:
    """What a Compose service or a `docker run` line asks of the runtime."""

    name: str
    image: str | None = None
    privileged: bool = False
    cap_add: list[str] = field(default_factory=list)
    cap_drop: list[str] = field(default_factory=list)
    user: str | None = None
    read_only: bool = False
    host_network: bool = False
    host_pid: bool = False
    host_ipc: bool = False
    host_paths: list[str] = field(default_factory=list)
    security_opt: list[str] = field(default_factory=list)
    cpu_limit: str | None = None
    memory_limit: str | None = None
    cpu_request: str | None = None
    memory_request: str | None = None
    ports: list[tuple[int, int]] = field(default_factory=list)  # (container, host)
    env: list[tuple[str, str | None]] = field(default_factory=list)
    healthcheck: bool = False
    sysctls: list[tuple[str, str]] = field(default_factory=list)
    # Docker-only: no pod field says these, so they sit beside the pod spec's own (see to_pod)
    host_uts: bool = False
    host_userns: bool = False
    devices: list[str] = field(default_factory=list)


def _user(text: str | None) -> dict[str, Any]:
    if not text:
        return {}
    user, _, group = str(text).partition(":")
    out: dict[str, Any] = {}
    if user == "root":
        out["runAsUser"] = 0
    elif as_int(user) is not None:
        out["runAsUser"] = as_int(user)
    elif user:
        out["runAsNonRoot"] = True  # a named user other than root
    if group == "root":
        out["runAsGroup"] = 0
    elif as_int(group) is not None:
        out["runAsGroup"] = as_int(group)
    return out


def _security_options(options: list[str], context: dict[str, Any]) -> None:
    for option in options:
        key, _, value = option.replace("=", ":", 1).partition(":")
        key, value = key.strip().lower(), value.strip()
        if key == "seccomp":
            context["seccompProfile"] = {"type": "Unconfined"} if value == "unconfined" else \
                {"type": "Localhost", "localhostProfile": value}
        elif key == "apparmor":
            context["appArmorProfile"] = {"type": "Unconfined"} if value == "unconfined" else \
                {"type": "Localhost", "localhostProfile": value}
        elif key == "no-new-privileges":
            context["allowPrivilegeEscalation"] = value.lower() in ("false", "0")
        elif key == "label":
            part, _, label = value.partition(":")
            if part == "disable":
                context.setdefault("seLinuxOptions", {})["type"] = "spc_t"
            elif part in ("user", "role", "type", "level"):
                context.setdefault("seLinuxOptions", {})[part] = label


def to_pod(settings: RuntimeSettings, kind: str, source: str) -> dict[str, Any]:
    """The normalized `object` for one runtime container."""
    context: dict[str, Any] = {"privileged": settings.privileged, "readOnlyRootFilesystem": settings.read_only,
                               "capabilities": {"add": settings.cap_add, "drop": settings.cap_drop},
                               "seccompProfile": {"type": "RuntimeDefault"},
                               "appArmorProfile": {"type": "RuntimeDefault"}, **_user(settings.user)}
    _security_options(settings.security_opt, context)
    limits = {k: v for k, v in (("cpu", settings.cpu_limit), ("memory", settings.memory_limit)) if v}
    requests = {k: v for k, v in (("cpu", settings.cpu_request), ("memory", settings.memory_request)) if v}
    container = {
        "name": settings.name, "image": settings.image, "securityContext": context,
        "resources": {"limits": limits, "requests": requests},
        "ports": [{"containerPort": c, "hostPort": h} for c, h in settings.ports],
        "env": [{"name": n, "value": v} for n, v in settings.env],
    }
    if settings.healthcheck:
        container["livenessProbe"] = {"exec": {}}
    volumes = [{"name": f"host{i}", "hostPath": {"path": p}} for i, p in enumerate(settings.host_paths)]
    spec = {"hostNetwork": settings.host_network, "hostPID": settings.host_pid, "hostIPC": settings.host_ipc,
            "automountServiceAccountToken": False, "containers": [container], "volumes": volumes,
            "securityContext": {"sysctls": [{"name": n, "value": v} for n, v in settings.sysctls]}}
    pod = normalize_pod_spec(spec, {"name": settings.name}, kind, source)
    pod["spec"]["serviceAccountName"] = ""
    pod["spec"].update(hostUTS=settings.host_uts, hostUserns=settings.host_userns,
                       devices=[d.split(":", 1)[0] for d in settings.devices])
    return pod


def single_container(pod: dict[str, Any]) -> dict[str, Any]:
    return all_containers(pod)[0]
