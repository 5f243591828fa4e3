"""RBAC analysis: effective permissions case by case, real corpus accounts, KubiScan's labelled patterns, CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from lashing.analyzers.cluster.rbac import (
    CLUSTER,
    Permission,
    PolicyRule,
    RbacIndex,
    Ref,
    Subject,
    analyze,
    effective_permissions,
    rule_risks,
    who_can,
)
from lashing.cli.k8s import app
from lashing.sources.cluster import load_snapshot

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "rbac"


def snap(tmp_path: Path, text: str, builtin: bool = True):
    (tmp_path / "objects.yaml").write_text(text)
    return load_snapshot(tmp_path / "objects.yaml", builtin=builtin)


def role(kind: str, name: str, rules: str, ns: str = "", labels: str = "", extra: str = "") -> str:
    meta = f"{{name: {name}" + (f", namespace: {ns}" if ns else "") + (f", labels: {labels}" if labels else "") + "}"
    return f"---\napiVersion: rbac.authorization.k8s.io/v1\nkind: {kind}\nmetadata: {meta}\n{extra}rules: {rules}\n"


def binding(kind: str, name: str, role_kind: str, role_name: str, subjects: str, ns: str = "") -> str:
    meta = f"{{name: {name}" + (f", namespace: {ns}" if ns else "") + "}"
    return (f"---\napiVersion: rbac.authorization.k8s.io/v1\nkind: {kind}\nmetadata: {meta}\n"
            f"roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: {role_kind}, name: {role_name}}}\n"
            f"subjects: {subjects}\n")


def who(grants) -> set[tuple[str, str]]:
    return {(str(g.subject), g.scope) for g in grants}


def perms(scope: str, group: str, resources: str, verbs: str, names: str = "") -> set[Permission]:
    return {Permission(scope, v, group, r, n) for r in resources.split() for v in verbs.split()
            for n in (names.split() or [""])}


ALICE = "[{kind: User, name: alice}]"


def test_aggregation_is_recursive_and_selectors_match_expressions(tmp_path):
    s = snap(tmp_path, role("ClusterRole", "top", "[]", extra="aggregationRule: {clusterRoleSelectors: "
                            "[{matchLabels: {tier: mid}}]}\n")
             + role("ClusterRole", "mid", "[{apiGroups: [''], resources: [configmaps], verbs: [get]}]",
                    labels="{tier: mid}", extra="aggregationRule: {clusterRoleSelectors: [{matchExpressions: "
                    "[{key: tier, operator: In, values: [leaf, other]}]}]}\n")
             + role("ClusterRole", "leaf", "[{apiGroups: [''], resources: [secrets], verbs: [list]}]",
                    labels="{tier: leaf}")
             + role("ClusterRole", "cycle", "[{apiGroups: [''], resources: [pods], verbs: [get]}]",
                    labels="{tier: mid}", extra="aggregationRule: {clusterRoleSelectors: [{matchLabels: "
                    "{tier: mid}}]}\n")
             + role("ClusterRole", "unlabelled", "[{apiGroups: ['*'], resources: ['*'], verbs: ['*']}]")
             + binding("ClusterRoleBinding", "b", "ClusterRole", "top", ALICE), builtin=False)
    got = effective_permissions(s, Subject("User", "alice"))
    assert got == (perms(CLUSTER, "", "configmaps", "get") | perms(CLUSTER, "", "secrets", "list")
                   | perms(CLUSTER, "", "pods", "get"))  # top <- mid, cycle (both tier=mid); mid <- leaf
    index = RbacIndex(s)
    assert set(index.cluster_role_rules("cycle")) == {PolicyRule(("get",), ("",), ("pods",)),
                                                      PolicyRule(("get",), ("",), ("configmaps",)),
                                                      PolicyRule(("list",), ("",), ("secrets",))}
    assert who(who_can(index, "list", "secrets")) == {("User:alice", CLUSTER)}


def test_rolebinding_to_clusterrole_grants_in_its_namespace_only(tmp_path):
    s = snap(tmp_path, role("ClusterRole", "ops", "[{apiGroups: [''], resources: [pods, nodes], verbs: [get]}, "
                            "{nonResourceURLs: [/metrics], verbs: [get]}]")
             + binding("RoleBinding", "b", "ClusterRole", "ops", "[{kind: ServiceAccount, name: bot}]", ns="team")
             + role("Role", "local", "[{apiGroups: [''], resources: [configmaps], verbs: [list]}]", ns="team")
             + binding("RoleBinding", "l", "Role", "local", ALICE, ns="team")
             + binding("RoleBinding", "elsewhere", "Role", "local", ALICE, ns="other"), builtin=False)
    bot = Subject("ServiceAccount", "bot", "team")  # the subject's namespace defaults to the binding's
    assert effective_permissions(s, bot) == perms("team", "", "pods", "get")  # no nodes, no /metrics
    assert who(who_can(s, "get", "pods", namespace="team")) == {("ServiceAccount:team/bot", "team")}
    assert who_can(s, "get", "pods", namespace="prod") == []
    assert who_can(s, "get", "nodes") == [] and who_can(s, "get", "/metrics") == []
    # a RoleBinding to a Role of another namespace grants nothing: Role "local" does not exist in "other"
    assert effective_permissions(s, Subject("User", "alice")) == perms("team", "", "configmaps", "list")
    assert any("RoleBinding/other/elsewhere" in w for w in RbacIndex(s).warnings)


def test_resource_names_subresources_and_wildcards(tmp_path):
    s = snap(tmp_path, role("ClusterRole", "named", "[{apiGroups: [''], resources: [secrets], resourceNames: [tls], "
                            "verbs: [get, list]}]")
             + role("ClusterRole", "subs", "[{apiGroups: [''], resources: [pods/*, '*/log'], verbs: [get]}, "
                    "{apiGroups: [apps], resources: ['*/scale'], verbs: [update]}]")
             + role("ClusterRole", "all", "[{apiGroups: ['*'], resources: ['*'], verbs: [get]}]")
             + role("ClusterRole", "verbs", "[{apiGroups: [batch], resources: [jobs], verbs: ['*']}]")
             + binding("ClusterRoleBinding", "n", "ClusterRole", "named", "[{kind: User, name: named}]")
             + binding("ClusterRoleBinding", "s", "ClusterRole", "subs", "[{kind: User, name: subs}]")
             + binding("ClusterRoleBinding", "a", "ClusterRole", "all", "[{kind: User, name: all}]")
             + binding("ClusterRoleBinding", "v", "ClusterRole", "verbs", "[{kind: User, name: verbs}]"),
             builtin=False)
    index = RbacIndex(s)
    assert who(index.who_can("get", "secrets")) == {("User:all", CLUSTER)}  # unnamed get: resourceNames miss
    assert who(index.who_can("get", "secrets", name="tls")) == {("User:all", CLUSTER), ("User:named", CLUSTER)}
    assert who(index.who_can("get", "secrets", name="db")) == {("User:all", CLUSTER)}
    assert who(index.who_can("list", "secrets")) == set()
    # `pods/*` is no wildcard to the authorizer; `*/log` and `*` are
    assert who(index.who_can("get", "pods/exec")) == {("User:all", CLUSTER)}
    assert who(index.who_can("get", "pods/log")) == {("User:all", CLUSTER), ("User:subs", CLUSTER)}
    assert who(index.who_can("update", "deployments.apps/scale")) == {("User:subs", CLUSTER)}
    assert who(index.who_can("update", "deployments/scale", api_group="extensions")) == set()
    assert who(index.who_can("delete", "jobs.batch")) == {("User:verbs", CLUSTER)}
    assert who(index.who_can("delete", "jobs")) == {("User:verbs", CLUSTER)}  # batch inferred
    assert who(index.who_can("get", "widgets.example.com")) == {("User:all", CLUSTER)}


def test_implicit_groups_of_service_accounts_users_and_anonymous(tmp_path):
    s = snap(tmp_path, role("ClusterRole", "r", "[{apiGroups: [''], resources: [configmaps], verbs: [get]}]")
             + binding("RoleBinding", "all-sa-in-ns", "ClusterRole", "r",
                       "[{kind: Group, name: 'system:serviceaccounts:team'}]", ns="team")
             + binding("ClusterRoleBinding", "all-sa", "ClusterRole", "r",
                       "[{kind: Group, name: 'system:serviceaccounts'}]")
             + binding("RoleBinding", "as-user", "ClusterRole", "r",
                       "[{kind: User, name: 'system:serviceaccount:team:bot'}]", ns="x")
             + binding("RoleBinding", "authn", "ClusterRole", "r", "[{kind: Group, name: 'system:authenticated'}]",
                       ns="y")
             + binding("RoleBinding", "devs", "ClusterRole", "r", "[{kind: Group, name: devs}]", ns="z"))
    bot = Subject("ServiceAccount", "bot", "team")
    scopes = {p.scope for p in effective_permissions(s, bot) if p.resource == "configmaps"}
    assert scopes == {"team", CLUSTER, "x", "y"}
    other = Subject("ServiceAccount", "bot", "elsewhere")
    assert {p.scope for p in effective_permissions(s, other) if p.resource == "configmaps"} == {CLUSTER, "y"}
    assert {p.scope for p in effective_permissions(s, Subject("User", "alice"), groups=["devs"])
            if p.resource == "configmaps"} == {"y", "z"}
    anonymous = effective_permissions(s, Subject("User", "system:anonymous"))
    assert {p.url for p in anonymous} == {"/healthz", "/livez", "/readyz", "/version", "/version/"}
    assert not any(p.resource for p in anonymous)


def test_builtin_roles_resolve_through_aggregation(tmp_path):
    s = snap(tmp_path, binding("RoleBinding", "e", "ClusterRole", "edit", ALICE, ns="app")
             + binding("RoleBinding", "v", "ClusterRole", "view", "[{kind: User, name: bob}]", ns="app")
             + binding("RoleBinding", "a", "ClusterRole", "admin", "[{kind: User, name: carol}]", ns="app"))
    index = RbacIndex(s)
    assert ("User:alice", "app") in who(index.who_can("create", "pods/exec", namespace="app"))
    assert ("User:bob", "app") not in who(index.who_can("get", "secrets", namespace="app"))
    assert ("User:bob", "app") in who(index.who_can("list", "deployments", namespace="app"))
    carol = effective_permissions(index, Subject("User", "carol"))
    assert perms("app", "rbac.authorization.k8s.io", "roles rolebindings", "create") <= carol  # admin's own
    assert perms("app", "", "pods/exec", "create") | perms("app", "apps", "deployments", "list") <= carol
    assert who(index.who_can("get", "/version")) >= {("Group:system:unauthenticated", CLUSTER)}
    assert ("Group:system:masters", CLUSTER) in who(index.who_can("delete", "nodes"))
    # built-in bindings give no findings: the API server's own defaults are not the user's risks
    assert {f.id for f in analyze(index).findings} == {"LSH-RBAC-GRANT-SECRETS-READ", "LSH-RBAC-GRANT-EXEC",
                                                       "LSH-RBAC-GRANT-CREATE-WORKLOADS",
                                                       "LSH-RBAC-GRANT-IMPERSONATE", "LSH-RBAC-GRANT-TOKEN-CREATE"}
    # admin writes roles and bindings but holds neither escalate nor bind: the API server checks its rights


def test_corpus_service_account_permissions_computed_by_hand():
    """ingress-nginx/ingress-nginx, from ../shared/corpus/rbac/ingress-nginx.yaml: a ClusterRoleBinding and a
    RoleBinding to the Role of its namespace (whose `namespaces` and `ingressclasses` rules cannot take effect)."""
    s = load_snapshot(CORPUS / "ingress-nginx.yaml", builtin=False)
    ns, net = "ingress-nginx", "networking.k8s.io"
    expected = (
        perms(CLUSTER, "", "configmaps endpoints nodes pods secrets namespaces", "list watch")
        | perms(CLUSTER, "coordination.k8s.io", "leases", "list watch") | perms(CLUSTER, "", "nodes", "get")
        | perms(CLUSTER, "", "services", "get list watch") | perms(CLUSTER, net, "ingresses", "get list watch")
        | perms(CLUSTER, "", "events", "create patch") | perms(CLUSTER, net, "ingresses/status", "update")
        | perms(CLUSTER, net, "ingressclasses", "get list watch")
        | perms(CLUSTER, "discovery.k8s.io", "endpointslices", "list watch get")
        | perms(ns, "", "configmaps pods secrets endpoints", "get list watch")
        | perms(ns, "", "services", "get list watch") | perms(ns, net, "ingresses", "get list watch")
        | perms(ns, net, "ingresses/status", "update")
        | perms(ns, "coordination.k8s.io", "leases", "get update", names="ingress-nginx-leader")
        | perms(ns, "coordination.k8s.io", "leases", "create") | perms(ns, "", "events", "create patch")
        | perms(ns, "discovery.k8s.io", "endpointslices", "list watch get")
    )
    assert effective_permissions(s, Subject("ServiceAccount", "ingress-nginx", ns)) == expected
    findings = {(f.id, f.extra["subject"], f.extra["scope"]) for f in analyze(s).findings}
    assert findings == {
        ("LSH-RBAC-GRANT-SECRETS-READ", "ServiceAccount:ingress-nginx/ingress-nginx", CLUSTER),
        ("LSH-RBAC-GRANT-SECRETS-READ", "ServiceAccount:ingress-nginx/ingress-nginx", ns),
        ("LSH-RBAC-GRANT-SECRETS-READ", "ServiceAccount:ingress-nginx/ingress-nginx-admission", ns),
        ("LSH-RBAC-GRANT-WEBHOOK-CONFIG", "ServiceAccount:ingress-nginx/ingress-nginx-admission", CLUSTER),
    }


def test_corpus_flannel_account_with_builtin_groups():
    s = load_snapshot(CORPUS / "flannel.yaml")
    got = effective_permissions(s, Subject("ServiceAccount", "flannel", "kube-flannel"))
    resources = {p for p in got if not p.url}
    assert resources == (perms(CLUSTER, "", "pods", "get") | perms(CLUSTER, "", "nodes", "get list watch")
                         | perms(CLUSTER, "", "nodes/status", "patch")
                         | perms(CLUSTER, "authorization.k8s.io", "selfsubjectaccessreviews selfsubjectrulesreviews",
                                 "create")
                         | perms(CLUSTER, "authentication.k8s.io", "selfsubjectreviews", "create"))
    assert {"/version", "/api/*", "/openid/v1/jwks"} <= {p.url for p in got}
    assert analyze(s).findings == []


def test_corpus_findings_locate_the_binding_subject():
    s = load_snapshot(CORPUS)
    result = analyze(s)
    by_id = {}
    for f in result.findings:
        by_id.setdefault(f.id, []).append(f)
    [finding] = [f for f in by_id["LSH-RBAC-CLUSTER-ADMIN-BINDING"]
                 if f.extra["binding"].endswith("longhorn-support-bundle")]
    lines = Path(finding.location.path).read_text().splitlines()
    assert lines[finding.location.line - 1].strip().startswith("roleRef")
    for f in by_id["LSH-RBAC-GRANT-SECRETS-READ"]:  # the subject's own entry under `subjects:`
        text = Path(f.location.path).read_text().splitlines()[f.location.line - 1]
        assert text.lstrip().startswith("- "), (f.location, text)
    assert all(f.extra["source"] == "rbac-analysis" for f in result.findings)
    # no duplicate (id, location, subject)
    keys = [(f.id, f.location, f.extra.get("subject", f.extra.get("subjects"))) for f in result.findings]
    assert len(keys) == len(set(keys))


def _kubiscan_roles():
    data = yaml.safe_load((CORPUS / "kubiscan-risky_roles.yaml").read_text())
    return [(item["metadata"]["name"], item["metadata"]["priority"],
             [PolicyRule.parse(r) for r in item["rules"]]) for item in data["items"]]


def test_kubiscan_labelled_risky_roles_recall():
    """Every KubiScan CRITICAL/HIGH pattern is a risk here (judged as if bound cluster-wide); LOW is reported."""
    roles = _kubiscan_roles()
    assert len(roles) == 41
    missed = {}
    for name, priority, rules in roles:
        if not rule_risks(rules, cluster=True):
            missed.setdefault(priority, []).append(name)
    by_priority = {p: sum(1 for _, q, _ in roles if q == p) for p in ("CRITICAL", "HIGH", "LOW")}
    recall = {p: 1 - len(missed.get(p, [])) / n for p, n in by_priority.items() if n}
    print(f"KubiScan recall by priority: {recall}; missed: {missed}")
    assert recall["CRITICAL"] == 1.0 and recall["HIGH"] == 1.0
    assert missed.get("LOW") == ["risky-add-rolebinding"]  # get/patch rolebindings: the API checks bind rights
    # each pattern lands on the risk that names it
    for name, _priority, rules in roles:
        from lashing.analyzers.cluster.rbac import load_risks

        named = {r.id for r in load_risks() if name in r.kubiscan}
        if named:
            assert named & set(rule_risks(rules)), name


def test_kubiscan_patterns_as_a_second_opinion_on_corpus_roles():
    """Roles of the 10 projects flagged by KubiScan's patterns (a role holding every rule of a pattern) against
    ours: agreement must be high, and every role KubiScan flags must be flagged here."""
    patterns = [(name, rules) for name, priority, rules in _kubiscan_roles() if priority in ("CRITICAL", "HIGH")]

    def kubiscan_flags(rules: tuple[PolicyRule, ...]) -> bool:
        def covered(want: PolicyRule) -> bool:
            return any(any(r.allows(v, "", res.split("/")[0], res.partition("/")[2]) or
                           r.allows(v, "apps", res.split("/")[0], res.partition("/")[2]) or
                           r.allows(v, "batch", res, "") or r.allows(v, "rbac.authorization.k8s.io", res, "")
                           for r in rules) for v in want.verbs for res in want.resources)

        return any(all(covered(w) for w in want) for _, want in patterns)

    s = load_snapshot(CORPUS, builtin=False)
    index = RbacIndex(s)
    ours, theirs = set(), set()
    for obj in s.of_kind("ClusterRole", "Role"):
        if obj.location.path.endswith("kubiscan-risky_roles.yaml"):
            continue
        rules = index.role_rules(Ref(obj.kind, obj.name, obj.namespace))
        if rule_risks(rules):
            ours.add(obj.ref)
        if kubiscan_flags(rules):
            theirs.add(obj.ref)
    total = len(s.of_kind("ClusterRole", "Role"))
    print(f"corpus roles {total}: flagged by both {len(ours & theirs)}, only KubiScan {len(theirs - ours)}, "
          f"only lashing {len(ours - theirs)}")
    assert theirs - ours == set()
    assert len(ours & theirs) >= 0.8 * len(ours)


def test_malformed_rbac_objects_are_warnings(tmp_path):
    s = snap(tmp_path, role("ClusterRole", "r", "[1, {verbs: get, resources: {a: b}}, {verbs: [get], apiGroups: [''],"
                            " resources: [pods]}]")
             + "---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {name: x}\n"
               "roleRef: nonsense\nsubjects: 7\n"
             + binding("ClusterRoleBinding", "y", "Role", "r", ALICE)
             + binding("ClusterRoleBinding", "z", "ClusterRole", "r", "[7, {kind: Robot, name: r2}, {kind: User}, "
                       "{kind: ServiceAccount, name: sa}, {kind: User, name: ok}]")
             + role("ClusterRole", "agg", "oops", extra="aggregationRule: {clusterRoleSelectors: [{matchExpressions: "
                    "[{key: a, operator: Bogus}]}, 5]}\n"), builtin=False)
    index = RbacIndex(s)
    assert who(index.who_can("get", "pods")) == {("User:ok", CLUSTER)}
    assert len(index.warnings) >= 6
    analyze(index)


def test_who_can_cli_json(tmp_path):
    (tmp_path / "rbac.yaml").write_text(
        role("Role", "exec", "[{apiGroups: [''], resources: [pods/exec], verbs: [create]}]", ns="prod")
        + binding("RoleBinding", "oncall-exec", "Role", "exec", "[{kind: Group, name: oncall}]", ns="prod"))
    result = CliRunner().invoke(app, ["who-can", "create", "pods/exec", "-n", "prod", "--snapshot",
                                      str(tmp_path), "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    subjects = {(g["subject"]["kind"], g["subject"]["name"], g["scope"], g["binding"]) for g in data["grants"]}
    assert subjects == {("Group", "oncall", "prod", "RoleBinding/prod/oncall-exec"),
                        ("Group", "system:masters", "cluster", "ClusterRoleBinding/cluster-admin")}
    oncall = next(g for g in data["grants"] if g["subject"]["name"] == "oncall")
    assert oncall["role"] == "Role/prod/exec" and oncall["rules"] == [
        {"verbs": ["create"], "apiGroups": [""], "resources": ["pods/exec"]}]
    assert oncall["location"] == f"{tmp_path / 'rbac.yaml'}:11"  # the subjects line
    table = CliRunner().invoke(app, ["who-can", "create", "pods/exec", "-n", "other", "--snapshot", str(tmp_path)])
    assert table.exit_code == 0 and "oncall" not in table.stdout and "system:masters" in table.stdout
    perms_out = CliRunner().invoke(app, ["permissions", "Group:oncall", "--snapshot", str(tmp_path), "-f", "json"])
    assert json.loads(perms_out.stdout)["grants"][0]["binding"] == "RoleBinding/prod/oncall-exec"
    report = CliRunner().invoke(app, ["rbac", "--snapshot", str(tmp_path), "--format", "json"])
    assert report.exit_code == 0
    assert [f["id"] for f in json.loads(report.stdout)["findings"]] == ["LSH-RBAC-GRANT-EXEC"]


@pytest.mark.parametrize("text", ["ServiceAccount:ns/name", "sa:ns:name", "system:serviceaccount:ns:name"])
def test_subject_parse(text):
    assert Subject.parse(text) == Subject("ServiceAccount", "name", "ns")
