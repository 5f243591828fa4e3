"""Secrets in the image config and history: what `docker inspect` and `docker history` show anyone.

Each value is scanned with the same rules as files, under a pseudo-path that cannot clash with a
file path (file paths never start with '<'):

    <image config>/Env          one entry per line number (1-based index into config.Env)
    <image config>/Labels       "key=value", line = 1-based position in the label mapping
    <image config>/Cmd          the arguments joined by spaces, line 1
    <image config>/Entrypoint   likewise
    <image history>             history[i].created_by (build args show up here), line = i + 1

`extra["field"]` names the exact field (`Env[2]`, `Labels[com.example.token]`, `history[5].created_by`).
History findings carry the diff_id of the layer that entry produced (when it produced one) as their
layer and `added_by_layer`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from typing import Any

from lashing.analyzers.secrets.scanner import PLACEHOLDERS, SecretScanner, redact
from lashing.model import Finding, FindingKind, Layer, Location, Severity
from lashing.sources.image.interface import history_entries

CONFIG_PATH = "<image config>"
HISTORY_PATH = "<image history>"
MAX_VALUE_BYTES = 1024 * 1024


def _texts(config: Mapping[str, Any]) -> Iterator[tuple[str, int, str, str]]:
    """(pseudo-path, line, field, text) for every scanned value of the config."""
    inner = config.get("config")
    inner = inner if isinstance(inner, Mapping) else {}
    env = inner.get("Env")
    if isinstance(env, list):
        for i, item in enumerate(env):
            if isinstance(item, str):
                yield f"{CONFIG_PATH}/Env", i + 1, f"Env[{i}]", item
    labels = inner.get("Labels")
    if isinstance(labels, Mapping):
        for i, (key, value) in enumerate(labels.items()):
            yield f"{CONFIG_PATH}/Labels", i + 1, f"Labels[{key}]", f"{key}={value}"
    for name in ("Cmd", "Entrypoint"):
        value = inner.get(name)
        if isinstance(value, list):
            yield f"{CONFIG_PATH}/{name}", 1, name, " ".join(str(v) for v in value)
        elif isinstance(value, str):
            yield f"{CONFIG_PATH}/{name}", 1, name, value


def scan_image_config(
    config: Mapping[str, Any], layers: Sequence[Layer], scanner: SecretScanner | None = None
) -> list[Finding]:
    """Secret findings in Env, Labels, Cmd, Entrypoint and the history's created_by lines."""
    scanner = scanner or SecretScanner()
    found: list[Finding] = []
    for path, line, field, text in _texts(config):
        hits = _scan(scanner, path, line, field, text, None)
        if not hits and field.startswith("Env["):
            hits = _env_credential(path, line, field, text)
        found.extend(hits)
    for i, created_by, layer in history_entries(config, layers):
        found.extend(_scan(scanner, HISTORY_PATH, i + 1, f"history[{i}].created_by", created_by, layer))
    return found


# Variable names that hold a credential (dockle's CIS-DI-0010 idea): `DB_PASSWORD`, `API_TOKEN`, `SECRET_KEY`...
_SENSITIVE_NAME = re.compile(
    r"(?:^|_)(?:PASSWORD|PASSWD|PASSPHRASE|PWD|SECRET|TOKEN|API_?KEY|ACCESS_?KEY|PRIVATE_?KEY|CREDENTIALS?)(?:$|_)",
    re.IGNORECASE,
)
_NOT_A_VALUE_NAME = re.compile(
    r"_(?:FILE|PATH|DIR|URL|URI|HOST|PORT|USER|USERNAME|NAME|LENGTH|TTL|EXPIRY|ENABLED)$", re.IGNORECASE
)
_NOT_A_SECRET_VALUE = re.compile(r"^(?:|true|false|yes|no|on|off|none|null|\d{1,2}|/\S*|\$.*|.*\$\{.*\}.*)$", re.I)


def _env_credential(path: str, line: int, field: str, text: str) -> list[Finding]:
    """A literal value in a credential-named Env variable: visible to anyone who pulls the image, whatever
    its entropy (a default `POSTGRES_PASSWORD=postgres` is exactly what attackers try first)."""
    name, sep, value = text.partition("=")
    value = value.strip().strip("\"'")
    if not sep or not _SENSITIVE_NAME.search(name) or _NOT_A_VALUE_NAME.search(name):
        return []
    if _NOT_A_SECRET_VALUE.match(value):
        return []
    placeholder = value.lower() in PLACEHOLDERS or value.lower() in ("example", "test", "demo", "default")
    return [Finding(
        id="LSH-SECRET-ENV-CREDENTIAL",
        kind=FindingKind.SECRET,
        severity=Severity.MEDIUM if placeholder else Severity.HIGH,
        title="Credential in an image environment variable",
        description=f"{name} holds a literal value in the image config; anyone who can pull the image reads it.",
        location=Location(path, None, line),
        aliases=("CIS-DI-0010",),
        remediation="Pass the value at run time (secret store, orchestrator secret, --env-file) instead of ENV.",
        extra={"match": f"{name}={redact(value)}", "field": field, "category": "Credentials",
               "added_by_layer": "", "deleted_by_layer": "", "removed_how": ""},
    )]  # fmt: skip


def _scan(scanner: SecretScanner, path: str, line: int, field: str, text: str, layer: Layer | None) -> list[Finding]:
    data = text.encode("utf-8", "replace")[:MAX_VALUE_BYTES]
    out = []
    for finding in scanner.scan(path, data):
        diff_id = layer.diff_id if layer is not None else None
        extra = {
            **finding.extra,
            "field": field,
            "added_by_layer": diff_id or "",
            "deleted_by_layer": "",
            "removed_how": "",
        }
        out.append(replace(finding, location=Location(path, diff_id, line), extra=extra))
    return out
