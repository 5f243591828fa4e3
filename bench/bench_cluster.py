"""Time loading a 5,000-object cluster snapshot with 500 RBAC bindings and analysing its RBAC.

    python bench/bench_cluster.py [--objects 5000] [--bindings 500] [--workdir DIR] [--seed 7]

Generates a synthetic but realistic snapshot (namespaces, service accounts, Roles and ClusterRoles with
aggregation, RoleBindings and ClusterRoleBindings, Deployments and Pods with service accounts, ConfigMaps),
writes it with `write_snapshot` (one YAML per kind), then times, in this process: `load_snapshot` (built-in
roles merged), `RbacIndex` (aggregation and bindings resolved), `analyze` (every risk finding) and 100
`who_can` queries. Prints wall times and the peak RSS of the process.
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

from lashing.analyzers.cluster.rbac import RbacIndex, analyze
from lashing.sources.cluster import ClusterSnapshot, load_snapshot, write_snapshot
from lashing.sources.cluster.snapshot import to_object

VERBS = ["get", "list", "watch", "create", "update", "patch", "delete"]
RESOURCES = [("", "pods"), ("", "secrets"), ("", "configmaps"), ("", "services"), ("apps", "deployments"),
             ("", "pods/exec"), ("", "pods/log"), ("batch", "jobs"), ("", "serviceaccounts/token"),
             ("networking.k8s.io", "networkpolicies"), ("", "nodes"), ("", "nodes/proxy"),
             ("admissionregistration.k8s.io", "validatingwebhookconfigurations"), ("example.com", "widgets")]


def _rules(rng: random.Random, count: int) -> list[dict]:
    out = []
    for _ in range(count):
        picked = rng.sample(RESOURCES, rng.randint(1, 4))
        rule = {"apiGroups": sorted({g for g, _ in picked}), "resources": [r for _, r in picked],
                "verbs": rng.sample(VERBS, rng.randint(1, 4))}
        if rng.random() < 0.05:
            rule["verbs"] = ["*"]
        if rng.random() < 0.1:
            rule["resourceNames"] = [f"obj-{rng.randint(0, 9)}"]
        out.append(rule)
    return out


def generate(total: int, bindings: int, seed: int) -> ClusterSnapshot:
    rng = random.Random(seed)
    snap = ClusterSnapshot(source="bench")
    namespaces = [f"team-{i:02d}" for i in range(50)]

    def add(raw: dict) -> None:
        obj = to_object(raw)
        assert not isinstance(obj, str), obj
        snap.add(obj)

    def meta(name: str, ns: str | None = None, **extra) -> dict:
        return {"name": name, **({"namespace": ns} if ns else {}), "uid": f"{rng.getrandbits(64):016x}",
                "resourceVersion": str(rng.randint(1, 10**6)), "creationTimestamp": "2024-05-02T09:14:27Z", **extra}

    for ns in namespaces:
        add({"apiVersion": "v1", "kind": "Namespace", "metadata": meta(ns)})
    accounts = [(ns, f"sa-{i}") for ns in namespaces for i in range(20)]
    for ns, name in accounts:
        add({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta(name, ns)})
    cluster_roles = [f"cr-{i}" for i in range(150)]
    for index, name in enumerate(cluster_roles):
        labels = {"bench/aggregate": "true"} if index % 10 == 0 else {}
        raw = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
               "metadata": meta(name, labels=labels), "rules": _rules(rng, rng.randint(1, 8))}
        if index % 50 == 1:
            raw["aggregationRule"] = {"clusterRoleSelectors": [{"matchLabels": {"bench/aggregate": "true"}}]}
        add(raw)
    roles = [(ns, f"role-{i}") for ns in namespaces for i in range(5)]
    for ns, name in roles:
        add({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": meta(name, ns),
             "rules": _rules(rng, rng.randint(1, 6))})
    for i in range(bindings):
        subjects = [{"kind": "ServiceAccount", "name": n, "namespace": s} for s, n in rng.sample(accounts, 2)]
        if rng.random() < 0.2:
            subjects.append({"kind": "Group", "apiGroup": "rbac.authorization.k8s.io", "name": f"group-{i % 7}"})
        if i % 5 == 0:
            ref = {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                   "name": rng.choice([*cluster_roles, "view", "edit", "admin"])}
            add({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
                 "metadata": meta(f"crb-{i}"), "roleRef": ref, "subjects": subjects})
        else:
            ns, role_name = rng.choice(roles)
            ref = {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": role_name}
            if rng.random() < 0.3:
                ref = {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                       "name": rng.choice(cluster_roles)}
            add({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": meta(f"rb-{i}", ns),
                 "roleRef": ref, "subjects": subjects})
    workload = 0
    while len(snap) < total:
        ns, account = rng.choice(accounts)
        spec = {"serviceAccountName": account, "containers": [
            {"name": "app", "image": f"registry.example.com/{ns}/app-{workload}:1.{workload % 9}",
             "env": [{"name": "MODE", "value": "prod"}], "ports": [{"containerPort": 8080}],
             "resources": {"limits": {"cpu": "500m", "memory": "256Mi"}}}]}
        if workload % 3 == 0:
            add({"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta(f"cfg-{workload}", ns),
                 "data": {"app.properties": "mode=prod\nthreads=8\n" * 4}})
        elif workload % 3 == 1:
            add({"apiVersion": "v1", "kind": "Pod", "metadata": meta(f"pod-{workload}", ns, labels={"app": "x"}),
                 "spec": spec, "status": {"phase": "Running", "podIP": f"10.0.{workload // 250}.{workload % 250}"}})
        else:
            add({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta(f"deploy-{workload}", ns),
                 "spec": {"replicas": 2, "selector": {"matchLabels": {"app": f"a{workload}"}},
                          "template": {"metadata": {"labels": {"app": f"a{workload}"}}, "spec": spec}}})
        workload += 1
    return snap


def _timed(label: str, fn):
    start = time.perf_counter()
    result = fn()
    print(f"{label:<38} {time.perf_counter() - start:8.3f} s")
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--objects", type=int, default=5000)
    parser.add_argument("--bindings", type=int, default=500)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args(argv)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="lashing-bench-cluster-"))
    generated = _timed("generate", lambda: generate(args.objects, args.bindings, args.seed))
    files = _timed("write_snapshot", lambda: write_snapshot(generated, workdir))
    size = sum(p.stat().st_size for p in files)
    print(f"snapshot: {len(generated)} objects, {len(files)} files, {size / 1e6:.1f} MB in {workdir}")
    start = time.perf_counter()
    snap = _timed("load_snapshot (+ built-in roles)", lambda: load_snapshot(workdir))
    index = _timed("RbacIndex (aggregation, bindings)", lambda: RbacIndex(snap))
    result = _timed("analyze (risk findings)", lambda: analyze(index))
    rng = random.Random(args.seed)
    queries = [(rng.choice(VERBS), rng.choice(RESOURCES)[1], rng.choice([None, "team-03"])) for _ in range(100)]
    grants = _timed("who_can x100", lambda: sum(len(index.who_can(v, r, n)) for v, r, n in queries))
    total = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{'load + RBAC analysis + queries':<38} {total:8.3f} s")
    print(f"objects {len(snap)} (with built-ins), bindings {len(index.bindings)}, findings {len(result.findings)}, "
          f"who_can grants {grants}, warnings {len(snap.warnings) + len(result.warnings)}")
    print(f"peak RSS {peak:.0f} MiB")
    from lashing.analyzers.cluster.posture import scan_cluster

    start = time.perf_counter()
    posture = _timed("scan_cluster (whole posture report)", lambda: scan_cluster(snap))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"posture: {len(posture.report.findings)} findings, {len(posture.images)} images in "
          f"{time.perf_counter() - start:.2f} s; peak RSS {peak:.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
