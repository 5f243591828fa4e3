"""Helm charts and Kustomize directories: render them with the real tool, then scan the manifests.

A directory holding `Chart.yaml` is a Helm chart (rendered by `helm template`, subcharts included, not
descended into); one holding `kustomization.yaml` (`.yml`, `Kustomization`) is rendered by `kustomize build`
or `kubectl kustomize` (nested kustomizations are units of their own). The raw files of a unit are not
scanned: templates are not YAML, and patches are partial objects.

Charts and kustomizations are untrusted: the tools run with no shell, an empty HOME, a dead proxy (so remote
bases, chart repositories and OCI pulls fail instead of reaching the network), a wall-clock timeout and an
output-size bound (RLIMIT_FSIZE on the output file). Helm's plugins, post-renderers, `--enable-helm` and
Kustomize exec plugins are never enabled. A failed render is one warning naming the unit; the scan goes on.
"""

from __future__ import annotations

import os
import resource
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

from lashing.model import Finding

TIMEOUT_SECONDS = 60
MAX_OUTPUT_BYTES = 32 * 1024 * 1024
CHART_FILE = "Chart.yaml"
KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")


class RenderError(Exception):
    """A unit could not be rendered; the message is one line."""


@dataclass(frozen=True)
class RenderOptions:
    """What the CLI passes to Helm: values files (`-f`) and `--set` pairs, in order."""

    helm_values: tuple[Path, ...] = ()
    helm_set: tuple[str, ...] = ()


@dataclass(frozen=True)
class Unit:
    kind: str  # helm | kustomize
    path: Path


@dataclass(frozen=True)
class Manifest:
    """One rendered piece: YAML text, the file its findings are reported at, and how it was made."""

    path: str  # the template (Helm) or the source file of the object (Kustomize), else the unit dir
    text: str
    origin: str  # "helm:<chart dir>" | "kustomize:<dir>"
    line_map: dict[int, int] = field(default_factory=dict)  # rendered line -> source line, when known


def unit_of(folder: Path, names: Iterable[str]) -> Unit | None:
    names = set(names)
    if CHART_FILE in names:
        return Unit("helm", folder)
    if names.intersection(KUSTOMIZATION_FILES):
        return Unit("kustomize", folder)
    return None


def covered(path: Path, units: Iterable[Unit]) -> bool:
    """Whether a file belongs to a unit (is rendered rather than scanned raw)."""
    return any(path.is_relative_to(unit.path) for unit in units)


def _limit_output() -> None:  # runs in the child before exec
    resource.setrlimit(resource.RLIMIT_FSIZE, (MAX_OUTPUT_BYTES + 1, MAX_OUTPUT_BYTES + 1))
    signal.signal(signal.SIGXFSZ, signal.SIG_DFL)


def run_tool(argv: list[str], cwd: Path, timeout: float = TIMEOUT_SECONDS) -> str:
    """Run a renderer offline and bounded; its stdout as text, or RenderError with stderr's last line."""
    with tempfile.TemporaryDirectory(prefix="lashing-render-") as home, \
            tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        dead_proxy = "http://127.0.0.1:9"
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": home, "LANG": "C.UTF-8",
            "HTTP_PROXY": dead_proxy, "HTTPS_PROXY": dead_proxy, "http_proxy": dead_proxy,
            "https_proxy": dead_proxy, "NO_PROXY": "", "no_proxy": "", "KUBECONFIG": os.devnull,
            "GIT_ALLOW_PROTOCOL": "file", "GIT_TERMINAL_PROMPT": "0",
            "HELM_CACHE_HOME": f"{home}/cache", "HELM_CONFIG_HOME": f"{home}/config",
            "HELM_DATA_HOME": f"{home}/data", "HELM_PLUGINS": f"{home}/plugins",
        }
        try:
            proc = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                    start_new_session=True, preexec_fn=_limit_output)
        except OSError as exc:
            raise RenderError(f"cannot run {argv[0]}: {exc.strerror}") from None
        try:
            code = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            raise RenderError(f"{argv[0]} took longer than {timeout:g} s") from None
        finally:
            if proc.poll() is None:  # pragma: no cover - interrupted
                os.killpg(proc.pid, signal.SIGKILL)
        if code == -signal.SIGXFSZ or out.tell() > MAX_OUTPUT_BYTES:
            raise RenderError(f"{argv[0]} output exceeds {MAX_OUTPUT_BYTES} bytes")
        if code != 0:
            err.seek(0)
            lines = [x.strip() for x in err.read(65536).decode("utf-8", "replace").splitlines() if x.strip()]
            raise RenderError(lines[-1][:300] if lines else f"{argv[0]} exited with status {code}")
        out.seek(0)
        return out.read().decode("utf-8", "replace")


def which(name: str) -> str | None:
    return shutil.which(name)


def render(unit: Unit, options: RenderOptions, timeout: float = TIMEOUT_SECONDS) -> list[Manifest]:
    """The manifests of one unit; raises RenderError."""
    if unit.kind == "helm":
        from lashing.analyzers.config.render import helm

        return helm.render(unit.path, options, timeout)
    from lashing.analyzers.config.render import kustomize

    return kustomize.render(unit.path, timeout)


def relocate(finding: Finding, manifest: Manifest) -> Finding:
    """A finding on rendered text, pointed at the source line when the manifest knows it; tagged with its origin."""
    extra = {**finding.extra, "rendered_from": manifest.origin}
    location = finding.location
    if location is not None and location.line is not None:
        extra["rendered_line"] = str(location.line)
        if manifest.line_map:
            known = [n for n in manifest.line_map if n <= location.line]
            line = manifest.line_map[max(known)] if known else None
            location = replace(location, line=line, end_line=line)
    return replace(finding, location=location, extra=extra)


def scan_units(units: Iterable[Unit], options: RenderOptions | None, scan) -> Iterator[tuple[str, object]]:
    """Render each unit and scan its manifests with `scan(path, bytes) -> FileResult`.

    Yields ("result", FileResult) per manifest or ("warning", message) per unit that failed to render."""
    options = options or RenderOptions()
    for unit in units:
        try:
            manifests = render(unit, options)
        except RenderError as exc:
            yield "warning", f"{unit.path}: {unit.kind} render failed, not scanned: {exc}"
            continue
        for manifest in manifests:
            result = scan(manifest.path, manifest.text.encode("utf-8"))
            result.findings = [relocate(f, manifest) for f in result.findings]
            yield "result", result
