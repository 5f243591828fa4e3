"""Config scanning behaviour: inheritance, locations, Compose, docker run, control plane, suppression, bad input."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import typer
from typer.testing import CliRunner

from lashing.analyzers.config import scan_content, scan_paths
from lashing.analyzers.config.kubernetes import WORKLOAD_KINDS, iter_objects
from lashing.analyzers.config.yamldoc import load_documents
from lashing.cli.config import config, rules

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"

POD_LEVEL = b"""apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  template:
    spec:
      securityContext:
        runAsNonRoot: true
        runAsUser: 20000
        seccompProfile: {type: RuntimeDefault}
      initContainers:
      - name: init
        image: busybox:1.36
        securityContext: {runAsUser: 0}
      containers:
      - name: app
        image: nginx:1.25
        securityContext:
          privileged: true
"""


def _by_rule(findings):
    out: dict[str, list] = {}
    for f in findings:
        out.setdefault(f.id, []).append(f)
    return out


def test_pod_security_context_is_inherited_and_overridden():
    found = _by_rule(scan_content("deploy.yaml", POD_LEVEL).findings)
    assert "LSH-K8S-SECCOMP" not in found  # inherited from the pod
    assert [f.extra["container"] for f in found["LSH-K8S-RUN-AS-UID-0"]] == ["init"]
    assert [f.extra["container"] for f in found.get("LSH-K8S-RUN-AS-ROOT", [])] == []
    privileged = found["LSH-K8S-PRIVILEGED"]
    assert len(privileged) == 1 and privileged[0].extra["container"] == "app"
    assert privileged[0].location.line == 19  # the `privileged: true` line
    assert privileged[0].extra["resource"] == "Deployment/shop/web"
    assert found["LSH-K8S-RUN-AS-UID-0"][0].location.line == 14


def test_inherited_field_points_at_pod_line_and_cronjob_template():
    text = b"""apiVersion: batch/v1
kind: CronJob
metadata: {name: c, namespace: ops}
spec:
  jobTemplate:
    spec:
      template:
        spec:
          hostPID: true
          securityContext: {runAsUser: 0}
          containers: [{name: x, image: alpine:3}]
"""
    found = _by_rule(scan_content("cron.yaml", text).findings)
    assert found["LSH-K8S-HOST-PID"][0].location.line == 9
    assert found["LSH-K8S-RUN-AS-UID-0"][0].location.line == 10


def test_list_kind_and_multi_document_and_json():
    text = b"""apiVersion: v1
kind: List
items:
- {apiVersion: v1, kind: Pod, metadata: {name: a}, spec: {hostIPC: true, containers: [{name: c, image: x:1}]}}
---
apiVersion: v1
kind: Pod
metadata: {name: b}
spec: {hostNetwork: true, containers: [{name: c, image: x:1}]}
"""
    found = _by_rule(scan_content("list.yaml", text).findings)
    assert found["LSH-K8S-HOST-IPC"][0].location.line == 4
    assert found["LSH-K8S-HOST-NETWORK"][0].location.line == 9
    doc = json.dumps({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "j"},
                      "spec": {"hostPID": True, "containers": [{"name": "c", "image": "x:1"}]}}, indent=1)
    assert "LSH-K8S-HOST-PID" in _by_rule(scan_content("pod.json", doc.encode()).findings)


def test_compose_services_are_normalized():
    text = b"""services:
  web:
    image: nginx:1.25
    user: "1000"
    read_only: true
    cap_drop: [ALL]
    security_opt: ["no-new-privileges:true"]
    deploy: {resources: {limits: {cpus: "0.5", memory: 128M}}}
  agent:
    image: agent
    privileged: true
    network_mode: host
    pid: host
    cap_add: [cap_sys_admin]
    volumes:
    - /var/run/docker.sock:/var/run/docker.sock
    - ./data:/data
    security_opt: [seccomp=unconfined]
    environment:
      API_TOKEN: "ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789"
"""
    found = _by_rule(scan_content("compose.yaml", text).findings)
    web = {f.id for f in scan_content("compose.yaml", text).findings if f.extra["resource"] == "compose:web"}
    # hardened service: only the low-severity hygiene rules remain (UID 1000, no group, tag without digest);
    # probes, pull policy and service-account rules are Kubernetes-only, Docker's default seccomp counts
    assert web == {"LSH-K8S-LOW-UID", "LSH-K8S-LOW-GID", "LSH-K8S-IMAGE-NO-DIGEST"}
    for rule, line in [("LSH-K8S-PRIVILEGED", 11), ("LSH-K8S-HOST-NETWORK", 12), ("LSH-K8S-HOST-PID", 13),
                       ("LSH-K8S-CAP-SYS-ADMIN", 14), ("LSH-K8S-RUNTIME-SOCKET", 15),
                       ("LSH-K8S-SECCOMP-UNCONFINED", 18), ("LSH-K8S-SECRET-ENV", 19), ("LSH-K8S-IMAGE-LATEST", 10)]:
        assert found[rule][0].location.line == line, rule
        assert found[rule][0].extra["resource"] == "compose:agent"


def test_docker_run_lines_in_scripts_and_ci_yaml():
    script = b"""#!/bin/sh
set -e
docker run --rm \\
  --privileged \\
  -v /:/host \\
  --pid=host --cap-add NET_ADMIN \\
  alpine:3.19 sh -c 'echo hi' && echo done
podman run -u 1000 --read-only --cap-drop=ALL --security-opt no-new-privileges -m 64m --cpus 1 app:1.0
echo "docker is not run here"
"""
    result = scan_content("run.sh", script)
    found = _by_rule(result.findings)
    assert result.targets == 2
    assert found["LSH-K8S-PRIVILEGED"][0].location.line == 4
    assert found["LSH-K8S-HOSTPATH-SENSITIVE"][0].location.line == 5
    assert found["LSH-K8S-HOST-PID"][0].location.line == 6
    assert found["LSH-K8S-CAP-DANGEROUS"][0].location.line == 6
    assert {f.extra["resource"].split(" (")[0] for f in result.findings} == {"docker run", "podman run"}
    ci = b"""jobs:
  build:
    steps:
      - run: docker run --network host -e DB_PASSWORD=Sup3rS3cretV4lue! myorg/app:2
"""
    found = _by_rule(scan_content(".github/workflows/ci.yml", ci).findings)
    assert found["LSH-K8S-HOST-NETWORK"][0].location.line == 4
    assert "LSH-K8S-SECRET-ENV" in found


def test_control_plane_static_pod_systemd_unit_and_configs():
    with zipfile.ZipFile(CORPUS / "control-plane" / "kubernetes-the-hard-way.zip") as archive:
        names = {n.rsplit("/", 1)[-1]: n for n in archive.namelist()}
        etcd = _by_rule(scan_content("etcd.service", archive.read(names["etcd.service"])).findings)
        api = _by_rule(scan_content("kube-apiserver.service", archive.read(names["kube-apiserver.service"])).findings)
        kubelet = _by_rule(scan_content("kubelet-config.yaml", archive.read(names["kubelet-config.yaml"])).findings)
        enc = _by_rule(scan_content("encryption-config.yaml", archive.read(names["encryption-config.yaml"])).findings)
    # what the corpus README says the files plainly show
    assert "LSH-ETCD-CLIENT-CERT-AUTH" in etcd and "LSH-ETCD-TLS" in etcd
    assert "LSH-APISERVER-ANONYMOUS-AUTH" in api and "LSH-APISERVER-PROFILING" in api
    assert "LSH-APISERVER-AUTHZ-ALWAYS-ALLOW" not in api
    assert "LSH-KUBELET-ANONYMOUS-AUTH" not in kubelet and "LSH-KUBELET-AUTHZ-ALWAYS-ALLOW" not in kubelet
    assert "LSH-ENCRYPTION-AESCBC" in enc and "LSH-ENCRYPTION-IDENTITY-FIRST" not in enc
    assert all(f.location.line and f.location.line > 1 for fs in api.values() for f in fs)


def test_empty_and_valueless_flags_count_as_unset():
    from lashing.analyzers.config.controlplane import parse_flags

    assert parse_flags(["kube-apiserver", "--tls-cert-file", "--tls-private-key-file=", "--profiling",
                        "--audit-log-path", "/var/log/audit.log", "--authorization-mode= "]) == {
        "profiling": "true", "audit-log-path": "/var/log/audit.log"}
    pod = b"""apiVersion: v1
kind: Pod
metadata: {name: kube-apiserver, namespace: kube-system}
spec:
  containers:
  - name: kube-apiserver
    image: registry.k8s.io/kube-apiserver:v1.29.4
    command: [kube-apiserver, --tls-cert-file, --tls-private-key-file=, --authorization-mode=]
"""
    found = _by_rule(scan_content("kube-apiserver.yaml", pod).findings)
    assert "LSH-APISERVER-TLS-CERT" in found and "LSH-APISERVER-AUTHZ-ALWAYS-ALLOW" in found


def test_a_client_on_a_component_image_is_not_the_component():
    """canal's configure job runs `etcdctl` from the etcd image (found in the corpus): no etcd server rules;
    the same image given only flags runs etcd itself."""
    job = b"""apiVersion: batch/v1
kind: Job
metadata: {name: configure, namespace: kube-system}
spec:
  template:
    spec:
      containers:
      - name: configure
        image: quay.io/coreos/etcd:v3.5.1
        command: [etcdctl, --no-sync, set, /coreos.com/network/config, "{}"]
"""
    assert not [f for f in scan_content("job.yaml", job).findings if f.id.startswith("LSH-ETCD-")]
    server = job.replace(b"command: [etcdctl, --no-sync, set, /coreos.com/network/config, \"{}\"]",
                         b"args: [--listen-client-urls=http://0.0.0.0:2379]")
    assert "LSH-ETCD-TLS" in {f.id for f in scan_content("server.yaml", server).findings}


def test_kubelet_configuration_file_defaults_and_lines():
    text = b"""apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
authentication:
  anonymous:
    enabled: true
readOnlyPort: 10255
"""
    found = _by_rule(scan_content("kubelet.yaml", text).findings)
    assert found["LSH-KUBELET-ANONYMOUS-AUTH"][0].location.line == 5
    assert found["LSH-KUBELET-READ-ONLY-PORT"][0].location.line == 6
    assert "LSH-KUBELET-AUTHZ-ALWAYS-ALLOW" not in found  # v1beta1 default is Webhook


def test_inline_comment_and_annotation_suppressions():
    text = b"""apiVersion: v1
kind: Pod
metadata:
  name: p
  namespace: app
  annotations:
    lashing.dev/ignore: "LSH-K8S-HOST-PID, CKV_K8S_19 : node agent"
spec:
  hostPID: true
  hostNetwork: true
  # lashing:ignore LSH-K8S-HOST-IPC shared memory with the sidecar
  hostIPC: true
  containers:
  - name: c
    image: nginx:1.25
    securityContext:
      privileged: true  # lashing:ignore LSH-K8S-PRIVILEGED device plugin
      allowPrivilegeEscalation: true
"""
    result = scan_content("pod.yaml", text)
    ids = {f.id for f in result.findings}
    assert not ids & {"LSH-K8S-HOST-PID", "LSH-K8S-HOST-NETWORK", "LSH-K8S-HOST-IPC", "LSH-K8S-PRIVILEGED"}
    assert "LSH-K8S-PRIV-ESCALATION" in ids  # not suppressed
    assert result.suppressed == 4


def test_malformed_yaml_warns_with_line_and_keeps_earlier_documents(tmp_path):
    (tmp_path / "bad.yaml").write_text("apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec:\n  hostPID: true\n"
                                       "  containers: [{name: c, image: x:1}]\n---\nkey: [unclosed\n")
    (tmp_path / "worse.yaml").write_text("a: b: c\n")
    result = scan_paths([tmp_path])
    assert result.files_scanned == 2 and result.files_failed == 1
    assert any(w.startswith(f"{tmp_path / 'bad.yaml'}:") for w in result.warnings)
    assert any("worse.yaml:1" in w for w in result.warnings)
    assert "LSH-K8S-HOST-PID" in {f.id for f in result.findings}


def test_odd_kinds_are_not_objects():
    """Found by mutating the peers' cases: `kind` given as a list or a map crashed the whole scan."""
    for kind in ("[Pod, Deployment]", "{a: 1}", "12", "null"):
        text = f"apiVersion: v1\nkind: {kind}\nmetadata: {{name: a}}\nspec: {{hostPID: true}}\n"
        result = scan_content("odd.yaml", text.encode())
        assert result.findings == [] and result.warnings == []
    listed = b"apiVersion: v1\nkind: List\nitems:\n- {kind: [Pod], apiVersion: v1}\n"
    assert scan_content("list.yaml", listed).findings == []


def test_an_analyzer_bug_costs_one_file_not_the_scan(tmp_path, monkeypatch):
    from lashing.analyzers.config import scan as scan_module

    (tmp_path / "a.yaml").write_text("apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec: {hostPID: true}\n")
    (tmp_path / "b.yaml").write_text("apiVersion: v1\nkind: Pod\nmetadata: {name: b}\nspec: {hostPID: true}\n")
    real = scan_module.scan_content

    def flaky(name, content, settings=None, keep_hits=False):
        if name.endswith("b.yaml"):
            raise KeyError("simulated parser bug")
        return real(name, content, settings, keep_hits)

    monkeypatch.setattr(scan_module, "scan_content", flaky)
    result = scan_paths([tmp_path], workers=1)
    assert result.files_failed == 1 and {f.location.path for f in result.findings} == {str(tmp_path / "a.yaml")}
    assert any("b.yaml: could not be analysed (KeyError)" in w for w in result.warnings)


def test_alias_bomb_is_bounded():
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 10)}]\n" for i in range(9))
    bomb = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: bomb}\ndata:\n" + "".join(
        "  " + line + "\n" for line in bomb.splitlines())
    result = scan_content("bomb.yaml", bomb.encode())
    assert result.warnings and "too many nodes" in result.warnings[0]
    recursive = scan_content("loop.yaml", b"a: &a [*a]\n")
    assert recursive.warnings or recursive.targets == 0


def test_walk_skips_vendor_and_symlinks(tmp_path):
    pod = (b"apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n"
           b"spec: {hostPID: true, containers: [{name: c, image: x:1}]}\n")
    (tmp_path / "node_modules").mkdir()
    (tmp_path / "node_modules" / "p.yaml").write_bytes(pod)
    outside = tmp_path.parent / f"{tmp_path.name}-outside"
    outside.mkdir()
    (outside / "p.yaml").write_bytes(pod)
    (tmp_path / "link").symlink_to(outside, target_is_directory=True)
    (tmp_path / "linked.yaml").symlink_to(outside / "p.yaml")
    (tmp_path / "real.yaml").write_bytes(pod)
    result = scan_paths([tmp_path])
    assert result.files_scanned == 1
    assert {f.location.path for f in result.findings} == {str(tmp_path / "real.yaml")}


def test_every_corpus_workload_is_parsed_with_valid_locations():
    workloads = findings = 0
    for archive_path in sorted((CORPUS / "k8s-manifests").glob("*.zip")):
        with zipfile.ZipFile(archive_path) as archive:
            for name in archive.namelist():
                if not name.endswith((".yaml", ".yml", ".json")):
                    continue
                content = archive.read(name)
                expected = 0
                for doc in load_documents(content):
                    expected += sum(1 for obj, _ in iter_objects(doc) if obj.get("kind") in WORKLOAD_KINDS)
                result = scan_content(name, content)
                assert result.targets >= expected, name
                lines = content.count(b"\n") + 1
                for finding in result.findings:
                    assert finding.location.path == name
                    assert 1 <= finding.location.line <= lines, (name, finding.id, finding.location)
                    assert finding.location.line <= (finding.location.end_line or finding.location.line) <= lines
                workloads += expected
                findings += len(result.findings)
    assert workloads >= 1000 and findings > workloads


def _app() -> typer.Typer:
    app = typer.Typer()
    app.command("config")(config)
    app.add_typer(rules, name="rules")
    return app


def test_cli_json_severity_and_exit_code(tmp_path):
    (tmp_path / "pod.yaml").write_bytes(POD_LEVEL)
    runner = CliRunner()
    result = runner.invoke(_app(), ["config", str(tmp_path), "--format", "json", "--severity", "HIGH",
                                    "--exit-code", "5"])
    assert result.exit_code == 5, result.output
    report = json.loads(result.stdout)
    ids = {f["id"] for f in report["findings"]}
    assert ids == {"LSH-K8S-PRIVILEGED", "LSH-K8S-RUN-AS-UID-0"}
    assert report["artifact"]["kind"] == "config"
    clean = runner.invoke(_app(), ["config", str(tmp_path), "--severity", "CRITICAL", "--exit-code", "5"])
    assert clean.exit_code == 0


def test_cli_rules_list_and_show():
    runner = CliRunner()
    listed = runner.invoke(_app(), ["rules", "list", "--format", "json"])
    assert listed.exit_code == 0
    ids = {r["id"] for r in json.loads(listed.stdout)}
    assert {"LSH-K8S-PRIVILEGED", "LSH-RBAC-WILDCARD", "LSH-KUBELET-READ-ONLY-PORT"} <= ids
    shown = runner.invoke(_app(), ["rules", "show", "CKV_K8S_16"])
    assert shown.exit_code == 0 and "LSH-K8S-PRIVILEGED" in shown.stdout and "KSV-0017" in shown.stdout
    missing = runner.invoke(_app(), ["rules", "show", "NOPE-1"])
    assert missing.exit_code != 0


def test_deeply_nested_yaml_is_a_warning_not_a_crash(tmp_path):
    """libyaml recurses on the C stack: 100,000 nested brackets crashed the process (SIGSEGV), and a crashed
    scan worker would leave the pool waiting. Such text now goes to the pure-Python loader: a warning."""
    import os
    import subprocess
    import sys

    from lashing.analyzers.config.scan import PARALLEL_MIN_FILES

    for i in range(PARALLEL_MIN_FILES):  # enough files for the forked workers
        (tmp_path / f"pod{i}.yaml").write_bytes(POD_LEVEL)
    (tmp_path / "deep.yaml").write_bytes(b"a: " + b"[" * 100_000)
    (tmp_path / "deep-block.yaml").write_text("a:\n" + "".join(" " * i + "b:\n" for i in range(1, 3000)))
    env = {**os.environ, "LASHING_CACHE_DIR": str(tmp_path / "cache")}
    done = subprocess.run([sys.executable, "-m", "lashing", "config", str(tmp_path), "--format", "json"],
                          capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    warnings = json.loads(done.stdout)["warnings"]
    assert any("deep.yaml" in w and "nests too deeply" in w for w in warnings)
    assert any("deep-block.yaml" in w and "nests too deeply" in w for w in warnings)
    lockfile = subprocess.run(
        [sys.executable, "-c", "from lashing.analyzers.lockfiles._base import load_yaml_lines as f; "
         "print(f('a: ' + '[' * 100000, 5)[2])"], capture_output=True, text=True, timeout=120)
    assert lockfile.returncode == 0 and "invalid YAML" in lockfile.stdout, lockfile.stderr[-2000:]
