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
    r"(pass(word|wd)?|secret|token(?!iz)|api[_-]?key|apikey|private[_-]?key|access[_-]?key|credential|auth)",
    re.IGNORECASE)
# ...but these name what points at a credential (a file, a Secret's name, a version, an env variable).
NOT_SECRET_NAME = re.compile(r"(_file|_path|_dir|_url|_host|_user(name)?|_port|_length|_ttl|_enabled|_header"
                             r"|_name|_id|_version|_ref|_?env)$", re.IGNORECASE)
IDENTIFIER = re.compile(r"^[A-Za-z_][\w.-]*$")
_REFERENCE = r"\$\{?[\w.:-]+\}?|<[^>]*>"  # ${VAR}, $VAR, <fill-me-in>
PLACEHOLDER = re.compile(rf"^({_REFERENCE}|changeme|xxx+|\*+|true|false|none|null|example\w*)$", re.IGNORECASE)
KNOWN_SECRET = re.compile(
    r"(AKIA[0-9A-Z]{16}|ghp_[A-Za-z0-9]{36}|github_pat_\w{40,}|xox[abpr]-[\w-]{10,}|sk_live_\w{16,}"
    r"|-{3,5} ?BEGIN [A-Z ]*PRIVATE KEY ?-{3,5}|eyJ[\w-]{10,}\.eyJ[\w-]{10,}\.[\w-]{10,})")
# Variables that hold a credential by name, whatever the value looks like (cloud SDKs' own names).
CREDENTIAL_NAME = re.compile(
    r"(secret[_-]?access[_-]?key|session[_-]?token|(batch|account|storage|master|signing|encryption)[_-]?key"
    r"|key[_-]?content|client[_-]?secret|private[_-]?key|pass(word|wd))$", re.IGNORECASE)
REFERENCE = re.compile(rf"^({_REFERENCE}|\{{\{{.*\}}\}})$")  # ...or a template expression


def entropy(text: str) -> float:
    """Shannon entropy in bits per character."""
    if not text:
        return 0.0
    counts = Counter(text)
    return -sum(n / len(text) * math.log2(n / len(text)) for n in counts.values())


def looks_secret(name: str, value: str | None, short_ok: bool = True) -> str:
    """Why a name/value pair looks like a literal secret ("" when it does not). `short_ok=False` also
    wants a value of 8+ characters with some entropy (lines inside config files: `passwd: compat`)."""
    if not value:
        return ""
    value = value.strip()
    if KNOWN_SECRET.search(value):
        return "value matches a known credential format"
    if not SECRET_NAME.search(name) or NOT_SECRET_NAME.search(name):
        return ""
    if len(value) < 6 or PLACEHOLDER.match(value) or value.startswith(("/", "http://", "https://")):
        return ""
    if value.upper().startswith(name.upper()):  # GOOGLE_API_KEY: GOOGLE_API_KEY_VAL, a fill-me-in marker
        return ""
    if len(value) >= 8 and entropy(value) >= 2.5:
        return f"name {name!r} and a high-entropy literal value"
    return f"name {name!r} with a literal value" if short_ok and len(value) >= 6 and entropy(value) >= 2.0 else ""


def secret_env_literal(target: Target, settings: Settings) -> CheckResult:
    """Containers whose env sets a secret-looking variable to a literal (not secretKeyRef)."""
    for container in target.containers:
        for index, env in enumerate(container.data["env"]):
            reason = looks_secret(env["name"], env["value"])
            if reason:
                yield container, f"env.{index}.value", f"{env['name']}: {reason}"


def secret_in_configmap(target: Target, settings: Settings) -> CheckResult:
    """ConfigMap data keys that hold secret-looking literals (also `KEY=value` lines inside values). A key
    named like a credential (`AWS_SECRET_ACCESS_KEY`, `db_password`) counts even with a dummy value: a
    ConfigMap is the wrong place for it whatever this copy of the file holds."""
    for key, value in target.data["data"].items():
        if not isinstance(value, str):
            continue
        reason = looks_secret(str(key), value)
        if not reason and value.strip() and CREDENTIAL_NAME.search(str(key)) and not REFERENCE.match(value.strip()):
            reason = "a credential-named key in a ConfigMap"
        if reason:
            yield None, f"data.{key}", f"{key}: {reason}"
            continue
        for line in value.splitlines()[:2000]:
            name, sep, literal = line.partition("=") if "=" in line else line.partition(":")
            name, literal = name.strip(), literal.strip().strip("'\"")
            if not sep or not IDENTIFIER.match(name) or any(c in literal for c in "([{ \t"):
                continue  # code or a directive list (nsswitch's `passwd: files systemd`), not KEY=value
            if reason := looks_secret(name, literal, short_ok=False):
                yield None, f"data.{key}", f"{key}/{name}: {reason}"
                break
