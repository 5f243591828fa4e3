"""Plain Kubernetes objects to the network model's inputs: namespaces, workloads and NetworkPolicies.

Input objects are untrusted: anything malformed becomes a warning (naming the object and field) and the
smallest part around it is left out, never widening what a policy allows: an invalid peer or port entry
is dropped, and a rule whose every peer (or port) was invalid matches nothing rather than everything.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from lashing.analyzers.cluster.netpol.ipspace import IPSet
from lashing.analyzers.cluster.netpol.selectors import Selector, labels_of, parse_selector
from lashing.analyzers.config.kubernetes import POD_TEMPLATES
from lashing.model import Location

NS_NAME_LABEL = "kubernetes.io/metadata.name"
PROTOCOLS = ("TCP", "UDP", "SCTP")
WORKLOAD_KINDS = tuple(k for k in POD_TEMPLATES if k != "PodTemplate")
_PORT_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]{0,13}[a-z0-9])?$")


@dataclass(frozen=True)
class Manifest:
    """One object with where it came from; `lines` maps key paths inside the object to lines."""

    data: Mapping[str, Any]
    path: str = ""
    line: int | None = None
    lines: Mapping[tuple[Any, ...], int] = field(default_factory=dict, compare=False, hash=False)

    def location(self, *key: Any) -> Location | None:
        """The object's location, narrowed to the line of `key` (its deepest recorded prefix)."""
        if not self.path:
            return None
        for cut in range(len(key), 0, -1):
            line = self.lines.get(tuple(key[:cut]))
            if line is not None:
                return Location(self.path, line=line, end_line=line)
        return Location(self.path, line=self.line, end_line=self.line) if self.line else Location(self.path)


def as_manifest(item: Any) -> Manifest | None:
    """Accept a dict, a `(dict, Location)` pair, a Manifest, or any object with `.data` and `.location`."""
    if isinstance(item, Manifest):
        return item
    if isinstance(item, Mapping):
        return Manifest(item)
    if isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], Mapping):
        loc = item[1]
        return Manifest(item[0], getattr(loc, "path", "") or "", getattr(loc, "line", None))
    data = getattr(item, "data", None)
    if isinstance(data, Mapping):
        loc = getattr(item, "location", None)
        lines = getattr(item, "lines", None)
        return Manifest(data, getattr(loc, "path", "") or "", getattr(loc, "line", None),
                        lines if isinstance(lines, Mapping) else {})
    return None


@dataclass(frozen=True)
class Namespace:
    name: str
    labels: Mapping[str, str] = field(default_factory=dict, hash=False)
    location: Location | None = None
    declared: bool = True


@dataclass(frozen=True)
class ContainerPort:
    port: int
    protocol: str = "TCP"
    name: str = ""


@dataclass(frozen=True)
class Workload:
    """Pods of one owner (or one bare Pod, or a workload's pod template): the unit of the matrix."""

    namespace: str
    name: str
    kind: str
    labels: Mapping[str, str] = field(default_factory=dict, hash=False, compare=False)
    ports: tuple[ContainerPort, ...] = ()
    location: Location | None = field(default=None, compare=False)

    @property
    def key(self) -> str:
        """netpol-analyzer's name: `ns/name[Kind]`."""
        return f"{self.namespace}/{self.name}[{self.kind}]"

    def __str__(self) -> str:
        return self.key


@dataclass(frozen=True)
class PortRule:
    """One `ports` entry: a number (optionally to `end`), a name, or every port (`port` and `name` unset)."""

    protocol: str = "TCP"
    port: int | None = None
    end: int | None = None
    name: str = ""


@dataclass(frozen=True)
class Peer:
    """One `from`/`to` entry: pods (selector or None = every pod) in namespaces, or an ipBlock."""

    pods: Selector | None = None
    namespaces: Selector | None = None  # None: the policy's own namespace
    ipblock: IPSet | None = None
    text: str = ""


@dataclass(frozen=True)
class Rule:
    """One ingress or egress rule; `peers`/`ports` None means every peer / every port."""

    index: int
    peers: tuple[Peer, ...] | None = None
    ports: tuple[PortRule, ...] | None = None
    location: Location | None = None


@dataclass(frozen=True)
class Policy:
    namespace: str
    name: str
    selector: Selector | None  # None: a malformed podSelector, selects nothing
    ingress: tuple[Rule, ...] = ()
    egress: tuple[Rule, ...] = ()
    isolates_ingress: bool = True
    isolates_egress: bool = False
    location: Location | None = None

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    def selects(self, workload: Workload) -> bool:
        return self.selector is not None and workload.namespace == self.namespace \
            and self.selector.matches(workload.labels)


@dataclass
class Inventory:
    namespaces: dict[str, Namespace] = field(default_factory=dict)
    workloads: list[Workload] = field(default_factory=list)
    policies: list[Policy] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _dig(data: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        data = data.get(key) if isinstance(data, Mapping) else None
    return data


def _container_ports(spec: Any, where: str, warnings: list[str]) -> tuple[ContainerPort, ...]:
    out = []
    containers = spec.get("containers") if isinstance(spec, Mapping) else None
    for container in containers if isinstance(containers, list) else []:
        raw_ports = container.get("ports") if isinstance(container, Mapping) else None
        for entry in raw_ports if isinstance(raw_ports, list) else []:
            if not isinstance(entry, Mapping):
                continue
            number, proto = entry.get("containerPort"), str(entry.get("protocol") or "TCP").upper()
            if isinstance(number, str) and number.isdigit():
                number = int(number)
            if not isinstance(number, int) or isinstance(number, bool) or not 1 <= number <= 65535:
                warnings.append(f"{where}: containerPort {number!r} is not a port number; left out")
                continue
            name = entry.get("name")
            out.append(ContainerPort(number, proto, name if isinstance(name, str) else ""))
    return tuple(out)


def _owner(meta: Mapping[str, Any]) -> tuple[str, str] | None:
    refs = meta.get("ownerReferences")
    refs = [r for r in refs if isinstance(r, Mapping) and isinstance(r.get("name"), str)] \
        if isinstance(refs, list) else []
    if not refs:
        return None
    ref = next((r for r in refs if r.get("controller") is True), refs[0])
    kind = ref.get("kind")
    if kind == "Node":  # a static (mirror) pod stands for itself
        return None
    return (kind if isinstance(kind, str) and kind else "Pod"), ref["name"]


def _ns_of(meta: Mapping[str, Any]) -> str:
    ns = meta.get("namespace")
    return ns if isinstance(ns, str) and ns else "default"


def _port_rule(raw: Any, where: str, warnings: list[str]) -> PortRule | None:
    if not isinstance(raw, Mapping):
        warnings.append(f"{where}: not a mapping; left out")
        return None
    proto = raw.get("protocol") or "TCP"
    if not isinstance(proto, str) or proto.upper() not in PROTOCOLS:
        warnings.append(f"{where}: protocol {proto!r} is not TCP, UDP or SCTP; left out")
        return None
    proto = proto.upper()
    port, end = raw.get("port"), raw.get("endPort")
    if isinstance(port, str) and port.isdigit():
        port = int(port)
    if port is None:
        if end is not None:
            warnings.append(f"{where}: endPort without port; left out")
            return None
        return PortRule(proto)
    if isinstance(port, str):
        if end is not None or not _PORT_NAME.match(port) or not re.search("[a-z]", port):
            warnings.append(f"{where}: named port {port!r} is not a valid port name (or has an endPort); left out")
            return None
        return PortRule(proto, name=port)
    if not isinstance(port, int) or isinstance(port, bool) or not 1 <= port <= 65535:
        warnings.append(f"{where}: port {port!r} is not a port number; left out")
        return None
    if end is not None and (not isinstance(end, int) or isinstance(end, bool) or not port <= end <= 65535):
        warnings.append(f"{where}: endPort {end!r} is not a port number at least port {port}; left out")
        return None
    return PortRule(proto, port, end)


def _peer(raw: Any, where: str, warnings: list[str]) -> Peer | None:
    if not isinstance(raw, Mapping):
        warnings.append(f"{where}: not a mapping; left out")
        return None
    if raw.get("ipBlock") is not None:
        block = raw["ipBlock"]
        if raw.get("podSelector") is not None or raw.get("namespaceSelector") is not None:
            warnings.append(f"{where}: ipBlock with a selector in the same peer; left out")
            return None
        cidr = block.get("cidr") if isinstance(block, Mapping) else None
        excepts = block.get("except") or [] if isinstance(block, Mapping) else []
        try:
            if not isinstance(cidr, str) or not isinstance(excepts, list):
                raise ValueError
            ips = IPSet.block(cidr, [str(e) for e in excepts])
        except ValueError:
            warnings.append(f"{where}: ipBlock {cidr!r} (except {excepts!r}) is not a valid CIDR; left out")
            return None
        text = cidr + (f" except {','.join(map(str, excepts))}" if excepts else "")
        return Peer(ipblock=ips, text=text)
    if raw.get("podSelector") is None and raw.get("namespaceSelector") is None:
        warnings.append(f"{where}: peer has no podSelector, namespaceSelector or ipBlock; left out")
        return None
    pods = namespaces = None
    parts = []
    if raw.get("podSelector") is not None:
        pods = parse_selector(raw["podSelector"], f"{where}.podSelector", warnings)
        if pods is None:
            return None
        parts.append(f"pods {pods}")
    if raw.get("namespaceSelector") is not None:
        namespaces = parse_selector(raw["namespaceSelector"], f"{where}.namespaceSelector", warnings)
        if namespaces is None:
            return None
        parts.append(f"namespaces {namespaces}")
    return Peer(pods, namespaces, text=" in ".join(parts))


def _rules(m: Manifest, spec: Mapping[str, Any], direction: str, where: str,
           warnings: list[str]) -> tuple[Rule, ...]:
    raw_rules = spec.get(direction)
    if raw_rules is None:
        return ()
    if not isinstance(raw_rules, list):
        warnings.append(f"{where}.{direction}: not a list; no {direction} is allowed by this policy")
        return ()
    peer_key = "from" if direction == "ingress" else "to"
    out = []
    for index, raw in enumerate(raw_rules):
        rule_where = f"{where}.{direction}[{index}]"
        loc = m.location("spec", direction, index)
        if raw is None:
            raw = {}
        if not isinstance(raw, Mapping):
            warnings.append(f"{rule_where}: not a mapping; left out")
            continue
        peers: tuple[Peer, ...] | None = None
        raw_peers = raw.get(peer_key)
        if isinstance(raw_peers, list) and raw_peers:
            peers = tuple(p for i, r in enumerate(raw_peers)
                          if (p := _peer(r, f"{rule_where}.{peer_key}[{i}]", warnings)) is not None)
        elif raw_peers not in (None, []):
            warnings.append(f"{rule_where}.{peer_key}: not a list; the rule matches nothing")
            peers = ()
        ports: tuple[PortRule, ...] | None = None
        raw_ports = raw.get("ports")
        if isinstance(raw_ports, list) and raw_ports:
            ports = tuple(p for i, r in enumerate(raw_ports)
                          if (p := _port_rule(r, f"{rule_where}.ports[{i}]", warnings)) is not None)
        elif raw_ports not in (None, []):
            warnings.append(f"{rule_where}.ports: not a list; the rule matches nothing")
            ports = ()
        out.append(Rule(index, peers, ports, loc))
    return tuple(out)


def _policy(m: Manifest, warnings: list[str]) -> Policy | None:
    meta = m.data.get("metadata") if isinstance(m.data.get("metadata"), Mapping) else {}
    name = meta.get("name") if isinstance(meta.get("name"), str) else "?"
    ns = _ns_of(meta)
    where = f"NetworkPolicy {ns}/{name}" + (f" ({m.path})" if m.path else "")
    spec = m.data.get("spec")
    if not isinstance(spec, Mapping):
        warnings.append(f"{where}: spec is missing or not a mapping; policy left out")
        return None
    selector = parse_selector(spec.get("podSelector"), f"{where}.spec.podSelector", warnings)
    types = spec.get("policyTypes")
    if types is None or types == []:
        isolates_ingress = True
        egress = spec.get("egress")
        isolates_egress = isinstance(egress, list) and len(egress) > 0
    elif isinstance(types, list) and all(t in ("Ingress", "Egress") for t in types):
        isolates_ingress, isolates_egress = "Ingress" in types, "Egress" in types
    else:
        warnings.append(f"{where}.spec.policyTypes: {types!r} is not a list of Ingress/Egress; "
                        "treated as both (isolating, nothing allowed beyond valid rules)")
        isolates_ingress = isolates_egress = True
    ingress = _rules(m, spec, "ingress", where, warnings) if isolates_ingress else ()
    egress = _rules(m, spec, "egress", where, warnings) if isolates_egress else ()
    return Policy(ns, name, selector, ingress, egress, isolates_ingress, isolates_egress, m.location())


def _namespace(m: Manifest) -> Namespace | None:
    meta = m.data.get("metadata")
    if not isinstance(meta, Mapping) or not isinstance(meta.get("name"), str) or not meta["name"]:
        return None
    labels = labels_of(meta)
    labels.setdefault(NS_NAME_LABEL, meta["name"])
    return Namespace(meta["name"], labels, m.location())


def _workload(m: Manifest, kind: str, warnings: list[str]) -> tuple[Workload, bool] | None:
    """A workload and whether it stands for an owner of pods (several pods may share it)."""
    meta = m.data.get("metadata")
    if not isinstance(meta, Mapping) or not isinstance(meta.get("name"), str) or not meta["name"]:
        warnings.append(f"{kind} without metadata.name" + (f" in {m.path}" if m.path else "") + "; left out")
        return None
    meta_path, spec_path = POD_TEMPLATES[kind]
    template_meta = _dig(m.data, meta_path)
    spec = _dig(m.data, spec_path)
    name, owned = meta["name"], False
    if kind == "Pod":
        owner = _owner(meta)
        if owner is not None:
            kind, name = owner
            owned = True
    where = f"{kind} {_ns_of(meta)}/{name}"
    return Workload(_ns_of(meta), name, kind, labels_of(template_meta), _container_ports(spec, where, warnings),
                    m.location()), owned


def parse_objects(objects: Iterable[Any]) -> Inventory:
    """Namespaces (declared or implied by their objects), workloads and policies, with warnings."""
    inv = Inventory()
    seen: dict[str, Workload] = {}
    for item in objects:
        m = as_manifest(item)
        if m is None:
            inv.warnings.append(f"not a Kubernetes object: {type(item).__name__}; left out")
            continue
        kind = m.data.get("kind")
        if kind == "Namespace":
            ns = _namespace(m)
            if ns is not None:
                inv.namespaces[ns.name] = ns
        elif kind == "NetworkPolicy":
            policy = _policy(m, inv.warnings)
            if policy is not None:
                inv.policies.append(policy)
        elif kind in WORKLOAD_KINDS:
            got = _workload(m, str(kind), inv.warnings)
            if got is None:
                continue
            workload, owned = got
            previous = seen.get(workload.key)
            if previous is None:
                seen[workload.key] = workload
                inv.workloads.append(workload)
            elif owned and dict(previous.labels) != dict(workload.labels):
                inv.warnings.append(f"{workload.key}: its pods have different labels; the first pod's are used")
            elif not owned:
                inv.warnings.append(f"{workload.key} appears twice; the first one is used")
    for name in sorted({w.namespace for w in inv.workloads} | {p.namespace for p in inv.policies}):
        if name not in inv.namespaces:
            inv.namespaces[name] = Namespace(name, {NS_NAME_LABEL: name}, None, declared=False)
    return inv
