"""Network policy analysis: reachability between workloads and the outside world, and posture findings.

    model = NetworkModel.from_objects(objects)      # dicts, (dict, Location) pairs, Manifests or KubeObjects
    model.connections()                             # every allowed (source, destination, ports)
    model.can_reach("ns1/a", "ns2/b", port=80)      # Verdict: allowed, ports, policies on each side
    netpol_findings(model)                          # LSH-NETPOL-* findings
    to_connlist(model.connections())                # netpol-analyzer's `list` text, line for line
"""

from lashing.analyzers.cluster.netpol.engine import (
    Connection,
    NetworkModel,
    Side,
    Verdict,
    can_reach,
    endpoint_name,
)
from lashing.analyzers.cluster.netpol.findings import netpol_findings
from lashing.analyzers.cluster.netpol.ipspace import IPRange, IPSet
from lashing.analyzers.cluster.netpol.loader import load_manifests, manifests_from_text
from lashing.analyzers.cluster.netpol.objects import Manifest, Namespace, Policy, Workload, parse_objects
from lashing.analyzers.cluster.netpol.ports import Ports
from lashing.analyzers.cluster.netpol.render import (
    FORMATS,
    connlist_json,
    connlist_lines,
    parse_connlist,
    render_findings,
    render_table,
    render_verdict,
    to_connlist,
    to_json,
)

__all__ = [
    "FORMATS", "Connection", "IPRange", "IPSet", "Manifest", "Namespace", "NetworkModel", "Policy", "Ports", "Side",
    "Verdict", "Workload", "can_reach", "connlist_json", "connlist_lines", "endpoint_name", "load_manifests",
    "manifests_from_text", "netpol_findings", "parse_connlist", "parse_objects", "render_findings", "render_table",
    "render_verdict", "to_connlist", "to_json",
]
