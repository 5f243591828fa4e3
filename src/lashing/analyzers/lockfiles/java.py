"""pom.xml: the project's `<dependencies>` with versions from `<dependencyManagement>` and `${...}`
properties resolved (`<properties>`, `project.version`/`groupId`/`artifactId`, `project.parent.*`,
and the parent's values where the project inherits them). Parent POMs and imported BOMs are not
fetched: a version still holding `${...}` (or none at all) is skipped with a warning, as is a version
range. `test` scope marks `dev`; every declared dependency is direct. DTDs and entities are refused.
"""

from __future__ import annotations

import re
import xml.parsers.expat
from dataclasses import dataclass, field

from lashing.analyzers.interface import AnalysisInput, AnalysisResult
from lashing.analyzers.lockfiles._base import LockfileAnalyzer, flags, make_package
from lashing.model import Package, PackageType

MAX_ELEMENTS = 200_000
MAX_DEPENDENCIES = 5_000
_PROPERTY = re.compile(r"\$\{([^}]+)\}")


@dataclass
class Element:
    tag: str
    line: int
    text: str = ""
    children: list[Element] = field(default_factory=list)

    def child(self, tag: str) -> Element | None:
        return next((c for c in self.children if c.tag == tag), None)

    def value(self, tag: str) -> str:
        found = self.child(tag)
        return found.text.strip() if found is not None else ""


class _Refused(ValueError):
    pass


def parse_xml(content: bytes) -> Element:
    """Parse XML into Elements with line numbers; namespaces dropped; DTDs refused; size bounded."""
    parser = xml.parsers.expat.ParserCreate(namespace_separator=" ")
    stack: list[Element] = []
    root: list[Element] = []
    count = [0]

    def start(name: str, _attrs: dict[str, str]) -> None:
        count[0] += 1
        if count[0] > MAX_ELEMENTS or len(stack) > 64:
            raise _Refused("too many elements or too deep")
        element = Element(name.rpartition(" ")[2], parser.CurrentLineNumber)
        (stack[-1].children if stack else root).append(element)
        stack.append(element)

    def end(_name: str) -> None:
        stack.pop()

    def chars(data: str) -> None:
        if stack and len(stack[-1].text) < 4096:
            stack[-1].text += data

    def doctype(*_args: object) -> None:
        raise _Refused("a DOCTYPE is not allowed in pom.xml")

    parser.StartElementHandler, parser.EndElementHandler = start, end
    parser.CharacterDataHandler, parser.StartDoctypeDeclHandler = chars, doctype
    parser.Parse(content, True)
    if not root:
        raise _Refused("no root element")
    return root[0]


def _properties(project: Element) -> dict[str, str]:
    parent = project.child("parent") or Element("parent", 0)
    props = {}
    for key in ("groupId", "artifactId", "version"):
        inherited = parent.value(key)
        own = project.value(key) or (inherited if key != "artifactId" else "")
        for prefix in ("project.", "pom.", ""):
            props[f"{prefix}{key}"] = own
            props[f"{prefix}parent.{key}"] = inherited
    for element in (project.child("properties") or Element("properties", 0)).children:
        props[element.tag] = element.text.strip()
    return props


def resolve(value: str, props: dict[str, str]) -> str:
    """Substitute `${name}` repeatedly (bounded); unknown names stay as they are."""
    for _ in range(10):
        new = _PROPERTY.sub(lambda m: props.get(m.group(1).strip(), m.group(0)) or m.group(0), value)
        if new == value:
            break
        value = new
    return value


def _managed(project: Element, props: dict[str, str]) -> dict[tuple[str, str], str]:
    management = project.child("dependencyManagement")
    deps = management.child("dependencies") if management is not None else None
    out = {}
    for dep in deps.children if deps is not None else []:
        if dep.tag == "dependency" and dep.value("scope") != "import":
            key = (resolve(dep.value("groupId"), props), resolve(dep.value("artifactId"), props))
            out[key] = resolve(dep.value("version"), props)
    return out


class PomAnalyzer(LockfileAnalyzer):
    """Maven pom.xml declared dependencies."""

    name = "maven-pom"
    filenames = ("pom.xml",)
    max_size = 4 * 1024 * 1024

    def analyze(self, item: AnalysisInput) -> AnalysisResult | None:
        try:
            project = parse_xml(item.content)
        except (xml.parsers.expat.ExpatError, _Refused, RecursionError) as exc:
            return AnalysisResult(warnings=(f"pom.xml: not parsed ({exc})",))
        if project.tag != "project":
            return AnalysisResult(warnings=("pom.xml: root element is not <project>",))
        return self._dependencies(item.path, project)

    def _dependencies(self, path: str, project: Element) -> AnalysisResult:
        props = _properties(project)
        managed = _managed(project, props)
        deps = project.child("dependencies")
        warnings: list[str] = []
        out: list[Package] = []
        for dep in (deps.children if deps is not None else [])[:MAX_DEPENDENCIES]:
            if dep.tag != "dependency":
                continue
            group, artifact = resolve(dep.value("groupId"), props), resolve(dep.value("artifactId"), props)
            version = resolve(dep.value("version"), props) or managed.get((group, artifact), "")
            label = f"line {dep.line}: {group}:{artifact}"
            if not group or not artifact or "${" in group + artifact:
                warnings.append(f"{label}: unresolved coordinates, skipped")
            elif not version or "${" in version:
                warnings.append(f"{label}: version {version or '(none)'} not resolved, skipped")
            elif version[:1] in "[(":
                warnings.append(f"{label}: version range {version}, skipped")
            else:
                scope = resolve(dep.value("scope"), props) or "compile"
                extra = flags(direct=True, dev=scope == "test", scope=scope, group_id=group, artifact_id=artifact)
                if dep.value("optional") == "true":
                    extra["optional"] = "true"
                out.append(make_package(
                    PackageType.JAVA, f"{group}:{artifact}", version, self.name, path, dep.line,
                    purl_type="maven", purl_name=artifact, namespace=group, extra=extra,
                ))  # fmt: skip
        return AnalysisResult(packages=tuple(out), warnings=tuple(warnings))
