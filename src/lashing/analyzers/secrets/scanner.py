"""Find secrets in one file's bytes: keyword prefilter, windowed regexes, checks, redaction.

    scanner = SecretScanner()
    findings = scanner.scan("root/.aws/credentials", data)

A file is rejected without running any regex unless one of a rule's keywords occurs in it (one
yara-x pass). Files holding a NUL byte in their first 8 KiB are binaries: only rules marked
`binary` (private keys and prefixed tokens, whose shape alone is distinctive) look at them. A
candidate must then pass the rule's entropy threshold, its validator and the allow rules.

The secret never leaves this module in clear: findings carry a redacted excerpt
(`extra["match"]`), a line number and no value; nothing is logged.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from lashing.analyzers.secrets.rules import Catalog, Rule, builtin_catalog
from lashing.model import Finding, FindingKind, Location, Severity

BINARY_SNIFF = 8192
EXCERPT_CONTEXT = 40
MAX_STARS = 24


@dataclass(frozen=True)
class Candidate:
    rule: Rule
    rule_index: int
    start: int  # whole match
    end: int
    secret_start: int
    secret_end: int


def shannon_entropy(data: str | bytes) -> float:
    """Bits per symbol of `data` (0 for empty input)."""
    if not data:
        return 0.0
    counts = Counter(data)
    total = len(data)
    return -sum(c / total * math.log2(c / total) for c in counts.values())


def redact(secret: str) -> str:
    """Keep a few characters for recognition, star out the rest (never more than a quarter shown)."""
    n = len(secret)
    if n >= 16:
        shown = 4
        return secret[:shown] + "*" * min(n - 2 * shown, MAX_STARS) + secret[-shown:]
    if n >= 8:
        return secret[:2] + "*" * (n - 2)
    return "*" * max(n, 3)


def is_binary(content: bytes) -> bool:
    return b"\0" in content[:BINARY_SNIFF]


class SecretScanner:
    """Scans bytes with a rule catalog (the built-in one by default). Thread-safe."""

    def __init__(self, catalog: Catalog | None = None):
        self.catalog = catalog or builtin_catalog()

    def scan(self, path: str, content: bytes) -> list[Finding]:
        """Every secret in `content` (the file at `path`), as findings without layer information."""
        if not content or len(content) > self.catalog.max_file_size:
            return []
        binary = is_binary(content)
        kept = self.locate(path, content, binary)
        if not kept:
            return []
        context = ""
        if self.catalog.is_fixture(path):
            context = "fixture"
        elif binary and self.catalog.is_third_party(path):
            context = "third-party-binary"
        return [self._finding(c, path, content, context) for c in kept]

    def locate(self, path: str, content: bytes, binary: bool | None = None) -> list[Candidate]:
        """Where the secrets are (one candidate per secret, overlaps resolved), in file order."""
        if binary is None:
            binary = is_binary(content)
        candidates = list(self._candidates(path, content, binary))
        return _drop_overlaps(candidates) if candidates else []

    def redact_text(self, text: str, path: str = "<text>") -> str:
        """`text` with every secret the rules find replaced by its redacted form."""
        data = text.encode("utf-8", "surrogateescape")
        kept = self.locate(path, data)
        for c in sorted(kept, key=lambda c: c.secret_start, reverse=True):
            secret = data[c.secret_start : c.secret_end].decode("utf-8", "replace")
            data = data[: c.secret_start] + redact(secret).encode() + data[c.secret_end :]
        return data.decode("utf-8", "replace") if kept else text

    # -- candidates -----------------------------------------------------------------------------
    def _candidates(self, path: str, content: bytes, binary: bool) -> Iterator[Candidate]:
        catalog = self.catalog
        hits = catalog.keyword_hits(content, binary)
        work = [
            (i, _windows(offsets, catalog.rules[i].before, catalog.rules[i].after, len(content)))
            for i, offsets in hits.items()
        ]
        work.extend((i, [(0, len(content))]) for i in catalog.path_only)
        third_party: bool | None = None
        for index, windows in sorted(work):
            rule = catalog.rules[index]
            if (binary and not rule.binary) or not rule.applies_to(path):
                continue
            if rule.generic:
                if third_party is None:
                    third_party = catalog.is_third_party(path) or catalog.is_fixture(path)
                if third_party:
                    continue
            yield from self._search(rule, index, content, windows)

    def _search(self, rule: Rule, index: int, content: bytes, windows: list[tuple[int, int]]) -> Iterator[Candidate]:
        seen: set[tuple[int, int]] = set()
        for start, end in windows:
            for match in rule.regex.finditer(content, start, end):
                group = _secret_group(match)
                if group is None:
                    continue
                span = match.span(group)
                if span in seen:
                    continue
                seen.add(span)
                if self._accept(rule, match, group, content):
                    yield Candidate(rule, index, match.start(), match.end(), *span)

    def _accept(self, rule: Rule, match: re.Match[bytes], group: str, content: bytes) -> bool:
        raw = match.group(group)
        secret = raw.decode("utf-8", "replace")
        if rule.entropy is not None and shannon_entropy(raw) < rule.entropy:
            return False
        if self.catalog.allowed(secret) is not None:
            return False
        if rule.validate:
            check = VALIDATORS.get(rule.validate)
            if check is None or not check(secret, match, content):
                return False
        return True

    # -- findings -------------------------------------------------------------------------------
    def _finding(self, c: Candidate, path: str, content: bytes, context: str) -> Finding:
        rule = c.rule
        lead = content[c.start : c.secret_start]
        start = c.start + len(lead) - len(lead.lstrip())  # the match's first visible character
        line = content.count(b"\n", 0, start) + 1
        end_line = line + content.count(b"\n", start, max(start, c.end - 1))
        severity = min(rule.severity, Severity.LOW) if context else rule.severity
        extra = {"match": excerpt(content, c), "category": rule.category}
        if context:
            extra["context"] = context
        description = rule.description or (
            f"{rule.title} found in plain text. Anyone who can pull the image can read it, "
            "even when a later layer deletes the file. The value is redacted here."
        )
        return Finding(
            id=rule.id,
            kind=FindingKind.SECRET,
            severity=severity,
            title=rule.title,
            description=description,
            location=Location(path, None, line, end_line if end_line != line else None),
            aliases=rule.aliases,
            remediation=rule.remediation,
            extra=extra,
        )


def excerpt(content: bytes, c: Candidate) -> str:
    """The matched text around the secret, the secret redacted, on one line, bounded."""
    before = content[max(c.start, c.secret_start - EXCERPT_CONTEXT) : c.secret_start]
    after = content[c.secret_end : min(c.end, c.secret_end + EXCERPT_CONTEXT)]
    secret = content[c.secret_start : c.secret_end].decode("utf-8", "replace")
    multi_line = "\n" in secret or "\\n" in secret  # a key block: show nothing of it
    hidden = "*" * MAX_STARS if multi_line else redact(secret)

    def clean(b: bytes) -> str:
        return b.decode("utf-8", "replace").replace("\r", "\\r").replace("\n", "\\n")

    return clean(before) + hidden + clean(after)


def _secret_group(match: re.Match[bytes]) -> str | None:
    for name, value in match.groupdict().items():
        if name.startswith("secret") and value:
            return name
    return None


def _windows(offsets: list[int], before: int, after: int, size: int) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for offset in offsets:
        start, end = max(0, offset - before), min(size, offset + after)
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _drop_overlaps(candidates: list[Candidate]) -> list[Candidate]:
    """One finding per secret: where spans overlap, a specific rule beats a generic one, then the most
    severe (then the first listed) wins."""
    ordered = sorted(candidates, key=lambda c: (c.rule.generic, -c.rule.severity, c.rule_index, c.secret_start))
    kept: list[Candidate] = []
    for c in ordered:
        if all(c.secret_end <= k.secret_start or c.secret_start >= k.secret_end for k in kept):
            kept.append(c)
    return sorted(kept, key=lambda c: (c.secret_start, c.rule_index))


# -- validators ---------------------------------------------------------------------------------

_PLACEHOLDER_WORDS = """password passwd pass pwd secret secrets token apikey api_key changeme changeit letmein
    default none null nil undefined true false admin administrator root user username test
    testing guest demo foobar foo bar baz qwerty 123456 12345678 123456789 password1 password123
    passw0rd p4ssw0rd mypassword yourpassword mysecret yoursecret secretpassword s3cr3t
    postgres mysql redis mongo rabbitmq guest:guest"""
PLACEHOLDERS = frozenset(_PLACEHOLDER_WORDS.split())
_CODE_LIKE = re.compile(
    r"^[$%@&]|[(){}\[\]<>]|^\w+(?:\.\w+)+$|^(?:self|this|os|env|process|config|settings|params|args|kwargs|request)\b"
    r"|getenv|environ|secretKeyRef|valueFrom|vault:|keyring|\\[nrt]"
)
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$|^[A-Za-z][A-Za-z0-9]*(?:[-_][A-Za-z0-9]+)*$")
_KEY_NOT_SECRET = re.compile(
    r"(?i)(?:file|path|dir|length|len|min|max|prompt|policy|hash|hashed|field|label|placeholder|regex|pattern|"
    r"type|name|id|format|url|uri|validator|input|chars?|days|age|reset|confirm|message|msg|error|count|"
    r"expir\w*|timeout|ttl|header|endpoint|env|var|command|cmd|mode|method|algorithm|alg|strength|required|"
    r"enabled?|disabled?|helper|store|provider|source|ref|key_?id|policy_?arn|arn|version|size|limit)$"
)


def not_placeholder(secret: str, match: re.Match[bytes], content: bytes) -> bool:
    value = secret.strip()
    lowered = value.lower()
    if lowered in PLACEHOLDERS or len(set(lowered)) <= 2:
        return False
    if _CODE_LIKE.search(value):
        return False
    user = match.groupdict().get("user")
    return not (user and user.decode("utf-8", "replace").lower() == lowered)


def generic_value(secret: str, match: re.Match[bytes], content: bytes) -> bool:
    """A keyword=value candidate: reject code, references, identifiers and placeholders."""
    if not not_placeholder(secret, match, content):
        return False
    key = (match.group("key") or b"").decode("utf-8", "replace")
    if _KEY_NOT_SECRET.search(key):
        return False
    value = secret.strip()
    lowered = value.lower()
    if any(word in lowered for word in ("password", "passwd", "secret", "token", "example", "xxxx")):
        return False
    classes = sum(
        (
            any(ch.islower() for ch in value),
            any(ch.isupper() for ch in value),
            any(ch.isdigit() for ch in value),
            any(not ch.isalnum() for ch in value),
        )
    )
    if classes < 2:
        return False
    # identifiers and file names: snake_case, kebab-case, dotted names, paths
    if "/" in value and not re.search(r"[+=]", value) and value.count("/") >= 2:
        return False
    return not (_IDENTIFIER.match(value) and not any(ch.isdigit() for ch in value))


def docker_auth(secret: str, match: re.Match[bytes], content: bytes) -> bool:
    if match.group(0).startswith(b'"identitytoken"'):
        return len(secret) >= 20 and shannon_entropy(secret) >= 3.5
    try:
        decoded = base64.b64decode(secret + "=" * (-len(secret) % 4), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return False
    user, sep, password = decoded.partition(":")
    return bool(sep and user and password) and password.lower() not in PLACEHOLDERS


def gcp_service_account(secret: str, match: re.Match[bytes], content: bytes) -> bool:
    return b'"client_email"' in content and b"service_account" in content


def jwt(secret: str, match: re.Match[bytes], content: bytes) -> bool:
    header = secret.split(".", 1)[0]
    try:
        doc = json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return False
    return isinstance(doc, dict) and "alg" in doc


VALIDATORS: dict[str, Callable[[str, re.Match[bytes], bytes], bool]] = {
    "not_placeholder": not_placeholder,
    "generic_value": generic_value,
    "docker_auth": docker_auth,
    "gcp_service_account": gcp_service_account,
    "jwt": jwt,
}
