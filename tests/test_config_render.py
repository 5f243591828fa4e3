"""Helm charts and Kustomize directories: rendered by the real tools, then scanned."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from lashing.analyzers.config import render, scan_paths
from lashing.analyzers.config.render import RenderError, RenderOptions, Unit, helm, run_tool
from lashing.analyzers.config.scan import iter_files
from lashing.cli.config import config, rules

BASE = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: app
spec:
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: nginx:1.25
"""
HARDEN = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: app
spec:
  template:
    spec:
      containers:
      - name: web
        securityContext:
          allowPrivilegeEscalation: false
          readOnlyRootFilesystem: true
"""


def _kustomize_tree(root: Path) -> tuple[Path, Path]:
    base, overlay = root / "base", root / "overlays" / "prod"
    base.mkdir(parents=True)
    overlay.mkdir(parents=True)
    (base / "deployment.yaml").write_text(BASE)
    (base / "kustomization.yaml").write_text("resources:\n- deployment.yaml\n")
    (overlay / "kustomization.yaml").write_text("resources:\n- ../../base\nnamePrefix: prod-\npatches:\n"
                                                "- path: harden.yaml\n")
    (overlay / "harden.yaml").write_text(HARDEN)
    return base, overlay


def _ids(result, resource: str | None = None) -> set[str]:
    return {f.id for f in result.findings if resource is None or f.extra.get("resource") == resource}


def test_kubectl_or_kustomize_is_installed():
    assert shutil.which("kustomize") or shutil.which("kubectl")


def test_kustomize_overlay_patch_changes_findings(tmp_path):
    base, overlay = _kustomize_tree(tmp_path)
    base_result = scan_paths([base])
    overlay_result = scan_paths([overlay])
    assert not base_result.warnings and not overlay_result.warnings
    assert {"LSH-K8S-PRIV-ESCALATION", "LSH-K8S-WRITABLE-ROOTFS", "LSH-K8S-RUN-AS-ROOT"} <= _ids(base_result)
    prod = _ids(overlay_result, "Deployment/app/prod-web")  # namePrefix applied: this is the rendered object
    assert "LSH-K8S-RUN-AS-ROOT" in prod
    assert not prod & {"LSH-K8S-PRIV-ESCALATION", "LSH-K8S-WRITABLE-ROOTFS"}
    # traced back to the base file that declares the Deployment, at the container's line there
    finding = next(f for f in overlay_result.findings if f.id == "LSH-K8S-RUN-AS-ROOT")
    assert finding.location.path.endswith("base/deployment.yaml")
    assert finding.location.line == BASE.splitlines().index("      - name: web") + 1
    assert finding.extra["rendered_from"] == f"kustomize:{overlay}"
    # the overlay's patch file is not scanned raw (it would report a container without an image)
    assert all("harden" not in f.location.path for f in overlay_result.findings)


def test_kustomize_tree_scans_both_units_and_cli(tmp_path):
    _kustomize_tree(tmp_path)
    units: list[Unit] = []
    assert list(iter_files(tmp_path, units)) == [] and {u.kind for u in units} == {"kustomize"}
    app = typer.Typer()
    app.command("config")(config)
    app.add_typer(rules, name="rules")  # two commands: "config" stays a subcommand
    out = CliRunner().invoke(app, ["config", str(tmp_path), "--format", "json"])
    assert out.exit_code == 0, out.output
    resources = {(f["id"], f["extra"]["resource"]) for f in json.loads(out.stdout)["findings"]}
    assert ("LSH-K8S-PRIV-ESCALATION", "Deployment/app/web") in resources
    assert ("LSH-K8S-PRIV-ESCALATION", "Deployment/app/prod-web") not in resources


def test_failed_render_is_one_warning_and_the_scan_goes_on(tmp_path):
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "kustomization.yaml").write_text("resources:\n- missing.yaml\n")
    (tmp_path / "pod.yaml").write_text(BASE)
    result = scan_paths([tmp_path])
    assert len(result.warnings) == 1
    assert str(broken) in result.warnings[0] and "kustomize render failed" in result.warnings[0]
    assert "LSH-K8S-PRIV-ESCALATION" in _ids(result, "Deployment/app/web")


def test_kustomize_remote_base_does_not_reach_the_network(tmp_path):
    (tmp_path / "kustomization.yaml").write_text(
        "resources:\n- https://example.invalid/deploy.yaml\n- github.com/example/repo//base?ref=v1\n")
    result = scan_paths([tmp_path])
    assert len(result.warnings) == 1 and "render failed" in result.warnings[0]


CHART = {
    "Chart.yaml": "apiVersion: v2\nname: demo\nversion: 0.1.0\n",
    "values.yaml": "sidecar:\n  enabled: false\nimage:\n  tag: '1.25'\n",
    "templates/deployment.yaml": """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}-demo
spec:
  selector:
    matchLabels: {app: demo}
  template:
    metadata:
      labels: {app: demo}
    spec:
      containers:
      - name: app
        image: "nginx:{{ .Values.image.tag }}"
      {{- if .Values.sidecar.enabled }}
      - name: sidecar
        image: busybox:1.36
        securityContext:
          privileged: true
      {{- end }}
""",
}


def _chart(root: Path) -> Path:
    chart = root / "demo"
    for name, text in CHART.items():
        (chart / name).parent.mkdir(parents=True, exist_ok=True)
        (chart / name).write_text(text)
    return chart


def _privileged(result) -> set[str]:
    return {f.extra["container"] for f in result.findings if f.id == "LSH-K8S-PRIVILEGED"}


def test_helm_values_change_the_findings(tmp_path):
    """Rendered by Helm's engine (helm binary if installed, else helm-python-sdk): values decide the sidecar."""
    chart = _chart(tmp_path)
    assert shutil.which("helm") or helm.sdk_available()
    default = scan_paths([chart])
    assert not default.warnings and _privileged(default) == set()
    assert "LSH-K8S-RUN-AS-ROOT" in _ids(default, "Deployment/lashing-demo")
    values = tmp_path / "sidecar.yaml"
    values.write_text("sidecar:\n  enabled: true\n")
    enabled = scan_paths([chart], render_options=RenderOptions(helm_values=(values,)))
    assert _privileged(enabled) == {"sidecar"}
    finding = next(f for f in enabled.findings if f.id == "LSH-K8S-PRIVILEGED")
    assert finding.location.path == str(chart / "templates/deployment.yaml")  # the template, not a temp file
    assert finding.extra["rendered_from"] == f"helm:{chart}" and finding.extra["rendered_line"]
    # --set is applied after values files, as helm does
    unset = scan_paths([chart], render_options=RenderOptions((values,), ("sidecar.enabled=false",)))
    assert _privileged(unset) == set()
    # the image tag flows through --set too; the raw template (not YAML) was never scanned on its own
    app = typer.Typer()
    app.command("config")(config)
    app.add_typer(rules, name="rules")
    out = CliRunner().invoke(app, ["config", str(tmp_path), "--set", "sidecar.enabled=true", "--format", "json"])
    assert out.exit_code == 0, out.output
    report = json.loads(out.stdout)
    assert report["warnings"] == []
    assert {f["extra"]["container"] for f in report["findings"] if f["id"] == "LSH-K8S-PRIVILEGED"} == {"sidecar"}


def test_broken_chart_and_escaping_symlink_are_warnings(tmp_path):
    chart = _chart(tmp_path / "a")
    (chart / "templates/broken.yaml").write_text("{{ .Values.nope.deeper }}\n")
    evil = _chart(tmp_path / "b")
    (evil / "templates/leak.yaml").symlink_to("/etc/hostname")
    (tmp_path / "pod.yaml").write_text(BASE)
    result = scan_paths([tmp_path])
    assert len(result.warnings) == 2
    assert any(str(chart) in w and "helm render failed" in w and "nil pointer" in w for w in result.warnings)
    assert any(str(evil) in w and "leads outside the chart" in w for w in result.warnings)
    assert "LSH-K8S-PRIV-ESCALATION" in _ids(result, "Deployment/app/web")


def test_chart_without_any_helm_is_a_warning_and_templates_are_not_scanned_raw(tmp_path, monkeypatch):
    chart = _chart(tmp_path)
    monkeypatch.setattr(helm, "which", lambda name: None)
    monkeypatch.setattr(helm, "sdk_available", lambda: False)
    result = scan_paths([tmp_path])
    assert result.findings == [] and result.files_scanned == 0
    assert len(result.warnings) == 1 and result.warnings[0].startswith(f"{chart}: helm render failed, not scanned: "
                                                                       "helm is not installed")


def test_helm_source_comments_locate_findings_at_templates(tmp_path):
    chart = tmp_path / "demo"
    rendered = ("---\n# Source: demo/templates/sa.yaml\napiVersion: v1\nkind: ServiceAccount\nmetadata:\n"
                "  name: x\n---\n# Source: demo/charts/sub/templates/pod.yaml\napiVersion: v1\nkind: Pod\n"
                "metadata:\n  name: p\n---\n# Source: ../../etc/passwd\nkind: Pod\n")
    pieces = helm.split(chart, rendered)
    assert [p.path for p in pieces] == [str(chart / "templates/sa.yaml"), str(chart / "charts/sub/templates/pod.yaml"),
                                        str(chart / "Chart.yaml")]
    assert pieces[1].text.startswith("# Source:") and "kind: Pod" in pieces[1].text


def test_runner_has_a_timeout_and_an_output_bound(tmp_path, monkeypatch):
    with pytest.raises(RenderError, match="longer than"):
        run_tool(["sleep", "5"], cwd=tmp_path, timeout=0.5)
    monkeypatch.setattr(render, "MAX_OUTPUT_BYTES", 10_000)
    with pytest.raises(RenderError, match="exceeds"):
        run_tool(["yes"], cwd=tmp_path, timeout=10)
    with pytest.raises(RenderError, match="boom"):
        run_tool(["sh", "-c", "echo boom >&2; exit 3"], cwd=tmp_path)
    assert run_tool(["sh", "-c", "echo $HOME; echo $HTTPS_PROXY"], cwd=tmp_path).split()[1] == "http://127.0.0.1:9"
    assert Unit("helm", tmp_path).kind == "helm"
