"""Scan files and directories: classify each file, build targets, evaluate rules, apply suppressions."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lashing.analyzers.config import compose, controlplane, dockerrun, kubernetes, render
from lashing.analyzers.config.engine import Hit, Settings, compiled_rules, evaluate, to_finding
from lashing.analyzers.config.parallel import run_forked
from lashing.analyzers.config.suppress import Suppressions, annotation_ids, is_suppressed
from lashing.analyzers.config.target import Target
from lashing.analyzers.config.yamldoc import DocumentError, load_documents
from lashing.model import Finding
from lashing.processes import can_fork

log = logging.getLogger(__name__)
MAX_FILE_BYTES = 8 * 1024 * 1024
SKIP_DIRS = frozenset({".git", ".hg", ".svn", "node_modules", "vendor", ".venv", "venv", "__pycache__", ".tox"})
YAML_SUFFIXES = (".yaml", ".yml", ".json")
SCRIPT_SUFFIXES = (".sh", ".bash", ".zsh", ".mk", ".ps1", ".bat", ".cmd")
SCRIPT_NAMES = frozenset({"Makefile", "makefile", "GNUmakefile", "Jenkinsfile", "Justfile", "justfile", "Taskfile"})


@dataclass
class FileResult:
    """What one file produced."""

    findings: list[Finding] = field(default_factory=list)
    suppressed: int = 0
    warnings: list[str] = field(default_factory=list)
    targets: int = 0
    readable: bool = True
    # (sort key, encoded form) of findings a `post` step already encoded for the report, in place of `findings`
    rendered: list[tuple[Any, Any]] = field(default_factory=list)
    # rule hits not yet made findings (scan_content's keep_hits), and the file's line count that bounds them
    hits: list[Hit] = field(default_factory=list)
    line_count: int | None = None

    def take_hits(self) -> None:
        """Turn the pending hits into findings (after any findings already there)."""
        line_count = self.line_count
        self.findings.extend(to_finding(hit, line_count) for hit in self.hits)
        self.hits = []


@dataclass
class ScanResult:
    """What a whole scan produced."""

    findings: list[Finding] = field(default_factory=list)
    suppressed: int = 0
    warnings: list[str] = field(default_factory=list)
    files_scanned: int = 0
    files_failed: int = 0
    targets: int = 0
    rendered: list[tuple[Any, Any]] = field(default_factory=list)


# A step run on each file's result where it is produced (in the worker processes of a parallel scan):
# e.g. the report's policy filter and encoder, so findings cross to the parent as text, not objects.
Post = Callable[[FileResult], FileResult]


def is_dockerfile(name: str) -> bool:
    return name in ("Dockerfile", "Containerfile") or name.endswith(".Dockerfile") or name.startswith(
        ("Dockerfile.", "Containerfile."))


def wants(name: str) -> bool:
    """Whether a file name is one the config scanner reads."""
    return (name.endswith(YAML_SUFFIXES) or name.endswith(SCRIPT_SUFFIXES) or name.endswith(".service")
            or name in SCRIPT_NAMES or is_dockerfile(name))


def _yaml_targets(path: str, text: str, result: FileResult) -> Iterator[Target]:
    """Targets of a YAML/JSON file, one document in memory at a time; a bad document ends the file with a
    warning (the documents before it are still scanned)."""
    accounts = _service_accounts(text)
    docs = load_documents(text)
    seen_structured = False
    while True:
        try:
            doc = next(docs)
        except StopIteration:
            break
        except DocumentError as exc:
            where = f"{path}:{exc.line}" if exc.line else path
            result.warnings.append(f"{where}: {exc}")
            if not seen_structured:
                result.readable = False
            break
        seen_structured = True
        if compose.is_compose(doc.data):
            yield from compose.targets(path, doc)
        else:
            yield from kubernetes.targets_from_document(path, doc, accounts)
    if not path.endswith(".json") and ("docker" in text or "podman" in text):
        yield from dockerrun.targets(path, text)  # CI YAML: run steps


def _service_accounts(text: str) -> kubernetes.Accounts:
    """The file's ServiceAccounts that set automountServiceAccountToken (a pod above them inherits too):
    a first streaming pass, only over files that mention both, so memory stays one document at a time."""
    accounts: kubernetes.Accounts = {}
    if "ServiceAccount" not in text or "automountServiceAccountToken" not in text:
        return accounts
    try:
        for doc in load_documents(text):
            accounts.update(kubernetes.service_account_automount([doc]))
    except DocumentError:
        pass  # the main pass reports it
    return accounts


def _dockerfile(path: str, content: bytes, result: FileResult) -> list[Finding]:
    try:
        from lashing.analyzers.config.dockerfile import scan_dockerfile
    except ImportError:
        result.warnings.append(f"{path}: Dockerfile scanning is not available in this build; skipped")
        return []
    return list(scan_dockerfile(path, content))


def _dockerfile_catalog() -> None:
    """Import the Dockerfile analyzer and compile its catalog (~0.2 s), once instead of in every worker."""
    try:
        from lashing.analyzers.config.dockerfile import _compiled
    except ImportError:
        return
    _compiled()


def scan_content(path: str, content: bytes, settings: Settings | None = None, keep_hits: bool = False) -> FileResult:
    """Scan one file's bytes; `path` is what findings report and decides the file type. With `keep_hits`,
    rule hits stay in `result.hits` (see FileResult.take_hits) for a caller that renders them itself."""
    settings = settings or Settings()
    result = FileResult()
    name = os.path.basename(path)
    if is_dockerfile(name):
        result.findings.extend(_dockerfile(path, content, result))
        return result
    text = content.decode("utf-8", errors="replace")
    if name.endswith(YAML_SUFFIXES):
        targets: Iterable[Target] = _yaml_targets(path, text, result)
    elif name.endswith(".service"):
        targets = controlplane.systemd_targets(path, text)
    else:
        targets = dockerrun.targets(path, text)
    suppressions = Suppressions(text)
    result.line_count = text.count("\n") + 1
    hits = result.hits
    for target in targets:
        result.targets += 1
        ignored = annotation_ids(target.annotations) | suppressions.ids_for(target.line)
        if not (ignored or suppressions.by_line):
            hits.extend(evaluate(target, settings))
            continue
        for hit in evaluate(target, settings):
            ids = ignored | suppressions.ids_for(hit.line)
            if hit.container is not None:
                ids |= suppressions.ids_for(hit.container.line)
            if ids and is_suppressed(hit.rule, ids):
                result.suppressed += 1
                continue
            hits.append(hit)
    if not keep_hits:
        result.take_hits()
    return result


def iter_files(root: Path, units: list[render.Unit] | None = None) -> Iterator[Path]:
    """Regular files under `root` the scanner wants, in os.walk's top-down order with names sorted; skips
    VCS/vendor folders, never follows symlinks, never opens a FIFO or device. One scandir per folder: the
    entries' types come with the listing (no stat per file).

    With `units`, the same walk also collects the Helm charts and kustomizations it meets (what
    render.find_units finds, in its order) and leaves out their files, which are rendered, not read raw;
    a chart's folder is not entered (helm renders its subcharts)."""
    return map(Path, _walk(root, units))


_UNIT_FILES = frozenset({render.CHART_FILE, *render.KUSTOMIZATION_FILES})


def _walk(root: Path, units: list[render.Unit] | None) -> Iterator[str]:
    """iter_files' paths as text (a scan lists thousands: Path objects cost more than the listing)."""
    if root.is_file():
        yield str(root)
        return
    stack = [(str(root), False)]
    while stack:
        folder, in_unit = stack.pop()
        try:
            with os.scandir(folder) as listing:
                entries = sorted(listing, key=lambda entry: entry.name)
        except OSError:
            continue
        if units is not None and not _UNIT_FILES.isdisjoint(entry.name for entry in entries):
            unit = render.unit_of(Path(folder), [e.name for e in entries if not _is_dir(e)])
            if unit is not None:
                units.append(unit)
                if unit.kind == "helm":
                    continue
                in_unit = True
        here = folder != "."  # "./name" is "name" as a Path, and in reports
        folders = []
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                if entry.name not in SKIP_DIRS:
                    folders.append((entry.path if here else entry.name, in_unit))
            elif not in_unit and wants(entry.name) and entry.is_file(follow_symlinks=False):
                yield entry.path if here else entry.name
        stack.extend(reversed(folders))


def _is_dir(entry: os.DirEntry[str]) -> bool:
    """As os.walk tells folders from files (a link to a folder counts as a folder)."""
    try:
        return entry.is_dir()
    except OSError:
        return False


PARALLEL_MIN_FILES = 200  # below this, starting worker processes costs more than it saves


def scan_paths(paths: Iterable[Path], settings: Settings | None = None, workers: int | None = None,
               render_options: render.RenderOptions | None = None, post: Post | None = None) -> ScanResult:
    """Scan files and directories; unreadable or malformed files become warnings.

    Large trees are scanned by one forked worker per core (parallel.run_forked; rule evaluation holds the
    GIL); results come back in file order, so the report is the same whatever the worker count. `post`,
    when given, runs on every file's result (in the worker that produced it)."""
    settings = settings or Settings()
    paths = list(paths)
    # Helm charts and kustomizations (render/): rendered and scanned below; their raw files are not.
    units: list[render.Unit] = []
    files = [path for root in paths for path in _walk(root, units)]
    if units:  # a file named on its own (or under another root) may still lie in a unit
        files = [path for path in files if not render.covered(Path(path), units)]
    workers = workers if workers is not None else min(os.cpu_count() or 1, 8)
    total = ScanResult()
    if workers > 1 and len(files) >= PARALLEL_MIN_FILES and can_fork():
        compiled_rules()  # compile the catalog once, before forking: workers inherit it
        if any(is_dockerfile(os.path.basename(path)) for path in files):
            _dockerfile_catalog()

        def work(path: str) -> FileResult | str:
            return _finish(_scan_file((path, settings), post is not None), post)

        for result in run_forked(files, work, workers, _crashed):
            _merge(total, result)
    else:
        for path in files:
            _merge(total, _finish(_scan_file((path, settings), post is not None), post))
    for kind, item in render.scan_units(units, render_options, lambda name, data: scan_content(name, data, settings)):
        if kind == "warning":
            total.warnings.append(str(item))
        else:
            _merge(total, _finish(item, post))  # type: ignore[arg-type]
    return total


def _crashed(path: str, why: str) -> str:
    return f"{path}: could not be analysed ({why}); skipped"


def _finish(result: FileResult | str, post: Post | None) -> FileResult | str:
    if not isinstance(result, FileResult):
        return result
    if post is not None:
        result = post(result)
    result.take_hits()  # hits hold whole documents: only findings leave a worker
    return result


def _scan_file(job: tuple[str, Settings], keep_hits: bool = False) -> FileResult | str:
    """One file's result, or a warning string when it cannot be read."""
    name, settings = job
    try:
        content = _read(name)
    except OSError as exc:
        return f"{name}: cannot read: {exc.strerror}"
    if content is None:
        return f"{name}: larger than {MAX_FILE_BYTES} bytes; skipped"
    try:
        return scan_content(name, content, settings, keep_hits)
    except Exception as exc:  # a parser bug on a stranger's file costs that file, not the whole scan
        log.debug("scanning %s failed", name, exc_info=True)
        return f"{name}: could not be analysed ({type(exc).__name__}); skipped"


def _read(name: str) -> bytes | None:
    """A file's bytes, None when it holds more than MAX_FILE_BYTES. Plain system calls (no file object:
    a scan reads thousands of small files), non-blocking (a FIFO swapped in after the listing must not hang
    the scan), read to its end even if it grows meanwhile, up to the bound."""
    fd = os.open(name, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        size = os.fstat(fd).st_size
        if size > MAX_FILE_BYTES:
            return None
        parts: list[bytes] = []
        total = 0
        while part := os.read(fd, size + 1 - total if total <= size else 65536):
            parts.append(part)
            total += len(part)
            if total > MAX_FILE_BYTES:
                return None
        return b"".join(parts)
    finally:
        os.close(fd)


def _merge(total: ScanResult, result: FileResult | str) -> None:
    total.files_scanned += 1
    if isinstance(result, str):
        total.warnings.append(result)
        total.files_failed += 1
        return
    total.findings.extend(result.findings)
    total.rendered.extend(result.rendered)
    total.suppressed += result.suppressed
    total.warnings.extend(result.warnings)
    total.targets += result.targets
    total.files_failed += 0 if result.readable else 1
