"""pip requirements files: `requirements.txt`, `requirements-*.txt`, `*-requirements.txt`, `requirements/*.txt`.

Only exact pins (`==` or `===`, no wildcard) give a version; other requirements are not packages of
the tree. `-r`/`-c` includes become warnings (their paths are not followed), editable and URL
requirements are skipped, `--hash` and other per-line options, markers, extras and backslash line
continuations are understood. A file whose name says dev/test (`requirements-dev.txt`,
`requirements/test.txt`) marks its packages `dev`.
"""

from __future__ import annotations

import re

from packaging.requirements import InvalidRequirement, Requirement

from lashing.analyzers.interface import AnalysisResult, FileInfo
from lashing.analyzers.inventory.python import normalize_name
from lashing.analyzers.lockfiles._base import MAX_PACKAGES, LockfileAnalyzer, basename, in_node_modules
from lashing.analyzers.lockfiles.python import python_package
from lashing.model import Package

MAX_WARNINGS = 20
_COMMENT = re.compile(r"(^|\s+)#.*$")
_DEV_WORDS = {"dev", "develop", "development", "test", "tests", "testing"}
_INCLUDES = ("-r", "--requirement", "-c", "--constraint")


def is_requirements_file(path: str) -> bool:
    """The pip requirements naming conventions (case-insensitive), never inside node_modules."""
    name = basename(path).lower()
    if not name.endswith(".txt") or in_node_modules(path):
        return False
    stem = name[:-4]
    parent = path.rpartition("/")[0].rpartition("/")[2].lower()
    return (
        stem == "requirements"
        or re.fullmatch(r"requirements[-_.].+", stem) is not None
        or re.fullmatch(r".+[-_]requirements", stem) is not None
        or parent == "requirements"
    )


def is_dev_file(path: str) -> bool:
    stem = basename(path).lower().removesuffix(".txt")
    parent = path.rpartition("/")[0].rpartition("/")[2].lower()
    words = set(re.split(r"[-_.]", stem)) - {"requirements"}
    return bool(words & _DEV_WORDS) or (parent == "requirements" and stem in _DEV_WORDS)


def logical_lines(content: str) -> list[tuple[int, str]]:
    """(first line number, text) with comments removed and backslash continuations joined."""
    out: list[tuple[int, str]] = []
    pending, start = "", 0
    for number, raw in enumerate(content.splitlines(), 1):
        if not pending:
            start = number
        line = raw if pending else raw.lstrip()
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        text = _COMMENT.sub("", pending + line).strip()
        pending = ""
        if text:
            out.append((start, text))
    if pending.strip():
        out.append((start, _COMMENT.sub("", pending).strip()))
    return out


class RequirementsAnalyzer(LockfileAnalyzer):
    """Pinned requirements of pip requirements files."""

    name = "pip-requirements"
    max_size = 8 * 1024 * 1024

    def required(self, path: str, info: FileInfo) -> bool:
        return is_requirements_file(path)

    def parse(self, path: str, content: str) -> AnalysisResult | None:
        warnings: list[str] = []
        out: list[Package] = []
        seen: set[tuple[str, str]] = set()
        dev = is_dev_file(path)
        for line, text in logical_lines(content)[:MAX_PACKAGES]:
            pkg = self._requirement(path, line, text, dev, warnings)
            if pkg is not None and (normalize_name(pkg.name), pkg.version) not in seen:
                seen.add((normalize_name(pkg.name), pkg.version))
                out.append(pkg)
        if len(warnings) > MAX_WARNINGS:
            warnings[MAX_WARNINGS:] = [f"... and {len(warnings) - MAX_WARNINGS} more warnings"]
        return AnalysisResult(packages=tuple(out), warnings=tuple(warnings))

    def _requirement(self, path: str, line: int, text: str, dev: bool, warnings: list[str]) -> Package | None:
        tokens = text.split()
        if text.startswith("-"):
            option, _, value = tokens[0].partition("=")
            if option in _INCLUDES:
                target = value or (tokens[1] if len(tokens) > 1 else "")
                warnings.append(f"line {line}: includes {target!r} ({option}), not followed")
            return None
        # pip: the requirement ends at the first token that is an option (--hash, --config-settings ...)
        spec_tokens = []
        for token in tokens:
            if token.startswith("-"):
                break
            spec_tokens.append(token)
        spec = " ".join(spec_tokens)
        if spec.startswith((".", "/")) or re.match(r"[a-zA-Z][a-zA-Z0-9+.-]*://", spec):
            return None  # a local path or a bare URL: no name and version to report
        try:
            req = Requirement(spec)
        except InvalidRequirement as exc:
            warnings.append(f"line {line}: not a requirement ({str(exc).splitlines()[0][:120]})")
            return None
        pins = list(req.specifier)
        if req.url or len(pins) != 1 or pins[0].operator not in ("==", "===") or "*" in pins[0].version:
            return None
        extra = {"marker": str(req.marker) if req.marker else "", "extras": ",".join(sorted(req.extras))}
        if dev:
            extra["dev"] = "true"
        return python_package(req.name, pins[0].version, self.name, path, line, extra)
