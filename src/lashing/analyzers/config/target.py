"""What rules are evaluated against: a normalized object plus the way back to source lines."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

FieldLine = Callable[[str], "int | None"]


def no_lines(_field: str) -> int | None:
    return None


@dataclass
class ContainerTarget:
    """One normalized container (Kubernetes container shape, effective security settings)."""

    name: str
    role: str  # container | initContainer | ephemeralContainer
    data: dict[str, Any]
    line: int | None = None
    field_line: FieldLine = no_lines  # "securityContext.privileged" -> source line


@dataclass
class Target:
    """One object for the rules whose `applies_to` equals `kind`.

    `data` is what CEL sees as `object`; `field_line` maps a dotted field of it (relative to
    `object.spec` for pod-spec targets) back to a source line; `annotations` carry suppressions.
    """

    kind: str  # pod-spec | rbac-role | rbac-binding | apiserver | etcd | kubelet | encryption-config | ...
    path: str
    resource: str  # "Deployment/ns/name", "compose:web", "docker run (line 12)"
    data: dict[str, Any]
    line: int | None = None
    end_line: int | None = None
    field_line: FieldLine = no_lines
    containers: list[ContainerTarget] = field(default_factory=list)
    annotations: Mapping[str, Any] = field(default_factory=dict)
    source: str = "kubernetes"  # kubernetes | compose | docker-run | systemd
    # id of one of `containers` (None: the object itself) -> the `extra` map its findings share (engine._extra)
    extras: dict[int | None, dict[str, str]] = field(default_factory=dict, repr=False, compare=False)
