"""Python checks for the few rules CEL cannot express well (name heuristics, entropy).

Each check takes `(target, settings)` and yields `(container or None, field for the line, detail)`.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterator
from typing import TYPE_CHECKING

from lashing.analyzers.config.target import ContainerTarget, Target

if TYPE_CHECKING:
    from lashing.analyzers.config.engine import Settings

CheckResult = Iterator[tuple[ContainerTarget | None, str, str]]

SECRET_NAME = re.compile(
    r"(pass(word|wd)?|secret|token|api[_-]?key|apikey|private[_-]?key|access[_-]?key|credential|auth)",
    re.IGNORECASE)
NOT_SECRET_NAME = re.compile(r"(_file|_path|_dir|_url|_host|_user(name)?|_port|_length|_ttl|_enabled|_header)$",
                             re.IGNORECASE)
PLACEHOLDER = re.compile(r"^(\$\{?[\w.:-]+\}?|<[^>]*>|changeme|xxx+|\*+|true|false|none|null|example\w*)$",
                         re.IGNORECASE)
KNOWN_SECRET = re.compile(
    r"(AKIA[0-9A-Z]{16}|ghp_[A-Za-z0-9]{36}|github_pat_\w{40,}|xox[abpr]-[\w-]{10,}|sk_live_\w{16,}"
    r"|-----BEGIN [A-Z ]*PRIVATE KEY-----|eyJ[\w-]{10,}\.eyJ[\w-]{10,}\.[\w-]{10,})")


def entropy(text: str) -> float:
    """Shannon entropy in bits per character."""
    if not text:
        return 0.0
    counts = Counter(text)
    return -sum(n / len(text) * math.log2(n / len(text)) for n in counts.values())


def looks_secret(name: str, value: str | None) -> str:
    """Why a name/value pair looks like a literal secret ("" when it does not)."""
    if not value:
        return ""
    value = value.strip()
    if KNOWN_SECRET.search(value):
        return "value matches a known credential format"
    if not SECRET_NAME.search(name) or NOT_SECRET_NAME.search(name):
        return ""
    if len(value) < 6 or PLACEHOLDER.match(value) or value.startswith(("/", "http://", "https://")):
        return ""
    if len(value) >= 8 and entropy(value) >= 2.5:
        return f"name {name!r} and a high-entropy literal value"
    return f"name {name!r} with a literal value" if len(value) >= 6 and entropy(value) >= 2.0 else ""


def secret_env_literal(target: Target, settings: Settings) -> CheckResult:
    """Containers whose env sets a secret-looking variable to a literal (not secretKeyRef)."""
    for container in target.containers:
        for index, env in enumerate(container.data["env"]):
            reason = looks_secret(env["name"], env["value"])
            if reason:
                yield container, f"env.{index}.value", f"{env['name']}: {reason}"


def secret_in_configmap(target: Target, settings: Settings) -> CheckResult:
    """ConfigMap data keys that hold secret-looking literals (also `KEY=value` lines inside values)."""
    for key, value in target.data["data"].items():
        if not isinstance(value, str):
            continue
        reason = looks_secret(str(key), value)
        if reason:
            yield None, f"data.{key}", f"{key}: {reason}"
            continue
        for line in value.splitlines()[:2000]:
            name, sep, literal = line.partition("=") if "=" in line else line.partition(":")
            if sep and (reason := looks_secret(name.strip(), literal.strip().strip("'\""))):
                yield None, f"data.{key}", f"{key}/{name.strip()}: {reason}"
                break
