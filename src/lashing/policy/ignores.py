"""Ignore files: `.lashingignore` (YAML), Trivy's `.trivyignore.yaml` and plain `.trivyignore`.

`.lashingignore` is a list of entries, or a mapping with an `ignore:` list:

    - id: CVE-2023-4911            # or a list; matches the finding id or an alias; `*`/`?` globs
      package: pkg:deb/debian/libc6  # a name (or glob) or a purl; a purl without version matches any version
      path: "usr/lib/**"           # glob on the finding's location and the package's declaring files
      resource: Deployment/prod/*  # glob on a config finding's resource
      kind: vulnerability          # optional: vulnerability, secret, malware, config, hygiene
      reason: not reachable, no setuid binaries   # required
      expires: 2027-01-31          # from that day on the entry stops suppressing and is reported

Ids compare case-insensitively. An id made only of wildcards is refused (it would hide everything).
"""

from __future__ import annotations

from pathlib import Path

import yaml

from lashing.model import FindingKind
from lashing.policy import trivyignore
from lashing.policy._ignorefields import check_id, package_pattern
from lashing.policy._io import read_text
from lashing.policy._yamlnodes import Entry, compose
from lashing.policy.interface import IgnoreRule, PolicyError

MAX_IGNORE_BYTES = 1024 * 1024
MAX_ENTRIES = 10_000
MAX_VALUES = 100_000
_KEYS = ("id", "reason", "package", "path", "resource", "kind", "expires")


def load_ignore_file(path: Path) -> tuple[IgnoreRule, ...]:
    """Read an ignore file in whichever of the three formats it is written."""
    text = read_text(path, MAX_IGNORE_BYTES)
    where = str(path)
    if path.suffix.lower() not in (".yaml", ".yml") and trivyignore.looks_plain(text):
        return trivyignore.parse_plain(text, where)
    root = compose(text, where)
    if root is None:
        return ()
    if isinstance(root, yaml.MappingNode):
        keys = {k.value for k, _ in root.value if isinstance(k, yaml.ScalarNode)}
        if keys & set(trivyignore.SECTIONS):
            return trivyignore.parse_yaml(root, where)
        if keys != {"ignore"}:
            raise PolicyError(f"{where}: expected a list of entries or an 'ignore:' list")
        root = root.value[0][1]
        if isinstance(root, yaml.ScalarNode) and root.tag.endswith(":null"):
            return ()
    if not isinstance(root, yaml.SequenceNode):
        raise PolicyError(f"{where}: expected a list of entries or an 'ignore:' list")
    if len(root.value) > MAX_ENTRIES:
        raise PolicyError(f"{where} has more than {MAX_ENTRIES} entries")
    rules = tuple(_rule(Entry(node, where, number, _KEYS)) for number, node in enumerate(root.value, 1))
    values = sum(len(r.ids) + len(r.packages) + len(r.paths) + len(r.resources) for r in rules)
    if values > MAX_VALUES:
        raise PolicyError(f"{where} has more than {MAX_VALUES} ids, packages, paths and resources in all")
    return rules


def _rule(entry: Entry) -> IgnoreRule:
    ids = entry.texts("id", required=True)
    for value in ids:
        check_id(value, entry)
    reason = entry.text("reason")
    if not reason:
        raise entry.error("'reason' is required: say why this finding is acceptable")
    return IgnoreRule(
        ids=ids,
        reason=reason,
        source=f"{entry.where}:{entry.line}",
        packages=tuple(package_pattern(value, entry, "package") for value in entry.texts("package")),
        paths=entry.texts("path"),
        resources=entry.texts("resource"),
        kinds=_kinds(entry),
        expires=entry.date("expires"),
    )


def _kinds(entry: Entry) -> frozenset[FindingKind] | None:
    values = entry.texts("kind")
    if not values:
        return None
    try:
        return frozenset(FindingKind(v.lower()) for v in values)
    except ValueError:
        names = ", ".join(k.value for k in FindingKind)
        raise entry.error(f"'kind' must be one of {names} (got {', '.join(values)[:80]})") from None
