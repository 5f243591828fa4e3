"""Helm charts through `helm template`, or Helm's engine from `helm-python-sdk` when no helm binary is installed.

Both are offline: no `dependency update`, no repositories, no cluster (`lookup` returns nothing). The
SDK renders in a child process (`helm_worker`, Python in isolated mode so nothing in the chart's folder can
shadow a module) under the same time and output bounds as the binary. A chart holding a symlink that leads
outside it is refused (Helm's loader follows symlinks).

Helm prefixes every rendered document with `# Source: <chart>/templates/<file>`; findings are reported at
that template file (`<chart dir>/templates/<file>`, subcharts under `charts/`), with line numbers counted
in the *rendered* document of that template (templates are not YAML, so no mapping to template lines);
`extra.rendered_line` and `extra.rendered_from` say so.
"""

from __future__ import annotations

import importlib.util
import os
import re
import sys
from pathlib import Path, PurePosixPath

from lashing.analyzers.config.render import Manifest, RenderError, RenderOptions, run_tool, which

RELEASE_NAME = "lashing"
_SOURCE = re.compile(r"^# Source: (\S.*?)\s*$")
_SEPARATOR = re.compile(r"^---\s*$")


def sdk_available() -> bool:
    return importlib.util.find_spec("helm_python") is not None


def command(chart: Path, options: RenderOptions) -> list[str]:
    if binary := which("helm"):
        argv = [binary, "template", RELEASE_NAME, str(chart.resolve()), "--namespace", "default"]
    elif sdk_available():
        argv = [sys.executable, "-I", "-m", "lashing.analyzers.config.render.helm_worker", str(chart.resolve())]
    else:
        raise RenderError("helm is not installed (needed to render charts; or pip install helm-python-sdk)")
    argv += [f"--values={values.resolve()}" for values in options.helm_values]
    argv += [f"--set={pair}" for pair in options.helm_set]  # one argument each: a value cannot become a flag
    return argv


def check_symlinks(chart: Path) -> None:
    """Refuse a chart with a symlink resolving outside it (templates could otherwise read any file)."""
    root = chart.resolve()
    for folder, dirs, files in os.walk(chart, followlinks=False):
        for name in (*dirs, *files):
            entry = Path(folder) / name
            if entry.is_symlink() and not entry.resolve().is_relative_to(root):
                raise RenderError(f"symlink {entry.relative_to(chart)} leads outside the chart")


def template_path(chart: Path, source: str) -> str:
    """`mychart/templates/a.yaml` -> `<chart dir>/templates/a.yaml` (the chart name is the first part)."""
    parts = PurePosixPath(source).parts
    inner = PurePosixPath(*parts[1:]) if len(parts) > 1 else PurePosixPath(source)
    if ".." in inner.parts or inner.is_absolute():
        return str(chart / "Chart.yaml")
    return str(chart / inner)


def split(chart: Path, text: str) -> list[Manifest]:
    """Rendered stream -> one manifest per `# Source:` document (documents without one go to Chart.yaml)."""
    origin = f"helm:{chart}"
    manifests: list[Manifest] = []
    current: list[str] = []
    source: str | None = None

    def flush() -> None:
        body = "\n".join(current).strip()
        if body:
            path = template_path(chart, source) if source else str(chart / "Chart.yaml")
            if not path.endswith((".yaml", ".yml", ".json")):
                path = str(chart / "Chart.yaml")  # NOTES.txt, .tpl: keep YAML parsing
            manifests.append(Manifest(path, "\n".join(current) + "\n", origin))

    for line in text.splitlines():
        if _SEPARATOR.match(line):
            flush()
            current = []  # a template's later documents keep its source until a new `# Source:`
            continue
        match = _SOURCE.match(line)
        if match and not any(x.strip() and not x.startswith("#") for x in current):
            source = match.group(1)
        current.append(line)
    flush()
    return manifests


def render(chart: Path, options: RenderOptions, timeout: float) -> list[Manifest]:
    check_symlinks(chart)
    return split(chart, run_tool(command(chart, options), cwd=Path("/"), timeout=timeout))
