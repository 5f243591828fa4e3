"""Trivy's ignore formats, for teams moving over: plain `.trivyignore` and `.trivyignore.yaml`.

Plain lines are `ID [exp:YYYY-MM-DD]`; `#` starts a comment. The comment block right above an id (or a
comment after it on the same line) becomes its reason. Unknown fields are refused rather than dropped, so a
mistyped expiry cannot turn into a permanent ignore. In `.trivyignore.yaml`, `statement` is the reason and
the `licenses` section is skipped (lashing reports no license findings).
"""

from __future__ import annotations

import re
from datetime import date

import yaml

from lashing.model import FindingKind
from lashing.policy._ignorefields import check_id, package_pattern
from lashing.policy._yamlnodes import Entry
from lashing.policy.interface import IgnoreRule, PolicyError

MAX_LINES = 10_000
SECTIONS = {
    "vulnerabilities": FindingKind.VULNERABILITY,
    "misconfigurations": FindingKind.CONFIG,
    "secrets": FindingKind.SECRET,
    "licenses": None,
}
_YAML_LINE = re.compile(r"[-\[{]|[^\s:#]+:(\s|$)")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_TRIVY_KEYS = ("id", "statement", "paths", "purls", "expired_at")


def looks_plain(text: str) -> bool:
    """True when every non-comment line reads as `ID [field...]`, not as YAML structure."""
    lines = [line.strip() for line in text.splitlines()]
    meaningful = [line for line in lines if line and not line.startswith("#")]
    return bool(meaningful) and not any(_YAML_LINE.match(line) for line in meaningful)


def parse_plain(text: str, where: str) -> tuple[IgnoreRule, ...]:
    rules: list[IgnoreRule] = []
    comments: list[str] = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line:
            comments = []
            continue
        if line.startswith("#"):
            comments.append(line.lstrip("#").strip())
            continue
        line, _, tail = line.partition(" #")
        at = f"{where} line {number}"
        fields = line.split()
        expires = None
        for extra in fields[1:]:
            if not extra.startswith("exp:"):
                raise PolicyError(f"{at}: unknown field {extra[:40]!r}; only exp:YYYY-MM-DD may follow the id")
            expires = _plain_date(extra[4:], at)
        reason = tail.strip() or " ".join(c for c in comments if c) or f"listed in {where}"
        comments = []
        rules.append(
            IgnoreRule(ids=(check_id(fields[0], where=at),), reason=reason, source=f"{where}:{number}", expires=expires)
        )
        if len(rules) > MAX_LINES:
            raise PolicyError(f"{where} has more than {MAX_LINES} entries")
    return tuple(rules)


def _plain_date(value: str, at: str) -> date:
    try:
        if not _ISO_DATE.fullmatch(value):
            raise ValueError(value)
        return date.fromisoformat(value)
    except ValueError:
        raise PolicyError(f"{at}: 'exp' is not a date ({value[:40]}); use exp:YYYY-MM-DD") from None


def parse_yaml(root: yaml.MappingNode, where: str) -> tuple[IgnoreRule, ...]:
    rules: list[IgnoreRule] = []
    for key_node, section in root.value:
        name = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
        if name not in SECTIONS:
            raise PolicyError(f"{where}: unknown section {str(name)[:40]!r} (known: {', '.join(SECTIONS)})")
        kind = SECTIONS[name]
        if isinstance(section, yaml.ScalarNode) and section.tag.endswith(":null"):
            continue
        if not isinstance(section, yaml.SequenceNode):
            raise PolicyError(f"{where}: {name!r} must be a list of entries")
        for number, node in enumerate(section.value, 1):
            entry = Entry(node, f"{where} {name}", number, _TRIVY_KEYS)
            if kind is None:
                continue
            rules.append(_yaml_rule(entry, kind, where))
            if len(rules) > MAX_LINES:
                raise PolicyError(f"{where} has more than {MAX_LINES} entries")
    return tuple(rules)


def _yaml_rule(entry: Entry, kind: FindingKind, where: str) -> IgnoreRule:
    return IgnoreRule(
        ids=(check_id(entry.text("id", required=True), entry),),
        reason=entry.text("statement") or f"listed in {entry.where}",
        source=f"{where}:{entry.line}",
        packages=tuple(package_pattern(v, entry, "purls") for v in entry.texts("purls")),
        paths=entry.texts("paths"),
        kinds=frozenset({kind}),
        expires=entry.date("expired_at"),
    )
