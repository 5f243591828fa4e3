"""Compose files: each service becomes a pod-spec target with one container.

Reads the Compose spec fields that matter for least privilege (privileged, cap_add/cap_drop, user,
read_only, network_mode/pid/ipc host, bind mounts, security_opt, resources, ports, environment,
sysctls, healthcheck). `${VAR:-default}` interpolation keeps the default, else the text as written.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from lashing.analyzers.config.podspec import as_bool, as_dict, as_int, as_list, as_str
from lashing.analyzers.config.runtime import RuntimeSettings, single_container, to_pod
from lashing.analyzers.config.target import ContainerTarget, Target
from lashing.analyzers.config.yamldoc import Document

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?[-?]([^}]*))?\}")
# normalized field (prefix) -> Compose key whose line a finding points at
_FIELD_KEYS = (
    ("securityContext.privileged", "privileged"), ("securityContext.capabilities.add", "cap_add"),
    ("securityContext.capabilities.drop", "cap_drop"), ("securityContext.runAs", "user"),
    ("securityContext.readOnlyRootFilesystem", "read_only"), ("securityContext", "security_opt"),
    ("resources", "deploy"), ("resources", "mem_limit"), ("resources", "cpus"), ("ports", "ports"),
    ("image", "image"), ("env", "environment"), ("hostNetwork", "network_mode"), ("hostPID", "pid"),
    ("hostIPC", "ipc"), ("volumes", "volumes"), ("hostPaths", "volumes"), ("securityContext.sysctls", "sysctls"),
    ("hostUTS", "uts"), ("hostUserns", "userns_mode"), ("devices", "devices"),
)


def is_compose(data: Any) -> bool:
    """A Compose file has a `services` mapping and no Kubernetes `kind`."""
    return isinstance(data, dict) and isinstance(data.get("services"), dict) and "kind" not in data


def interpolate(value: Any) -> str | None:
    """`${VAR:-default}` -> default; `${VAR}` stays as written (unknown at scan time)."""
    text = as_str(value)
    if text is None:
        return None
    return _VAR.sub(lambda m: m.group(2) if m.group(2) is not None else m.group(0), text)


def _host_path(volume: Any) -> str | None:
    if isinstance(volume, dict):
        source = as_str(volume.get("source"))
        return source if volume.get("type") == "bind" and source else None
    text = interpolate(volume) or ""
    source, sep, _ = text.partition(":")
    return source if sep and source.startswith(("/", ".", "~")) else None


def _ports(raw: Any) -> list[tuple[int, int]]:
    ports = []
    for port in as_list(raw):
        if isinstance(port, dict):
            ports.append((as_int(port.get("target")) or 0, as_int(str(port.get("published", "")).split("-")[0]) or 0))
            continue
        parts = str(port).split("/")[0].split(":")
        container = as_int(parts[-1].split("-")[0]) or 0
        host = as_int(parts[-2].split("-")[0]) if len(parts) >= 2 else 0
        ports.append((container, host or 0))
    return ports


def _env(raw: Any) -> list[tuple[str, str | None]]:
    if isinstance(raw, dict):
        return [(str(k), interpolate(v)) for k, v in raw.items()]
    out = []
    for item in as_list(raw):
        name, sep, value = str(item).partition("=")
        out.append((name, interpolate(value) if sep else None))
    return out


def service_settings(name: str, service: dict[str, Any]) -> RuntimeSettings:
    """One service's runtime settings."""
    deploy = as_dict(as_dict(service.get("deploy")).get("resources"))
    limits, reservations = as_dict(deploy.get("limits")), as_dict(deploy.get("reservations"))
    sysctls = service.get("sysctls")
    pairs = [(str(k), str(v)) for k, v in sysctls.items()] if isinstance(sysctls, dict) else \
        [tuple(str(s).partition("=")[::2]) for s in as_list(sysctls)]
    return RuntimeSettings(
        name=name, image=interpolate(service.get("image")),
        privileged=as_bool(service.get("privileged")) or False,
        cap_add=[str(c) for c in as_list(service.get("cap_add"))],
        cap_drop=[str(c) for c in as_list(service.get("cap_drop"))],
        user=interpolate(service.get("user")), read_only=as_bool(service.get("read_only")) or False,
        host_network=service.get("network_mode") == "host", host_pid=service.get("pid") == "host",
        host_ipc=service.get("ipc") == "host",
        host_paths=[p for p in (_host_path(v) for v in as_list(service.get("volumes"))) if p],
        security_opt=[str(o) for o in as_list(service.get("security_opt"))],
        cpu_limit=as_str(limits.get("cpus") or service.get("cpus")),
        memory_limit=as_str(limits.get("memory") or service.get("mem_limit")),
        cpu_request=as_str(reservations.get("cpus")),
        memory_request=as_str(reservations.get("memory") or service.get("mem_reservation")),
        ports=_ports(service.get("ports")), env=_env(service.get("environment")),
        healthcheck=isinstance(service.get("healthcheck"), dict), sysctls=pairs,
        host_uts=service.get("uts") == "host", host_userns=service.get("userns_mode") == "host",
        devices=[str(d) for d in as_list(service.get("devices")) if isinstance(d, str)],
    )


def targets(path: str, doc: Document) -> Iterator[Target]:
    """A pod-spec target per service."""
    for name, service in as_dict(doc.data.get("services")).items():
        if not isinstance(service, dict):
            continue
        prefix = ("services", name)
        line = doc.lines.get(prefix)

        def field_line(field: str, prefix: tuple = prefix, line: int | None = line) -> int | None:
            for normalized, key in _FIELD_KEYS:
                if field.startswith(normalized) and (found := doc.lines.get((*prefix, key))) is not None:
                    return found
            return line

        pod = to_pod(service_settings(str(name), service), "ComposeService", "compose")
        container = single_container(pod)
        yield Target("pod-spec", path, f"compose:{name}", pod, line, None, field_line,
                     [ContainerTarget(str(name), "container", container, line, field_line)],
                     annotations=as_dict(service.get("labels")), source="compose")
