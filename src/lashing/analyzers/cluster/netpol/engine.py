"""Reachability: which peer may open which connections to which peer under the NetworkPolicies.

A connection from A to B is allowed when A's egress allows it AND B's ingress allows it. A pod's direction
is isolated only when some policy of its namespace selects it for that direction; then the union of those
policies' rules is what is allowed, and a non-isolated direction allows everything. The outside world is
split into IP ranges at every ipBlock boundary (IPv4 always, IPv6 when a policy names an IPv6 block).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from lashing.analyzers.cluster.netpol.ipspace import IPRange, IPSet, partition
from lashing.analyzers.cluster.netpol.objects import Inventory, Peer, Policy, Rule, Workload, parse_objects
from lashing.analyzers.cluster.netpol.ports import Ports, merge

Endpoint = Workload | IPRange


def endpoint_name(endpoint: Endpoint) -> str:
    return endpoint.key if isinstance(endpoint, Workload) else f"{endpoint}[External]"


@dataclass(frozen=True)
class Side:
    """One direction of a connection: is the pod isolated, what is allowed, and by which policies."""

    isolated: bool
    ports: Ports
    selected_by: tuple[str, ...] = ()  # policies that isolate the pod in this direction
    allowed_by: tuple[str, ...] = ()  # of those, the ones with a rule admitting this peer

    def to_json(self) -> dict[str, Any]:
        return {"isolated": self.isolated, "ports": self.ports.to_json(), "selected_by": list(self.selected_by),
                "allowed_by": list(self.allowed_by)}


OPEN = Side(False, Ports.all())


@dataclass(frozen=True)
class Connection:
    source: Endpoint
    destination: Endpoint
    ports: Ports

    @property
    def src(self) -> str:
        return endpoint_name(self.source)

    @property
    def dst(self) -> str:
        return endpoint_name(self.destination)


@dataclass(frozen=True)
class Verdict:
    """The answer to "can A reach B (on this port)?" with the reasons on each side."""

    source: str
    destination: str
    allowed: bool
    ports: Ports
    egress: Side
    ingress: Side
    port: int | None = None
    protocol: str = "TCP"

    @property
    def reason(self) -> str:
        def side(name: str, s: Side) -> str:
            if not s.isolated:
                return f"{name}: not isolated (no policy selects it), all allowed"
            allowed = ", ".join(s.allowed_by) or "no rule admits the peer"
            return f"{name}: isolated by {', '.join(s.selected_by)}; allowed by {allowed}: {s.ports}"

        return "; ".join((side("egress of " + self.source, self.egress),
                          side("ingress of " + self.destination, self.ingress)))

    def to_json(self) -> dict[str, Any]:
        return {"source": self.source, "destination": self.destination, "allowed": self.allowed,
                "port": self.port, "protocol": self.protocol, "connections": self.ports.to_json(),
                "egress": self.egress.to_json(), "ingress": self.ingress.to_json(), "reason": self.reason}


class NetworkModel:
    """The network model of one set of objects; build it once, ask it many questions."""

    def __init__(self, inventory: Inventory, ipv6: bool | None = None) -> None:
        self.inventory = inventory
        self.namespaces = inventory.namespaces
        self.workloads = inventory.workloads
        self.policies = inventory.policies
        self.warnings = inventory.warnings
        by_ns: dict[str, list[Policy]] = {}
        for policy in self.policies:
            by_ns.setdefault(policy.namespace, []).append(policy)
        self._ingress: dict[str, list[Policy]] = {}
        self._egress: dict[str, list[Policy]] = {}
        for w in self.workloads:
            selecting = [p for p in by_ns.get(w.namespace, ()) if p.selects(w)]
            self._ingress[w.key] = [p for p in selecting if p.isolates_ingress]
            self._egress[w.key] = [p for p in selecting if p.isolates_egress]
        in_blocks = [peer.ipblock for p in self.policies for rule in p.ingress
                     for peer in rule.peers or () if peer.ipblock is not None]
        out_blocks = [peer.ipblock for p in self.policies for rule in p.egress
                      for peer in rule.peers or () if peer.ipblock is not None]
        if ipv6 is None:
            ipv6 = any(b.v6 for b in (*in_blocks, *out_blocks))
        versions = (4, 6) if ipv6 else (4,)
        # the outside world split at every ipBlock boundary; sources are split by ingress rules' blocks and
        # destinations by egress rules' blocks (as netpol-analyzer prints them), `ip_ranges` by both
        self.ip_ranges = partition((*in_blocks, *out_blocks), versions)
        self.ip_sources = partition(in_blocks, versions)
        self.ip_destinations = partition(out_blocks, versions)
        self._allowed: dict[tuple[Endpoint, Endpoint], Ports] = {}
        self._rule_ips: dict[int, IPSet] = {}  # id(rule) -> union of its ipBlocks
        for p in self.policies:
            for rule in (*p.ingress, *p.egress):
                union = IPSet()
                for peer in rule.peers or ():
                    if peer.ipblock is not None:
                        union = union | peer.ipblock
                self._rule_ips[id(rule)] = union

    @classmethod
    def from_objects(cls, objects: Iterable[Any], ipv6: bool | None = None) -> NetworkModel:
        return cls(parse_objects(objects), ipv6)

    def policies_for(self, workload: Workload, ingress: bool) -> list[Policy]:
        """The policies isolating `workload` for ingress (or egress); empty when it is not isolated."""
        return list((self._ingress if ingress else self._egress).get(workload.key, ()))

    # --- one rule, one side ---------------------------------------------------------------------------

    def _peer_matches(self, peer: Peer, policy_ns: str, other: Endpoint) -> bool:
        if isinstance(other, IPRange):
            return peer.ipblock is not None and peer.ipblock.covers(other)
        if peer.ipblock is not None:
            return False
        if peer.namespaces is None:
            if other.namespace != policy_ns:
                return False
        else:
            ns = self.namespaces.get(other.namespace)
            if ns is None or not peer.namespaces.matches(ns.labels):
                return False
        return peer.pods is None or peer.pods.matches(other.labels)

    def _rule_ports(self, rule: Rule, destination: Endpoint) -> Ports:
        if rule.ports is None:
            return Ports.all()
        out = Ports.none()
        for entry in rule.ports:
            if entry.name:
                if isinstance(destination, Workload):
                    for cp in destination.ports:
                        if cp.name == entry.name and cp.protocol == entry.protocol:
                            out = out | Ports.of(entry.protocol, cp.port)
            elif entry.port is None:
                out = out | Ports.of(entry.protocol, 1, 65535)
            else:
                out = out | Ports.of(entry.protocol, entry.port, entry.end)
        return out

    def _side(self, policies: list[Policy], ingress: bool, other: Endpoint, destination: Endpoint) -> Side:
        if not policies:
            return OPEN
        ports, allowed_by = Ports.none(), []
        for policy in policies:
            for rule in policy.ingress if ingress else policy.egress:
                if rule.peers is not None:
                    if isinstance(other, IPRange):
                        if not self._rule_ips[id(rule)].covers(other):
                            continue
                    elif not any(self._peer_matches(p, policy.namespace, other) for p in rule.peers):
                        continue
                got = self._rule_ports(rule, destination)
                if got:
                    ports = ports | got
                    if policy.key not in allowed_by:
                        allowed_by.append(policy.key)
        return Side(True, ports, tuple(p.key for p in policies), tuple(allowed_by))

    def egress(self, source: Endpoint, destination: Endpoint) -> Side:
        if isinstance(source, IPRange):
            return OPEN
        return self._side(self._egress.get(source.key, []), False, destination, destination)

    def ingress(self, source: Endpoint, destination: Endpoint) -> Side:
        if isinstance(destination, IPRange):
            return OPEN
        return self._side(self._ingress.get(destination.key, []), True, source, destination)

    def allowed(self, source: Endpoint, destination: Endpoint) -> Ports:
        """The connections `source` may open to `destination` (egress AND ingress)."""
        key = (source, destination)
        got = self._allowed.get(key)
        if got is None:
            got = self.egress(source, destination).ports
            if got:
                got = got & self.ingress(source, destination).ports
            self._allowed[key] = got
        return got

    # --- the whole matrix -------------------------------------------------------------------------------

    def connections(self, merge: bool = False) -> list[Connection]:
        """Every allowed connection between two workloads, or between a workload and an IP range.

        With `merge`, adjacent IP ranges with the same connections to the same workload are joined.
        """
        out = []
        for src in self.workloads:
            for dst in self.workloads:
                if src.key != dst.key and (ports := self.allowed(src, dst)):
                    out.append(Connection(src, dst, ports))
            for r in self.ip_destinations:
                if ports := self.allowed(src, r):
                    out.append(Connection(src, r, ports))
        for dst in self.workloads:
            for r in self.ip_sources:
                if ports := self.allowed(r, dst):
                    out.append(Connection(r, dst, ports))
        return merge_ranges(out) if merge else out

    def external_ingress(self, workload: Workload) -> IPSet:
        """Every outside address that may open some connection to `workload`."""
        return self._ip_union(r for r in self.ip_ranges if self.allowed(r, workload))

    def external_egress(self, workload: Workload) -> IPSet:
        """Every outside address `workload` may open some connection to."""
        return self._ip_union(r for r in self.ip_ranges if self.allowed(workload, r))

    @staticmethod
    def _ip_union(ranges: Iterable[IPRange]) -> IPSet:
        v4: list[tuple[int, int]] = []
        v6: list[tuple[int, int]] = []
        for r in ranges:
            (v4 if r.version == 4 else v6).append((r.lo, r.hi))
        return IPSet(merge(v4), merge(v6))

    # --- one question ------------------------------------------------------------------------------------

    def resolve(self, text: str) -> Endpoint:
        """`ns/name`, `ns/name[Kind]`, `name` (namespace default), or an IP address / CIDR / range."""
        from lashing.errors import UsageError

        text = text.strip()
        try:
            return IPRange.parse(text)
        except ValueError:
            pass
        ns, _, name = text.rpartition("/")
        ns = ns or "default"
        kind = ""
        if name.endswith("]") and "[" in name:
            name, _, kind = name[:-1].partition("[")
        found = [w for w in self.workloads if w.namespace == ns and w.name == name and (not kind or w.kind == kind)]
        if len(found) == 1:
            return found[0]
        if not found:
            known = ", ".join(w.key for w in self.workloads[:10]) or "none"
            raise UsageError(f"no workload {text!r} (known: {known}{', ...' if len(self.workloads) > 10 else ''})")
        raise UsageError(f"{text!r} is ambiguous: {', '.join(w.key for w in found)}; add [Kind]")

    def can_reach(self, a: str | Endpoint, b: str | Endpoint, port: int | None = None,
                  protocol: str = "TCP") -> Verdict:
        src = self.resolve(a) if isinstance(a, str) else a
        dst = self.resolve(b) if isinstance(b, str) else b
        egress, ingress = self.egress(src, dst), self.ingress(src, dst)
        ports = egress.ports & ingress.ports
        if isinstance(src, IPRange) and isinstance(dst, IPRange):
            ports = Ports.all()  # outside the cluster: no policy applies
        allowed = ports.allows(port, protocol) if port is not None else bool(ports)
        return Verdict(endpoint_name(src), endpoint_name(dst), allowed, ports, egress, ingress, port, protocol.upper())


def merge_ranges(connections: list[Connection]) -> list[Connection]:
    """Join adjacent IP ranges that have the same connections with the same workload."""
    out: list[Connection] = []
    for conn in connections:
        prev = out[-1] if out else None
        if prev is not None and prev.ports == conn.ports:
            if isinstance(conn.destination, IPRange) and isinstance(prev.destination, IPRange) \
                    and prev.source == conn.source and prev.destination.version == conn.destination.version \
                    and prev.destination.hi + 1 == conn.destination.lo:
                out[-1] = Connection(prev.source, IPRange(prev.destination.version, prev.destination.lo,
                                                          conn.destination.hi), conn.ports)
                continue
            if isinstance(conn.source, IPRange) and isinstance(prev.source, IPRange) \
                    and prev.destination == conn.destination and prev.source.version == conn.source.version \
                    and prev.source.hi + 1 == conn.source.lo:
                out[-1] = Connection(IPRange(prev.source.version, prev.source.lo, conn.source.hi),
                                     prev.destination, conn.ports)
                continue
        out.append(conn)
    return out


def can_reach(objects: Iterable[Any], a: str, b: str, port: int | None = None, protocol: str = "TCP") -> Verdict:
    """Whether `a` may open a connection to `b` (on `port`/`protocol`, else on any port of any protocol)."""
    return NetworkModel.from_objects(objects).can_reach(a, b, port, protocol)
