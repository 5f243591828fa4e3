"""Network policy analysis: netpol-analyzer's labelled cases as a second opinion, then one test per rule."""

from __future__ import annotations

import functools
import itertools
import json
import zipfile
from pathlib import Path

import pytest
import typer
import yaml
from typer.testing import CliRunner

from lashing.analyzers.cluster.netpol import (
    IPRange,
    NetworkModel,
    Ports,
    can_reach,
    connlist_json,
    connlist_lines,
    manifests_from_text,
    netpol_findings,
    parse_connlist,
    to_connlist,
)
from lashing.cli import netpol as netpol_cli
from lashing.model import FindingKind

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"
NETPOL_ZIP = CORPUS / "config-peers" / "netpol-analyzer-tests.zip"
# Kinds beyond core NetworkPolicy (AdminNetworkPolicy, OVN user-defined networks, Multus, KubeVirt):
# cases using them are out of scope and counted apart.
OUT_OF_SCOPE = {"AdminNetworkPolicy", "BaselineAdminNetworkPolicy", "UserDefinedNetwork", "ClusterUserDefinedNetwork",
                "NetworkAttachmentDefinition", "MultiNetworkPolicy", "VirtualMachine", "VirtualMachineInstance"}
AGREEMENT_FLOOR = 50  # measured: 50 of 50 core cases agree line for line (86 out-of-scope cases)


# --- netpol-analyzer's cases -------------------------------------------------------------------------------

@functools.cache
def _zip() -> zipfile.ZipFile:
    return zipfile.ZipFile(NETPOL_ZIP)


@functools.cache
def _cases() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(core cases, out-of-scope cases): every `tests/<case>/` with a `<case>_connlist_output.txt`."""
    names = _zip().namelist()
    dirs = sorted({n.split("/")[1] for n in names if n.startswith("tests/") and n.count("/") >= 2})
    core, other = [], []
    for case in dirs:
        if f"test_outputs/connlist/{case}_connlist_output.txt" not in names:
            continue
        kinds = {m.data.get("kind") for m in _objects(case)}
        (other if kinds & OUT_OF_SCOPE else core).append(case)
    return tuple(core), tuple(other)


@functools.cache
def _objects(case: str) -> tuple:
    warnings: list[str] = []
    out = []
    for name in _zip().namelist():
        if name.startswith(f"tests/{case}/") and name.endswith((".yaml", ".yml", ".json")):
            out.extend(manifests_from_text(name, _zip().read(name), warnings))
    return tuple(out)


def _expected(case: str) -> list[str]:
    """Expected lines, without `{ingress-controller}` ones (Ingress/Route exposure is not modelled)."""
    text = _zip().read(f"test_outputs/connlist/{case}_connlist_output.txt").decode()
    return [line for line in text.splitlines() if line.strip() and not line.startswith("{ingress-controller}")]


def _split_ranges(triples: list[tuple[str, str, Ports]], cuts: dict[int, set[int]]) -> set[tuple[str, str, str]]:
    """(src, dst, ports) with every IP range split at all `cuts`: equal sets mean equal connectivity."""
    def ip(name: str) -> IPRange | None:
        return IPRange.parse(name.removesuffix("[External]")) if name.endswith("[External]") else None

    out = set()
    for src, dst, ports in triples:
        r = ip(src) or ip(dst)
        if r is None:
            out.add((src, dst, str(ports)))
            continue
        points = sorted(c for c in cuts[r.version] | {r.lo, r.hi + 1} if r.lo <= c <= r.hi + 1)
        for lo, hi in itertools.pairwise(points):
            part = f"{IPRange(r.version, lo, hi - 1)}[External]"
            out.add((part, dst, str(ports)) if ip(src) else (src, part, str(ports)))
    return out


@functools.cache
def _compare(case: str) -> tuple[bool, bool, int, int]:
    """(same set of connections, same text line for line, expected count, our count)."""
    model = NetworkModel.from_objects(_objects(case))
    ours_lines = connlist_lines(model.connections())
    expected = _expected(case)
    ours, theirs = parse_connlist("\n".join(ours_lines)), parse_connlist("\n".join(expected))
    cuts: dict[int, set[int]] = {4: set(), 6: set()}
    for src, dst, _ in ours + theirs:
        for name in (src, dst):
            if name.endswith("[External]"):
                r = IPRange.parse(name.removesuffix("[External]"))
                cuts[r.version].update((r.lo, r.hi + 1))
    same_set = _split_ranges(ours, cuts) == _split_ranges(theirs, cuts)
    return same_set, ours_lines == expected, len(expected), len(ours_lines)


@pytest.mark.parametrize("case", _cases()[0])
def test_netpol_analyzer_case(case: str) -> None:
    same_set, same_text, n_expected, n_ours = _compare(case)
    assert same_set, f"{case}: connections differ ({n_expected} expected, {n_ours} ours)"
    assert same_text, f"{case}: same connections, printed differently"


def test_netpol_analyzer_agreement_floor(capsys: pytest.CaptureFixture[str]) -> None:
    core, other = _cases()
    rows = [(case, *_compare(case)) for case in core]
    passed = sum(1 for _, same_set, _, _, _ in rows if same_set)
    exact = sum(1 for _, _, same_text, _, _ in rows if same_text)
    with capsys.disabled():
        print(f"\nnetpol-analyzer connlist cases: {passed}/{len(core)} agree as sets, {exact}/{len(core)} line for "
              f"line; {len(other)} out of scope (ANP/BANP/UDN/NAD/VM)")
        for case, same_set, same_text, n_exp, n_ours in rows:
            verdict = "PASS" if same_set and same_text else ("SET-ONLY" if same_set else "FAIL")
            print(f"  {verdict:8} {case} ({n_exp} expected, {n_ours} ours)")
    assert len(core) >= 50 and len(other) >= 80  # the corpus is what we measured
    assert passed >= AGREEMENT_FLOOR and exact >= AGREEMENT_FLOOR


def test_connlist_json_matches_netpol_analyzer_json() -> None:
    names = set(_zip().namelist())
    checked = 0
    for case in _cases()[0]:
        path = f"test_outputs/connlist/{case}_connlist_output.json"
        if path not in names:
            continue
        expected = [e for e in json.loads(_zip().read(path)) if not e["src"].startswith("{ingress-controller}")]
        assert connlist_json(NetworkModel.from_objects(_objects(case)).connections()) == expected, case
        checked += 1
    assert checked >= 9


# --- hand-written cases, one per rule ----------------------------------------------------------------------

def ns(name: str, **labels: str) -> dict:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}}


def deploy(namespace: str, name: str, labels: dict, ports: list[dict] | None = None) -> dict:
    container = {"name": "c", "image": "x", **({"ports": ports} if ports else {})}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": namespace},
            "spec": {"selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels}, "spec": {"containers": [container]}}}}


def netpol(namespace: str, name: str, spec: dict) -> dict:
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": name, "namespace": namespace}, "spec": spec}


WORLD = [
    ns("prod", team="a", env="prod"), ns("dev", team="a", env="dev"), ns("other", team="b"),
    deploy("prod", "db", {"app": "db"}, [{"containerPort": 5432, "name": "pg"},
                                         {"containerPort": 53, "name": "dns", "protocol": "UDP"}]),
    deploy("prod", "api", {"app": "api"}), deploy("dev", "api", {"app": "api"}),
    deploy("dev", "tool", {"app": "tool"}), deploy("other", "api", {"app": "api"}),
]


def test_namespace_and_pod_selector_in_one_peer_is_and_separate_peers_are_or() -> None:
    both = netpol("prod", "and", {"podSelector": {"matchLabels": {"app": "db"}}, "ingress": [
        {"from": [{"namespaceSelector": {"matchLabels": {"env": "dev"}},
                   "podSelector": {"matchLabels": {"app": "api"}}}]}]})
    model = NetworkModel.from_objects([*WORLD, both])
    assert model.can_reach("dev/api", "prod/db").allowed
    assert not model.can_reach("dev/tool", "prod/db").allowed  # right namespace, wrong pod
    assert not model.can_reach("prod/api", "prod/db").allowed  # right pod, wrong namespace
    either = netpol("prod", "or", {"podSelector": {"matchLabels": {"app": "db"}}, "ingress": [
        {"from": [{"namespaceSelector": {"matchLabels": {"env": "dev"}}},
                  {"podSelector": {"matchLabels": {"app": "api"}}}]}]})
    model = NetworkModel.from_objects([*WORLD, either])
    assert model.can_reach("dev/tool", "prod/db").allowed  # any pod of dev
    assert model.can_reach("prod/api", "prod/db").allowed  # podSelector alone: the policy's namespace
    assert not model.can_reach("other/api", "prod/db").allowed


def test_named_ports_resolve_on_the_destination_and_protocol() -> None:
    pol = netpol("prod", "named", {"podSelector": {}, "ingress": [{"ports": [
        {"port": "pg"}, {"port": "dns", "protocol": "UDP"}, {"port": "dns"}, {"port": "absent"}]}]})
    verdict = can_reach([*WORLD, pol], "dev/api", "prod/db")
    assert str(verdict.ports) == "TCP 5432,UDP 53"  # "dns" over TCP matches no container port
    assert can_reach([*WORLD, pol], "dev/api", "prod/db", port=5432).allowed
    assert not can_reach([*WORLD, pol], "dev/api", "prod/db", port=53).allowed  # TCP 53
    assert can_reach([*WORLD, pol], "dev/api", "prod/db", port=53, protocol="UDP").allowed
    assert not can_reach([*WORLD, pol], "dev/api", "prod/api").allowed  # no named port at all
    egress = netpol("dev", "out", {"podSelector": {"matchLabels": {"app": "api"}}, "policyTypes": ["Egress"],
                                   "egress": [{"ports": [{"port": "pg"}]}]})
    model = NetworkModel.from_objects([*WORLD, egress])
    assert str(model.can_reach("dev/api", "prod/db").ports) == "TCP 5432"  # the destination's port name
    assert not model.can_reach("dev/api", "0.0.0.0/0").allowed  # a name never matches an outside address


def test_end_port_is_an_inclusive_range() -> None:
    pol = netpol("prod", "range", {"podSelector": {}, "ingress": [{"ports": [
        {"port": 8000, "endPort": 8010}, {"port": 9000, "protocol": "SCTP"}]}]})
    verdict = can_reach([*WORLD, pol], "dev/api", "prod/api")
    assert str(verdict.ports) == "SCTP 9000,TCP 8000-8010"
    assert can_reach([*WORLD, pol], "dev/api", "prod/api", port=8010).allowed
    assert not can_reach([*WORLD, pol], "dev/api", "prod/api", port=8011).allowed


def test_ipblock_except_splits_the_outside_world() -> None:
    pol = netpol("prod", "ips", {"podSelector": {"matchLabels": {"app": "api"}}, "ingress": [
        {"from": [{"ipBlock": {"cidr": "10.0.0.0/8", "except": ["10.1.0.0/16"]}}], "ports": [{"port": 443}]}]})
    model = NetworkModel.from_objects([*WORLD, pol])
    assert model.can_reach("10.2.3.4", "prod/api", port=443).allowed
    assert not model.can_reach("10.1.2.3", "prod/api", port=443).allowed
    assert not model.can_reach("11.0.0.1", "prod/api").allowed
    assert not model.can_reach("10.0.0.0/8", "prod/api").allowed  # not every address of it is admitted
    lines = [line for line in connlist_lines(model.connections()) if line.endswith("prod/api[Deployment] : TCP 443")]
    assert lines == ["10.0.0.0-10.0.255.255[External] => prod/api[Deployment] : TCP 443",
                     "10.2.0.0-10.255.255.255[External] => prod/api[Deployment] : TCP 443"]
    assert model.can_reach("prod/api", "10.1.2.3").allowed  # egress not isolated
    assert all(r.version == 4 for r in model.ip_ranges)  # no IPv6 block: no IPv6 peers


def test_ipv6_blocks_add_ipv6_ranges() -> None:
    pol = netpol("prod", "v6", {"podSelector": {}, "policyTypes": ["Egress"], "egress": [
        {"to": [{"ipBlock": {"cidr": "2001:db8::/32", "except": ["2001:db8:1::/48"]}}]}]})
    model = NetworkModel.from_objects([*WORLD, pol])
    assert model.can_reach("prod/api", "2001:db8:2::1").allowed
    assert not model.can_reach("prod/api", "2001:db8:1::1").allowed
    assert not model.can_reach("prod/api", "8.8.8.8").allowed
    assert any(r.version == 6 for r in model.ip_destinations)


def test_policy_types_defaults() -> None:
    # no policyTypes, egress rules present: isolates both directions
    both = netpol("prod", "both", {"podSelector": {"matchLabels": {"app": "api"}},
                                  "egress": [{"to": [{"podSelector": {"matchLabels": {"app": "db"}}}]}]})
    model = NetworkModel.from_objects([*WORLD, both])
    assert not model.can_reach("dev/api", "prod/api").allowed  # ingress isolated, no ingress rule
    assert model.can_reach("prod/api", "prod/db").allowed
    assert not model.can_reach("prod/api", "dev/api").allowed
    # no policyTypes and no (or empty) egress: ingress only
    ingress_only = netpol("prod", "in", {"podSelector": {"matchLabels": {"app": "api"}}, "egress": []})
    model = NetworkModel.from_objects([*WORLD, ingress_only])
    assert not model.can_reach("dev/api", "prod/api").allowed
    assert model.can_reach("prod/api", "dev/api").allowed
    verdict = model.can_reach("dev/api", "prod/api")
    assert verdict.ingress.isolated and verdict.ingress.selected_by == ("prod/in",) and not verdict.ingress.allowed_by
    assert not verdict.egress.isolated


def test_egress_only_isolation_leaves_ingress_open_and_both_sides_must_allow() -> None:
    pol = netpol("dev", "deny-out", {"podSelector": {}, "policyTypes": ["Egress"]})
    model = NetworkModel.from_objects([*WORLD, pol])
    assert model.can_reach("prod/api", "dev/api").ports.is_all  # dev's ingress is open
    assert not model.can_reach("dev/api", "prod/api").allowed  # dev's egress is denied
    assert not model.can_reach("dev/api", "8.8.8.8").allowed
    # egress allows, ingress denies: denied; the verdict names both sides
    allow_out = netpol("dev", "allow-out", {"podSelector": {}, "policyTypes": ["Egress"], "egress": [{}]})
    deny_in = netpol("prod", "deny-in", {"podSelector": {}})
    verdict = can_reach([*WORLD, allow_out, deny_in], "dev/api", "prod/db", port=5432)
    assert not verdict.allowed
    assert verdict.egress.allowed_by == ("dev/allow-out",) and verdict.ingress.selected_by == ("prod/deny-in",)
    assert "ingress of prod/db[Deployment]: isolated by prod/deny-in" in verdict.reason


@pytest.mark.parametrize(("expression", "allowed_from"), [
    ({"key": "env", "operator": "In", "values": ["dev", "qa"]}, {"dev/api"}),
    ({"key": "env", "operator": "NotIn", "values": ["dev"]}, {"prod/api", "other/api", "implicit/api"}),
    ({"key": "env", "operator": "Exists"}, {"prod/api", "dev/api"}),
    ({"key": "env", "operator": "DoesNotExist"}, {"other/api", "implicit/api"}),
    ({"key": "kubernetes.io/metadata.name", "operator": "In", "values": ["implicit"]}, {"implicit/api"}),
])
def test_namespace_selector_match_expressions(expression: dict, allowed_from: set[str]) -> None:
    pol = netpol("prod", "x", {"podSelector": {"matchLabels": {"app": "db"}}, "ingress": [{"from": [
        {"namespaceSelector": {"matchExpressions": [expression]}, "podSelector": {"matchLabels": {"app": "api"}}}]}]})
    # "implicit" is never declared: it gets the automatic kubernetes.io/metadata.name label
    model = NetworkModel.from_objects([*WORLD, deploy("implicit", "api", {"app": "api"}), pol])
    got = {name for name in ("prod/api", "dev/api", "other/api", "implicit/api")
           if model.can_reach(name, "prod/db").allowed}
    assert got == allowed_from


def test_pods_are_grouped_by_owner_and_static_pods_stand_alone() -> None:
    def pod(name: str, owner: dict | None, labels: dict) -> dict:
        meta = {"name": name, "namespace": "prod", "labels": labels}
        if owner:
            meta["ownerReferences"] = [{**owner, "controller": True}]
        return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": {"containers": [{"name": "c"}]}}

    rs = {"kind": "ReplicaSet", "name": "web-5d9c"}
    objs = [pod("web-5d9c-a", rs, {"app": "web"}), pod("web-5d9c-b", rs, {"app": "web"}),
            pod("etcd-node1", {"kind": "Node", "name": "node1"}, {"component": "etcd"}), pod("solo", None, {})]
    model = NetworkModel.from_objects(objs)
    assert sorted(w.key for w in model.workloads) == ["prod/etcd-node1[Pod]", "prod/solo[Pod]",
                                                      "prod/web-5d9c[ReplicaSet]"]
    lines = connlist_lines(model.connections())
    assert "prod/web-5d9c[ReplicaSet] => prod/solo[Pod] : All Connections" in lines
    assert not any(line.startswith("prod/web-5d9c[ReplicaSet] => prod/web-5d9c") for line in lines)


def test_ports_text_round_trip() -> None:
    for text in ("All Connections", "TCP 80", "SCTP 1-65535,TCP 1-79,81-65535,UDP 1-65535",
                 "TCP 8080,UDP 80,5000-6000"):
        assert str(Ports.parse(text)) == text
    assert (Ports.of("TCP", 80) | Ports.of("TCP", 81)) == Ports.of("TCP", 80, 81)
    assert not (Ports.of("TCP", 80) & Ports.of("UDP", 80))


# --- findings ---------------------------------------------------------------------------------------------

FINDINGS_YAML = """\
apiVersion: v1
kind: Namespace
metadata: {name: open}
---
apiVersion: v1
kind: Namespace
metadata: {name: guarded}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: app, namespace: open}
spec:
  template:
    metadata: {labels: {app: app}}
    spec: {containers: [{name: c, image: x}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: guarded}
spec:
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: c, image: x}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: worker, namespace: guarded}
spec:
  template:
    metadata: {labels: {app: worker}}
    spec: {containers: [{name: c, image: x}]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny-in, namespace: guarded}
spec:
  podSelector: {}
  policyTypes: [Ingress]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web-public, namespace: guarded}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress:
  - from:
    - ipBlock: {cidr: 0.0.0.0/0, except: [10.0.0.0/8]}
    ports: [{port: 443}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: worker-any, namespace: guarded}
spec:
  podSelector: {matchLabels: {app: worker}}
  policyTypes: [Ingress]
  ingress:
  - from:
    - namespaceSelector: {}
  - {}
"""


def test_findings_ids_severities_and_locations() -> None:
    warnings: list[str] = []
    manifests = list(manifests_from_text("cluster.yaml", FINDINGS_YAML, warnings))
    assert not warnings
    found = netpol_findings(NetworkModel.from_objects(manifests))
    assert all(f.kind is FindingKind.CONFIG for f in found)
    by_id: dict[str, list] = {}
    for f in found:
        by_id.setdefault(f.id, []).append(f)
    no_policy = by_id["LSH-NETPOL-NO-POLICY"]
    assert [f.extra["namespace"] for f in no_policy] == ["open"]
    assert (no_policy[0].location.path, no_policy[0].location.line) == ("cluster.yaml", 1)
    assert [f.extra["namespace"] for f in by_id["LSH-NETPOL-NO-DEFAULT-DENY-EGRESS"]] == ["guarded"]
    assert "LSH-NETPOL-NO-DEFAULT-DENY-INGRESS" not in by_id  # deny-in selects every pod
    allow_all = sorted((f.location.line, f.description.split(":")[0])
                       for f in by_id["LSH-NETPOL-ALLOW-ALL-INGRESS"])
    assert allow_all == [(57, "ingress[0] of guarded/worker-any"), (59, "ingress[1] of guarded/worker-any")]
    internet = {f.extra["workload"]: f for f in by_id["LSH-NETPOL-INGRESS-FROM-INTERNET"]}
    assert set(internet) == {"open/app[Deployment]", "guarded/web[Deployment]", "guarded/worker[Deployment]"}
    assert internet["guarded/web[Deployment]"].location.line == 40  # the web-public policy
    assert "allowed by guarded/web-public" in internet["guarded/web[Deployment]"].description
    assert {f.extra["workload"] for f in by_id["LSH-NETPOL-EGRESS-TO-INTERNET"]} == {
        "open/app[Deployment]", "guarded/web[Deployment]", "guarded/worker[Deployment]"}


def test_no_internet_finding_for_a_narrow_ipblock() -> None:
    pol = netpol("prod", "narrow", {"podSelector": {}, "policyTypes": ["Ingress", "Egress"],
                                    "ingress": [{"from": [{"ipBlock": {"cidr": "203.0.113.0/24"}}]}],
                                    "egress": [{"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}]}]})
    found = netpol_findings(NetworkModel.from_objects([*WORLD, pol]))
    prod = {(f.id, f.extra.get("workload")) for f in found if f.extra.get("namespace") == "prod"}
    assert ("LSH-NETPOL-INGRESS-FROM-INTERNET", "prod/db[Deployment]") not in prod
    assert ("LSH-NETPOL-EGRESS-TO-INTERNET", "prod/db[Deployment]") in prod


# --- untrusted input --------------------------------------------------------------------------------------

MALFORMED = [
    "not an object", 42, None, {"kind": "NetworkPolicy"}, {"kind": "NetworkPolicy", "metadata": [], "spec": []},
    netpol("prod", "bad-types", {"podSelector": {}, "policyTypes": "Ingress"}),
    netpol("prod", "bad-selector", {"podSelector": {"matchExpressions": [{"key": "a", "operator": "Near"}]}}),
    netpol("prod", "bad-rules", {"podSelector": {"matchLabels": {"app": "db"}}, "ingress": {"from": []}}),
    netpol("dev", "bad-peers", {"podSelector": {"matchLabels": {"app": "tool"}}, "ingress": [
        {"from": [{"ipBlock": {"cidr": "300.1.1.1/8"}}, "x", {}, {"ipBlock": {"cidr": "10.0.0.0/8"},
                                                                 "podSelector": {}}]},
        {"from": [{"podSelector": {"matchLabels": {"a": {"nested": 1}}}}]},
        {"ports": [{"port": 0}, {"port": "Not_A_Name"}, {"port": 80, "endPort": 70}, {"protocol": "ICMP"},
                   {"endPort": 90}, "80"]},
        {"ports": "80"}, {"from": "everyone"}, "rule"]}),
    {"kind": "Deployment", "metadata": {"name": "broken", "namespace": "dev"}, "spec": {"template": [1, 2]}},
    {"kind": "Pod", "metadata": {"name": "p", "labels": ["a"], "ownerReferences": "me"},
     "spec": {"containers": [{"ports": [{"containerPort": "http"}, {"containerPort": 99999}, "x"]}]}},
    {"kind": "Namespace", "metadata": {"name": 5}},
]


def test_malformed_objects_give_warnings_and_never_widen() -> None:
    model = NetworkModel.from_objects([*WORLD, *MALFORMED])
    text = "\n".join(model.warnings)
    for needle in ("not a Kubernetes object", "bad-types", "operator 'Near'", "bad-rules", "300.1.1.1/8",
                   "no podSelector, namespaceSelector or ipBlock", "ipBlock with a selector", "port 0",
                   "Not_A_Name", "endPort 70", "ICMP", "endPort without port", "non-scalar", "containerPort"):
        assert needle in text, needle
    model.connections()
    netpol_findings(model)
    # every rule of bad-peers was invalid: dev/tool is isolated and admits nothing (not everything)
    verdict = model.can_reach("dev/api", "dev/tool")
    assert verdict.ingress.isolated and not verdict.allowed
    assert not model.can_reach("prod/api", "prod/db").allowed  # bad-rules still isolates prod/db
    assert {w.key for w in model.workloads} >= {"dev/broken[Deployment]", "default/p[Pod]"}


def test_garbage_yaml_is_a_warning() -> None:
    warnings: list[str] = []
    got = list(manifests_from_text("x.yaml", "kind: Pod\nmetadata: {name: a}\n---\n: : [\n", warnings))
    assert [m.data["kind"] for m in got] == ["Pod"]
    assert warnings and warnings[0].startswith("x.yaml:")
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n" for p, c in zip("abcdefgh", "bcdefghi",
                                                                                          strict=True))
    warnings.clear()
    assert list(manifests_from_text("bomb.yaml", bomb, warnings)) == [] and warnings


# --- the CLI functions ------------------------------------------------------------------------------------

@pytest.fixture()
def cli_app() -> typer.Typer:
    app = typer.Typer()
    app.command("can-reach")(netpol_cli.can_reach)
    app.command("netpol")(netpol_cli.matrix)
    return app


def test_cli_netpol_and_can_reach(tmp_path: Path, cli_app: typer.Typer) -> None:
    pol = netpol("prod", "db", {"podSelector": {"matchLabels": {"app": "db"}}, "ingress": [
        {"from": [{"podSelector": {"matchLabels": {"app": "api"}}}], "ports": [{"port": "pg"}]}]})
    (tmp_path / "all.yaml").write_text(yaml.safe_dump_all([*WORLD, pol]))
    runner = CliRunner()
    result = runner.invoke(cli_app, ["netpol", "--snapshot", str(tmp_path), "--format", "connlist"])
    assert result.exit_code == 0, result.output
    assert "prod/api[Deployment] => prod/db[Deployment] : TCP 5432" in result.output.splitlines()
    assert result.output == to_connlist(NetworkModel.from_objects([*WORLD, pol]).connections())
    result = runner.invoke(cli_app, ["netpol", "--snapshot", str(tmp_path), "--format", "json"])
    doc = json.loads(result.output)
    assert any(f["id"] == "LSH-NETPOL-NO-POLICY" for f in doc["findings"])
    result = runner.invoke(cli_app, ["netpol", "--snapshot", str(tmp_path)])
    assert result.exit_code == 0 and "[Deployment]" in result.output  # names are text, not rich markup
    result = runner.invoke(cli_app, ["can-reach", "prod/api", "prod/db", "--port", "5432", "--snapshot",
                                     str(tmp_path), "--format", "json"])
    assert json.loads(result.output)["allowed"] is True
    result = runner.invoke(cli_app, ["can-reach", "dev/api", "prod/db", "--snapshot", str(tmp_path),
                                     "--exit-code", "4"])
    assert result.exit_code == 4 and "DENIED" in result.output and "prod/db" in result.output
    result = runner.invoke(cli_app, ["can-reach", "prod/nope", "prod/db", "--snapshot", str(tmp_path)])
    assert result.exit_code != 0 and "no workload" in str(result.exception)
