"""go.mod: `require` (with `// indirect`), `replace`, `exclude`, and the `go`/`toolchain` directives.

Every requirement is a package, with the replacement applied (a local-directory replacement keeps the
requirement and records `replaced_by`). A requirement whose exact version is excluded is dropped with
a warning (Go would pick the next version, which go.mod does not say). The Go standard library is a
GO_STDLIB package `stdlib` at the `toolchain` version, else the `go` version, as the binary cataloger
reports it. The go.mod grammar is line based: the directive, or a `( ... )` block of them.
"""

from __future__ import annotations

import re

from lashing.analyzers.interface import AnalysisResult
from lashing.analyzers.inventory._common import purl
from lashing.analyzers.lockfiles._base import MAX_PACKAGES, LockfileAnalyzer, flags, make_package
from lashing.model import Location, Package, PackageType

_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|`[^`]*`|\S+')
_BLOCK_VERBS = ("require", "replace", "exclude", "retract", "godebug", "tool", "ignore")


def _tokens(text: str) -> list[str]:
    return [t[1:-1] if t[:1] in ('"', "`") else t for t in _TOKEN.findall(text)]


def directives(content: str) -> list[tuple[int, str, list[str], str]]:
    """(line, verb, arguments, comment) for each directive, blocks expanded."""
    out: list[tuple[int, str, list[str], str]] = []
    block = ""
    for number, raw in enumerate(content.splitlines(), 1):
        code, _, comment = raw.partition("//")
        tokens = _tokens(code)
        if not tokens:
            continue
        if block:
            if tokens == [")"]:
                block = ""
            else:
                out.append((number, block, tokens, comment.strip()))
        elif len(tokens) == 2 and tokens[1] == "(" and tokens[0] in _BLOCK_VERBS:
            block = tokens[0]
        else:
            out.append((number, tokens[0], tokens[1:], comment.strip()))
    return out


def _module(path: str, version: str, cataloger: str, file: str, line: int, extra: dict[str, str]) -> Package:
    namespace, _, base = path.rpartition("/")
    return make_package(
        PackageType.GOLANG, path, version, cataloger, file, line,
        purl_type="golang", purl_name=base, namespace=namespace or None, extra=extra,
    )  # fmt: skip


class GoModAnalyzer(LockfileAnalyzer):
    """go.mod modules (requirements after replace/exclude) and the Go toolchain as stdlib."""

    name = "go-mod"
    filenames = ("go.mod",)
    max_size = 4 * 1024 * 1024

    def parse(self, path: str, content: str) -> AnalysisResult | None:
        warnings: list[str] = []
        requires: list[tuple[int, str, str, bool]] = []
        replaces: dict[tuple[str, str], tuple[str, str]] = {}
        excluded: set[tuple[str, str]] = set()
        go_version, toolchain, module = ("", 0), ("", 0), ""
        for line, verb, args, comment in directives(content):
            if verb == "module" and args:
                module = args[0]
            elif verb == "go" and args:
                go_version = (args[0], line)
            elif verb == "toolchain" and args and args[0].startswith("go"):
                toolchain = (args[0][2:].split("-")[0], line)
            elif verb == "require" and len(args) == 2:
                requires.append((line, args[0], args[1], "indirect" in comment.split(";")[0].split()))
            elif verb == "exclude" and len(args) == 2:
                excluded.add((args[0], args[1]))
            elif verb == "replace" and "=>" in args:
                old, new = args[: args.index("=>")], args[args.index("=>") + 1 :]
                if len(old) in (1, 2) and len(new) in (1, 2):
                    replaces[(old[0], old[1] if len(old) == 2 else "")] = (new[0], new[1] if len(new) == 2 else "")
                else:
                    warnings.append(f"line {line}: malformed replace directive")
            elif verb in ("require", "exclude", "replace"):
                warnings.append(f"line {line}: malformed {verb} directive")
        out: list[Package] = []
        stdlib, stdlib_line = toolchain if toolchain[0] else go_version
        if re.fullmatch(r"\d+(\.\d+){1,2}([a-z]+\d*)?", stdlib):
            out.append(
                Package(
                    name="stdlib",
                    version=stdlib,
                    type=PackageType.GO_STDLIB,
                    purl=purl("golang", "stdlib", f"v{stdlib}"),
                    locations=(Location(path, line=stdlib_line),),
                    cataloger=self.name,
                    extra={k: v for k, v in {"main_module": module, "go_version": go_version[0]}.items() if v},
                )
            )
        for line, mod, version, indirect in requires[:MAX_PACKAGES]:
            if (mod, version) in excluded:
                warnings.append(f"line {line}: {mod}@{version} is excluded; the version Go picks instead is unknown")
                continue
            extra = flags(direct=not indirect, main_module=module)
            new = replaces.get((mod, version)) or replaces.get((mod, ""))
            if new is not None and (new[0].startswith(("./", "../", "/")) or not new[1]):
                extra["replaced_by"] = new[0]
            elif new is not None:
                extra["replaces"] = f"{mod}@{version}"
                mod, version = new
            out.append(_module(mod, version, self.name, path, line, extra))
        return AnalysisResult(packages=tuple(out), warnings=tuple(warnings))
