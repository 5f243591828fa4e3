"""Cargo.lock: every `[[package]]` with a `source` (registry or git); local crates without one are the
workspace itself, and their dependencies are the direct ones. Cargo.lock does not mark dev-dependencies.
"""

from __future__ import annotations

from lashing.analyzers.interface import AnalysisResult
from lashing.analyzers.lockfiles._base import LockfileAnalyzer, flags, make_package
from lashing.analyzers.lockfiles.python import load_toml, toml_entries
from lashing.model import PackageType


def _dependency(spec: object) -> tuple[str, str]:
    """`name`, `name version` or `name version (source)` -> (name, version or "")."""
    parts = spec.split() if isinstance(spec, str) else []
    return (parts[0], parts[1]) if len(parts) >= 2 else ((parts[0], "") if parts else ("", ""))


class CargoLockAnalyzer(LockfileAnalyzer):
    """Cargo.lock (lockfile versions 1 to 4)."""

    name = "cargo-lock"
    filenames = ("Cargo.lock",)

    def parse(self, path: str, content: str) -> AnalysisResult | None:
        data, error = load_toml(content, "Cargo.lock")
        if data is None:
            return AnalysisResult(warnings=(error or "",))
        entries = toml_entries(data, content)
        local = [e for e, _ in entries if "source" not in e]
        direct = {_dependency(d) for e in local for d in e.get("dependencies", []) if isinstance(d, str)}
        direct_names = {n for n, v in direct if not v}
        out = []
        for entry, line in entries:
            name, version, source = entry.get("name"), entry.get("version"), entry.get("source")
            if not isinstance(name, str) or not isinstance(version, str) or not isinstance(source, str):
                continue
            is_direct = (name, version) in direct or name in direct_names
            extra = flags(direct=is_direct if local else None, source=source.split("+", 1)[0])
            out.append(make_package(PackageType.CARGO, name, version, self.name, path, line,
                                    purl_type="cargo", extra=extra))  # fmt: skip
        return AnalysisResult(packages=tuple(out))
