"""The secret rule catalog: rules as data (rules.yaml), loaded and compiled once.

A `Catalog` holds the rules, the global allow rules and the path contexts. Its keyword prefilter is
one yara-x rule per secret rule (case-insensitive literals, or `/regex/` in yara-x syntax): yara-x
finds every keyword of every rule in one Aho-Corasick pass over a file, in Rust, and reports where;
the Python regexes then run only in small windows around those hits. Binaries get a second, smaller
prefilter holding only the rules marked `binary`.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

import yara_x

from lashing.errors import LashingError
from lashing.model import Severity
from lashing.yamlload import load_bundled, safe_load

DEFAULT_BEFORE = 128
DEFAULT_AFTER = 512
# yara-x keeps every match of a keyword; a file repeating one keyword more often than this is only
# searched around the first hits (the regex windows are merged, so this bounds memory, not recall).
MAX_MATCHES_PER_KEYWORD = 20_000


class RuleError(LashingError):
    """The secret rule catalog is malformed."""


@dataclass(frozen=True)
class Rule:
    """One secret rule (see rules.yaml for the meaning of each field)."""

    id: str
    title: str
    category: str
    severity: Severity
    regex: re.Pattern[bytes]
    keywords: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    entropy: float | None = None
    validate: str | None = None
    paths: tuple[re.Pattern[str], ...] = ()
    binary: bool = False
    generic: bool = False
    before: int = DEFAULT_BEFORE
    after: int = DEFAULT_AFTER
    description: str = ""
    remediation: str = ""
    examples: Mapping[str, tuple[str, ...]] = field(default_factory=dict, compare=False, hash=False)
    example_path: str = ""

    def applies_to(self, path: str) -> bool:
        return not self.paths or any(p.search(path) for p in self.paths)


@dataclass(frozen=True)
class AllowRule:
    id: str
    description: str
    secret: re.Pattern[str]


class Catalog:
    """Compiled rules, allow rules, path contexts and the yara-x keyword prefilter."""

    def __init__(
        self,
        rules: Sequence[Rule],
        allow: Sequence[AllowRule] = (),
        fixture_paths: Sequence[str] = (),
        third_party_paths: Sequence[str] = (),
        third_party_fixture_paths: Sequence[str] = (),
        max_file_size: int = 10 * 1024 * 1024,
        digest: str = "",
    ):
        self.rules = tuple(rules)
        self.allow = tuple(allow)
        self.fixture_paths = tuple(re.compile(p) for p in fixture_paths)
        self.third_party_paths = tuple(re.compile(p) for p in third_party_paths)
        self.third_party_fixture_paths = tuple(re.compile(p) for p in third_party_fixture_paths)
        self.max_file_size = max_file_size
        self.digest = digest
        self.path_only = tuple(i for i, r in enumerate(self.rules) if not r.keywords)
        # Binaries (most of an image's bytes) are searched for the few binary rules' keywords only.
        self._prefilters = (
            _compile_prefilter(self.rules, binary_only=False),
            _compile_prefilter(self.rules, binary_only=True),
        )
        self._local = threading.local()

    def keyword_hits(self, content: bytes, binary: bool = False) -> dict[int, list[int]]:
        """Rule index -> sorted offsets of its keywords in `content` (one yara-x pass)."""
        scanners = getattr(self._local, "scanners", None)
        if scanners is None:  # yara-x scanners belong to the thread that made them
            scanners = tuple(yara_x.Scanner(rules) for rules in self._prefilters)
            for scanner in scanners:
                scanner.max_matches_per_pattern(MAX_MATCHES_PER_KEYWORD)
            self._local.scanners = scanners
        hits: dict[int, list[int]] = {}
        for rule in scanners[binary].scan(content).matching_rules:
            offsets = sorted(m.offset for p in rule.patterns for m in p.matches)
            hits[int(rule.identifier[1:])] = offsets
        return hits

    def is_fixture(self, path: str) -> bool:
        """Test, example or documentation data: findings there are capped at LOW."""
        if any(p.search(path) for p in self.fixture_paths):
            return True
        return any(p.search(path) for p in self.third_party_fixture_paths) and self.is_third_party(path)

    def is_third_party(self, path: str) -> bool:
        return any(p.search(path) for p in self.third_party_paths)

    def allowed(self, secret: str) -> str | None:
        """The id of the allow rule that exempts `secret`, if any."""
        for rule in self.allow:
            if rule.secret.search(secret):
                return rule.id
        return None


def _yara_literal(text: str) -> str:
    if not text.isascii() or not text.isprintable():
        raise RuleError(f"secret rule keyword {text!r} must be printable ASCII")
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _keyword(text: str) -> str:
    """Literal keywords match case-insensitively; `/regex/` keywords are yara-x regular expressions."""
    return text if len(text) > 2 and text.startswith("/") and text.endswith("/") else text.lower()


def _yara_string(text: str) -> str:
    if len(text) > 2 and text.startswith("/") and text.endswith("/"):
        return f"{text} nocase"
    return f"{_yara_literal(text)} nocase"


def _compile_prefilter(rules: Sequence[Rule], binary_only: bool) -> yara_x.Rules:
    compiler = yara_x.Compiler()
    for index, rule in enumerate(rules):
        if not rule.keywords or (binary_only and not rule.binary):
            continue
        strings = " ".join(f"$k{i} = {_yara_string(k)}" for i, k in enumerate(rule.keywords))
        try:
            compiler.add_source(f"rule r{index} {{ strings: {strings} condition: any of them }}")
        except yara_x.CompileError as exc:
            raise RuleError(f"secret rule {rule.id}: bad keyword: {str(exc).splitlines()[0]}") from None
    return compiler.build()


def _compile_regex(text: str, what: str) -> re.Pattern[bytes]:
    try:
        return re.compile(text.encode())
    except re.error as exc:
        raise RuleError(f"{what}: bad regex: {exc}") from None


def _rule(doc: Mapping[str, Any]) -> Rule:
    try:
        rule_id = str(doc["id"])
        regex = _compile_regex(str(doc["regex"]), rule_id)
        if not any(name.startswith("secret") for name in regex.groupindex):
            raise RuleError(f"{rule_id}: the regex needs a group named secret")
        keywords = tuple(_keyword(str(k)) for k in doc.get("keywords") or ())
        if not keywords and not doc.get("paths"):
            raise RuleError(f"{rule_id}: a rule needs keywords or paths")
        examples = {k: tuple(v) for k, v in (doc.get("examples") or {}).items()}
        return Rule(
            id=rule_id,
            title=str(doc["title"]),
            category=str(doc.get("category", "")),
            severity=Severity.parse(str(doc["severity"])),
            regex=regex,
            keywords=keywords,
            aliases=tuple(str(a) for a in doc.get("aliases") or ()),
            entropy=float(doc["entropy"]) if doc.get("entropy") is not None else None,
            validate=doc.get("validate"),
            paths=tuple(re.compile(p) for p in doc.get("paths") or ()),
            binary=bool(doc.get("binary", False)),
            generic=bool(doc.get("generic", False)),
            before=int(doc.get("before", DEFAULT_BEFORE)),
            after=int(doc.get("after", DEFAULT_AFTER)),
            description=str(doc.get("description", "")),
            remediation=str(doc.get("remediation", "")),
            examples=examples,
            example_path=str(doc.get("example_path", "")),
        )
    except (KeyError, TypeError, ValueError, re.error) as exc:
        raise RuleError(f"secret rule {doc.get('id', '?')}: {exc}") from None


def parse_catalog(text: str, bundled: bool = False) -> Catalog:
    """Build a Catalog from the YAML text of a rule file (`bundled`: the one shipped with lashing)."""
    doc = load_bundled(text) if bundled else safe_load(text)
    if not isinstance(doc, dict) or not isinstance(doc.get("rules"), list):
        raise RuleError("a secret rule file is a mapping with a `rules` list")
    rules = [_rule(r) for r in doc["rules"]]
    ids = [r.id for r in rules]
    if len(set(ids)) != len(ids):
        raise RuleError("secret rule ids must be unique")
    allow = [
        AllowRule(str(a["id"]), str(a.get("description", "")), re.compile(str(a["secret"])))
        for a in doc.get("allow") or ()
    ]
    return Catalog(
        rules,
        allow,
        fixture_paths=doc.get("fixture_paths") or (),
        third_party_paths=doc.get("third_party_paths") or (),
        third_party_fixture_paths=doc.get("third_party_fixture_paths") or (),
        max_file_size=int(doc.get("max_file_size", 10 * 1024 * 1024)),
        digest=hashlib.sha256(text.encode()).hexdigest(),
    )


def builtin_rules_text() -> str:
    return resources.files(__package__).joinpath("rules.yaml").read_text(encoding="utf-8")


@cache
def builtin_catalog() -> Catalog:
    """The rules shipped with lashing (parsed and compiled once per process)."""
    return parse_catalog(builtin_rules_text(), bundled=True)
