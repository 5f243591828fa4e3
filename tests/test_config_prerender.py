"""`lashing config --format json` filters and encodes findings in the scan workers; the document must be
byte for byte what the plain path writes (scan, sort, apply_policy, then the JSON writer).

The folder holds real manifests from the corpus (more than PARALLEL_MIN_FILES, so forked workers run),
Dockerfiles of the peers' examples, a Helm chart and one file that cannot be parsed; the policy has a severity
filter, an active ignore rule with a path glob and an expired one.
"""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from lashing import __version__
from lashing.analyzers.config import scan_paths
from lashing.analyzers.config.scan import PARALLEL_MIN_FILES
from lashing.cli.common import build_policy
from lashing.cli.config import report_order
from lashing.model import ArtifactInfo, Report
from lashing.policy import apply_policy
from lashing.report.json_report import write_report_stream
from test_config_render import _chart

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"
STAMP = re.compile(r'"generated_at": "[^"]*"')


def _folder(root: Path) -> Path:
    folder = root / "tree"
    copied = 0
    with zipfile.ZipFile(CORPUS / "k8s-manifests" / "kubernetes-examples.zip") as archive:
        for name in sorted(archive.namelist()):
            if name.endswith((".yaml", ".yml")) and archive.getinfo(name).file_size < 50_000:
                target = folder / "k8s" / name
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(archive.read(name))
                copied += 1
    for index, dockerfile in enumerate(sorted((CORPUS / "config-peers").rglob("Dockerfile*"))[:40]):
        if dockerfile.is_file():
            target = folder / "docker" / f"d{index}" / "Dockerfile"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(dockerfile.read_bytes())
    (folder / "broken.yaml").write_text("kind: Pod\nspec: [unclosed\n")
    _chart(folder / "charts")  # rendered by Helm in the parent: the post step runs there too
    assert copied > PARALLEL_MIN_FILES
    return folder


@pytest.mark.parametrize(("severity", "twice", "ignore"),
                         [(None, False, True), ("MEDIUM,HIGH,CRITICAL", False, True), (None, True, True),
                          (None, False, False)])
def test_prerendered_json_equals_the_plain_path(tmp_path: Path, severity: str | None, twice: bool,
                                                ignore: bool) -> None:
    """`twice`: a subfolder named again, so two results report the same files: their findings interleave.
    Without an ignore file (and severity filter) the policy keeps everything and the workers encode the
    rule hits without making findings of them (cli.config._hit_pieces)."""
    folder = _folder(tmp_path)
    paths = [folder, folder / "k8s" / "_archived"] if twice else [folder]
    ignores = tmp_path / "ignore.yaml"
    ignores.write_text(
        "- id: LSH-K8S-CPU-LIMIT\n  path: '**/_archived/volumes/**'\n  reason: archived examples\n"
        "- id: LSH-K8S-IMAGE-LATEST\n  reason: old exception\n  expires: 2020-01-01\n"
        "- id: LSH-DF-*\n  path: '**/d3/**'\n  reason: vendored image\n"
        "- id: LSH-K8S-RUN-AS-ROOT\n  resource: 'Deployment/*'\n  reason: checked by admission\n"
    )
    out = tmp_path / "out.json"
    command = [sys.executable, "-m", "lashing", "config", *map(str, paths), "--format", "json", "-o", str(out),
               "--exit-code", "3"]
    if ignore:
        command += ["--ignorefile", str(ignores)]
    else:
        ignores = None
    if severity:
        command += ["--severity", severity]
    env = {**os.environ, "LASHING_CACHE_DIR": str(tmp_path / "cache")}
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path)

    policy = build_policy(severity, 3, False, ignores, None)
    result = scan_paths(paths)
    warnings = list(result.warnings)
    if result.suppressed:
        warnings.append(f"{result.suppressed} finding(s) suppressed by lashing:ignore comments or annotations")
    report = Report(artifact=ArtifactInfo(name=" ".join(map(str, paths)), kind="config"),
                    findings=tuple(sorted(result.findings, key=report_order)), warnings=tuple(warnings),
                    tool_version=__version__, generated_at="stamp")
    outcome = apply_policy(report, policy)
    expected = io.StringIO()
    write_report_stream(outcome.report, expected)

    assert done.returncode == outcome.exit_code == 3, done.stderr
    written = out.read_text()
    assert STAMP.sub('"generated_at": "-"', written) == STAMP.sub('"generated_at": "-"', expected.getvalue())
    assert len(outcome.report.findings) > 500 and bool(outcome.suppressed and outcome.expired) is ignore
    assert any("broken.yaml" in w for w in outcome.report.warnings)
    assert any("charts/demo" in f.location.path for f in outcome.report.findings)


def test_hit_pieces_are_the_findings_encoded(tmp_path: Path) -> None:
    """Each corpus file's rule hits, encoded straight from the hits, give the keys and text its findings
    give through report_order and finding_json: extras with and without detail, spans cut at the file's
    end, suppression comments, Compose, docker run lines and odd paths."""
    from lashing.analyzers.config.engine import span, to_finding
    from lashing.analyzers.config.scan import scan_content
    from lashing.cli.config import _hit_pieces
    from lashing.report.json_report import SEPARATOR, finding_json

    folder = _folder(tmp_path)
    extra = {
        "odd \"name\" \u00e9.yaml": b"apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec:\n  hostPID: true\n"
                                    b"  containers: [{name: c, image: nginx}]",
        "cut.yaml": b"apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\nspec:\n  containers:\n  - name: c\n"
                    b"    image: nginx  # lashing:ignore LSH-K8S-IMAGE-LATEST\n"
                    b"    securityContext: {privileged: true}\n",
        "compose.yaml": b"services:\n  web:\n    image: nginx\n    privileged: true\n    network_mode: host\n",
        "deploy.sh": b"docker run --privileged -v /:/host --pid=host nginx\npodman run --cap-add=ALL alpine\n",
    }
    files = [(str(path), path.read_bytes()) for path in sorted(folder.rglob("*.y*ml"))]
    files += [(str(tmp_path / name), content) for name, content in extra.items()]
    compared = details = clamped = 0
    for name, content in files:
        plain = scan_content(name, content)
        pending = scan_content(name, content, keep_hits=True)
        assert pending.findings == [] and len(pending.hits) == len(plain.findings)
        expected = [(report_order(f), SEPARATOR + finding_json(f)) for f in plain.findings]
        assert _hit_pieces(pending.hits, pending.line_count) == expected, name
        compared += len(expected)
        details += sum("detail" in f.extra for f in plain.findings)
        # spans cut at a (pretended) shorter file end, as to_finding cuts them
        cut = [(report_order(f), SEPARATOR + finding_json(f)) for f in (to_finding(h, 3) for h in pending.hits)]
        assert _hit_pieces(pending.hits, 3) == cut
        clamped += sum(span(h, 3) != span(h) for h in pending.hits)
    assert compared > 1000 and details > 0 and clamped > 100
