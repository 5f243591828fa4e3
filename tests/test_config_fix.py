"""`--fix`: the unified diff applies with patch(1) and the strategic-merge patch with `kubectl patch --local`;
a rescan shows the fixed findings gone and nothing new."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import typer
import yaml
from typer.testing import CliRunner

from lashing.analyzers.config import scan_paths
from lashing.analyzers.config.fix import FIXABLE, build_fixes, render_patches
from lashing.cli.config import config, rules

MANIFEST = """\
# header comment, kept
apiVersion: v1
kind: Service
metadata: {name: web, namespace: app}  # inline comment, kept
spec:
  ports: [{port: 80}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: app}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      securityContext: {runAsNonRoot: false}
      initContainers:
      - name: init
        image: busybox:1.36
        resources: {requests: {cpu: 2, memory: 1Gi}}
      containers:
      - name: app
        image: nginx:1.25
        securityContext:
          privileged: true
          capabilities: {drop: [NET_RAW]}
      - name: sidecar
        image: envoy:1.30
        securityContext: {seccompProfile: {type: Unconfined}}
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: nightly, namespace: app}
spec:
  schedule: "0 3 * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          containers:
          - {name: job, image: "busybox:1.36", securityContext: {allowPrivilegeEscalation: true}}
"""


def _app() -> typer.Typer:
    app = typer.Typer()
    app.command("config")(config)
    app.add_typer(rules, name="rules")
    return app


def _keys(result) -> set[tuple[str, str, str]]:
    return {(f.id, f.extra.get("resource", ""), f.extra.get("container", "")) for f in result.findings}


def test_diff_applies_with_patch_and_removes_the_findings(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("deploy.yaml").write_text(MANIFEST)
    before = _keys(scan_paths([Path("deploy.yaml")]))
    fixable = {k for k in before if k[0] in FIXABLE}
    assert {k[2] for k in fixable} == {"init", "app", "sidecar", "job"}
    assert ("LSH-K8S-PRIVILEGED", "Deployment/app/web", "app") in fixable
    assert ("LSH-K8S-SECCOMP-UNCONFINED", "Deployment/app/web", "sidecar") in fixable

    out = CliRunner().invoke(_app(), ["config", ".", "--fix", "write"])
    assert out.exit_code == 0, out.output
    assert Path("deploy.yaml.lashing-fix.patch").is_file() and Path("deploy.yaml.lashing-fix.yaml").is_file()
    applied = subprocess.run(["patch", "deploy.yaml", "deploy.yaml.lashing-fix.patch"], capture_output=True,
                             text=True, timeout=30)
    assert applied.returncode == 0, applied.stdout + applied.stderr

    patched = Path("deploy.yaml").read_text()
    assert patched.startswith(MANIFEST[:MANIFEST.index("---")])  # the untouched document keeps its comments
    after = _keys(scan_paths([Path("deploy.yaml")]))
    assert not {k for k in after if k[0] in FIXABLE}
    assert after <= before  # nothing new
    docs = list(yaml.safe_load_all(patched))
    init = docs[1]["spec"]["template"]["spec"]["initContainers"][0]
    assert init["resources"]["limits"] == {"cpu": 2, "memory": "1Gi"}  # limits never below the requests
    app = docs[1]["spec"]["template"]["spec"]["containers"][0]["securityContext"]
    assert app["privileged"] is False and app["capabilities"]["drop"] == ["ALL"]


def test_strategic_merge_patch_applies_with_kubectl(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    kubectl = shutil.which("kubectl")
    assert kubectl
    deployment = MANIFEST.split("---\n")[1]
    Path("web.yaml").write_text(deployment)
    before = scan_paths([Path("web.yaml")])
    fixes = build_fixes(before.findings)
    assert len(fixes) == 1 and fixes[0].resource == "Deployment/app/web"
    assert fixes[0].kubectl == "kubectl patch deployment web -n app --type strategic --patch-file PATCH.yaml"
    patch_text = render_patches(fixes)
    patch = yaml.safe_load(patch_text)
    names = [c["name"] for c in patch["spec"]["template"]["spec"]["containers"]]
    assert names == ["app", "sidecar"] and patch["spec"]["template"]["spec"]["initContainers"][0]["name"] == "init"
    Path("p.yaml").write_text(patch_text)
    done = subprocess.run([kubectl, "patch", "--local", "-f", "web.yaml", "--type", "strategic", "--patch-file",
                           "p.yaml", "-o", "yaml"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    Path("out.yaml").write_text(done.stdout)
    after = scan_paths([Path("out.yaml")])
    assert not [f for f in after.findings if f.id in FIXABLE]
    assert {(f.id, f.extra.get("container")) for f in after.findings} <= {
        (f.id, f.extra.get("container")) for f in before.findings}


def test_fix_print_and_rendered_sources(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    base = tmp_path / "base"
    base.mkdir()
    (base / "deploy.yaml").write_text(MANIFEST)
    (base / "kustomization.yaml").write_text("resources:\n- deploy.yaml\n")
    out = CliRunner().invoke(_app(), ["config", "base", "--fix", "print", "-o", "report.json", "--format", "json"])
    assert out.exit_code == 0, out.output
    assert "--- " not in out.stdout  # rendered by kustomize: no diff against the source, patches only
    patches = [doc for doc in yaml.safe_load_all(out.stdout) if doc]
    assert len(patches) == 2 and "# base/deploy.yaml: CronJob/app/nightly" in out.stdout
    assert Path("report.json").is_file()
    assert (base / "deploy.yaml").read_text() == MANIFEST
    bad = CliRunner().invoke(_app(), ["config", "base", "--fix", "maybe"])
    assert bad.exit_code != 0


def test_rendered_chart_patches_are_written_beside_the_chart(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    chart = tmp_path / "demo"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: demo\nversion: 0.1.0\n")
    (chart / "values.yaml").write_text("privileged: false\n")
    (chart / "templates" / "pod.yaml").write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: {{ .Release.Name }}, namespace: app}\nspec:\n  containers:\n"
        "  - name: c\n    image: nginx:1.25\n    securityContext: {privileged: {{ .Values.privileged }}}\n")
    out = CliRunner().invoke(_app(), ["config", "demo", "--set", "privileged=true", "--fix", "write"])
    assert out.exit_code == 0, out.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demo", "demo.lashing-fix.yaml"]
    assert sorted(p.name for p in (chart / "templates").iterdir()) == ["pod.yaml"]  # nothing added to the chart
    text = (tmp_path / "demo.lashing-fix.yaml").read_text()
    assert text.startswith("# demo/templates/pod.yaml: Pod/app/lashing\n# kubectl patch pod lashing -n app")
    patch = yaml.safe_load(text)
    assert patch["spec"]["containers"][0]["name"] == "c"
    assert patch["spec"]["containers"][0]["securityContext"]["privileged"] is False
