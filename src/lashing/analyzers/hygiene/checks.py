"""The image hygiene checks (dockle / CIS Docker Benchmark) on the image config, history and OS.

    findings = check_image(config, layers, os_info, packages, today=date(2025, 1, 1),
                           allowed_registries=["ghcr.io/acme"], reference="ghcr.io/acme/app:1")

`config` is the whole image config blob (`config`, `history`, `created`); every check is one small
function below, its metadata in checks.yaml. Findings point at pseudo-paths that never clash with
files: `<image config>/User`, `<image history>` (line = history index + 1, layer = the layer that
entry produced), `<image reference>`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import date, timedelta
from typing import Any

from lashing.analyzers.hygiene.catalog import finding
from lashing.analyzers.hygiene.policy import check_registries
from lashing.model import Finding, Layer, Location, OSInfo, Package, Severity
from lashing.sources.image.interface import history_entries

CONFIG_PATH = "<image config>"
HISTORY_PATH = "<image history>"
DEFAULT_MAX_AGE_DAYS = 180
EOL_WARNING_DAYS = 90
BASE_NAME_LABEL = "org.opencontainers.image.base.name"
BASE_DIGEST_LABEL = "org.opencontainers.image.base.digest"
ROOT_USERS = frozenset({"", "root", "0"})
SSH_SERVER_PACKAGES = frozenset({"openssh-server", "openssh", "dropbear", "dropbear-bin", "tinysshd"})
SENSITIVE_VOLUMES = frozenset(
    {"/", "/proc", "/sys", "/dev", "/etc", "/boot", "/lib", "/usr", "/bin", "/sbin", "/root", "/var/lib/docker"}
    | {"/var/run/docker.sock", "/run/docker.sock", "/var/run", "/run"}
)

_ADD_URL = re.compile(r"\bADD\s+(?:--\S+\s+)*(?:https?|ftp)://\S+", re.IGNORECASE)
_UPGRADE = re.compile(
    r"\b(?:(?:apt-get|apt|aptitude)\s+(?:-\S+\s+)*(?:dist-upgrade|full-upgrade|upgrade)"
    r"|apk\s+(?:-\S+\s+)*upgrade|(?:yum|dnf|microdnf|zypper)\s+(?:-\S+\s+)*(?:update|upgrade|up|dup)(?=\s|$|;|&))"
)
_APT_INSTALL = re.compile(r"\bapt(?:-get)?\s+(?:-\S+\s+)*install\b")
_APT_LISTS_REMOVED = re.compile(r"rm\s+(?:-\S+\s+)*[^;&|]*?/var/lib/apt/lists")
_APK_ADD = re.compile(r"\bapk\s+(?:--?\S+\s+)*add\b")
_APT_UPDATE = re.compile(r"\b(?:apt-get|apt)\s+(?:-\S+\s+)*update\b|\bapk\s+(?:-\S+\s+)*update\b")
_INSTALL = re.compile(r"\b(?:install|add)\b")
_SUDO = re.compile(r"(?:^|[\s;&|(])sudo\s")
_SSHD = re.compile(r"(?:^|[/\s])sshd(?:\s|$)")
_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})")


def _inner(config: Mapping[str, Any]) -> Mapping[str, Any]:
    inner = config.get("config")
    return inner if isinstance(inner, Mapping) else {}


def _history(config: Mapping[str, Any], layers: Sequence[Layer]) -> Iterator[tuple[int, str, Layer | None]]:
    """(history index, created_by, the layer it produced or None) for every entry with a created_by."""
    return history_entries(config, layers)


def _history_finding(check_id: str, index: int, text: str, layer: Layer | None, match: str = "") -> Finding:
    diff_id = layer.diff_id if layer is not None else None
    shown = match or text
    return finding(
        check_id,
        Location(HISTORY_PATH, diff_id, index + 1),
        extra={
            "field": f"history[{index}].created_by",
            "match": shown[:77] + "..." if len(shown) > 80 else shown,
            "added_by_layer": diff_id or "",
            "deleted_by_layer": "",
            "removed_how": "",
        },
    )


# -- config checks ---------------------------------------------------------------------------------


def check_user(config: Mapping[str, Any]) -> list[Finding]:
    user = str(_inner(config).get("User") or "").strip()
    name = user.partition(":")[0]
    if name not in ROOT_USERS:
        return []
    shown = user or "(not set)"
    return [finding("LSH-IMG-ROOT-USER", Location(f"{CONFIG_PATH}/User"), extra={"match": shown})]


def check_healthcheck(config: Mapping[str, Any]) -> list[Finding]:
    health = _inner(config).get("Healthcheck")
    test = health.get("Test") if isinstance(health, Mapping) else None
    if isinstance(test, list) and test and test[0] != "NONE":
        return []
    shown = "HEALTHCHECK NONE" if isinstance(test, list) and test else "(none)"
    return [finding("LSH-IMG-NO-HEALTHCHECK", Location(f"{CONFIG_PATH}/Healthcheck"), extra={"match": shown})]


def check_ssh(config: Mapping[str, Any], packages: Sequence[Package]) -> list[Finding]:
    out = []
    inner = _inner(config)
    ports = inner.get("ExposedPorts")
    for port in ports if isinstance(ports, Mapping) else []:
        if str(port).split("/")[0] == "22" and not str(port).endswith("/udp"):
            out.append(finding("LSH-IMG-SSH-PORT", Location(f"{CONFIG_PATH}/ExposedPorts"), extra={"match": str(port)}))
            break
    for field in ("Entrypoint", "Cmd"):
        value = inner.get(field)
        text = " ".join(str(v) for v in value) if isinstance(value, list) else str(value or "")
        if _SSHD.search(text):
            out.append(finding("LSH-IMG-SSHD-COMMAND", Location(f"{CONFIG_PATH}/{field}"), extra={"match": text[:80]}))
            break
    for package in packages:
        if package.type.is_os and package.name in SSH_SERVER_PACKAGES:
            where = package.locations[0] if package.locations else None
            out.append(finding("LSH-IMG-SSH-SERVER", where, extra={"match": f"{package.name} {package.version}"[:80]}))
            break
    return out


def check_base_image(config: Mapping[str, Any]) -> list[Finding]:
    labels = _inner(config).get("Labels")
    labels = labels if isinstance(labels, Mapping) else {}
    name = str(labels.get(BASE_NAME_LABEL) or "").strip()
    if not name or "@sha256:" in name or str(labels.get(BASE_DIGEST_LABEL) or "").startswith("sha256:"):
        return []
    last = name.rsplit("/", 1)[-1]
    tag = last.partition(":")[2]
    where = Location(f"{CONFIG_PATH}/Labels")
    extra = {"match": name[:80], "field": f"Labels[{BASE_NAME_LABEL}]"}
    if not tag or tag == "latest":
        return [finding("LSH-IMG-LATEST-BASE", where, extra=extra)]
    return [finding("LSH-IMG-UNPINNED-BASE", where, extra=extra)]


def check_volumes(config: Mapping[str, Any]) -> list[Finding]:
    volumes = _inner(config).get("Volumes")
    names = [str(v) for v in (volumes if isinstance(volumes, Mapping) else [])]
    hits = [v for v in names if (v.rstrip("/") or "/") in SENSITIVE_VOLUMES]
    if not hits:
        return []
    return [
        finding("LSH-IMG-SENSITIVE-VOLUME", Location(f"{CONFIG_PATH}/Volumes"), extra={"match": ", ".join(hits)[:80]})
    ]


# -- history checks --------------------------------------------------------------------------------


def check_history(config: Mapping[str, Any], layers: Sequence[Layer]) -> list[Finding]:
    out = []
    for index, text, layer in _history(config, layers):
        added = _ADD_URL.search(text)
        if added:
            pinned = "--checksum=" in added.group(0)
            found = _history_finding("LSH-IMG-ADD-REMOTE", index, text, layer, added.group(0))
            out.append(found if not pinned else _with_severity(found, Severity.LOW))
        # the remaining checks concern RUN steps; `#(nop)` lines are metadata instructions
        if "#(nop)" in text or text.lstrip().startswith(("ADD ", "COPY ", "ENV ", "LABEL ", "ARG ")):
            continue
        upgrade = _UPGRADE.search(text)
        if upgrade:
            out.append(_history_finding("LSH-IMG-UPGRADE", index, text, layer, upgrade.group(0)))
        cache_mount = "--mount=type=cache" in text
        apt = _APT_INSTALL.search(text)
        if apt and not cache_mount and not _APT_LISTS_REMOVED.search(text):
            out.append(_history_finding("LSH-IMG-APT-CACHE", index, text, layer, apt.group(0)))
        apk = _APK_ADD.search(text)
        if apk and not cache_mount and "--no-cache" not in text and "/var/cache/apk" not in text:
            out.append(_history_finding("LSH-IMG-APK-CACHE", index, text, layer, apk.group(0)))
        update = _APT_UPDATE.search(text)
        if update and not _INSTALL.search(text[update.end() :]) and not upgrade:
            out.append(_history_finding("LSH-IMG-UPDATE-ALONE", index, text, layer, update.group(0)))
        if _SUDO.search(text):
            out.append(_history_finding("LSH-IMG-SUDO", index, text, layer))
    return out


def _with_severity(found: Finding, severity: Severity) -> Finding:
    return replace(found, severity=severity)


# -- age and end of life ---------------------------------------------------------------------------


def parse_created(value: object) -> date | None:
    """The date part of an RFC 3339 `created` value; None when missing, unparsable or the Unix epoch."""
    if not isinstance(value, str):
        return None
    match = _DATE.match(value.strip())
    if not match:
        return None
    try:
        day = date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError:
        return None
    return day if day.year > 1970 else None


def check_age(config: Mapping[str, Any], today: date, max_age_days: int = DEFAULT_MAX_AGE_DAYS) -> list[Finding]:
    raw = config.get("created")
    created = parse_created(raw)
    where = Location(f"{CONFIG_PATH}/created")
    if created is None:
        return [finding("LSH-IMG-NO-CREATED-DATE", where, extra={"match": str(raw)[:80] if raw else "(none)"})]
    age = (today - created).days
    if age <= max_age_days:
        return []
    return [
        finding(
            "LSH-IMG-STALE",
            where,
            title=f"Stale image: built {age} days ago, rebuild",
            detail=f"Built on {created.isoformat()}, {age} days before {today.isoformat()} (limit {max_age_days}).",
            extra={"match": str(raw)[:80], "age_days": str(age)},
        )
    ]


def check_eol(os_info: OSInfo | None, today: date) -> list[Finding]:
    from lashing.analyzers.vulns.eol import end_of_life

    ended = end_of_life(os_info)
    if os_info is None or ended is None:
        return []
    release = f"{os_info.family} {os_info.version}".strip()
    where = Location("etc/os-release")
    extra = {"match": release[:80], "end_of_life": ended.isoformat()}
    if ended < today:
        return [
            finding(
                "LSH-IMG-EOL",
                where,
                title=f"{release} reached end of life on {ended.isoformat()}",
                detail=f"{release} has had no security updates since {ended.isoformat()}.",
                extra=extra,
            )
        ]
    if ended - today <= timedelta(days=EOL_WARNING_DAYS):
        return [
            finding(
                "LSH-IMG-EOL-SOON",
                where,
                title=f"{release} reaches end of life on {ended.isoformat()}",
                extra=extra,
            )
        ]
    return []


# -- everything ------------------------------------------------------------------------------------


def check_image(
    config: Mapping[str, Any],
    layers: Sequence[Layer] = (),
    os_info: OSInfo | None = None,
    packages: Sequence[Package] = (),
    today: date | None = None,
    *,
    max_age_days: int = DEFAULT_MAX_AGE_DAYS,
    allowed_registries: Sequence[str] = (),
    reference: str = "",
) -> list[Finding]:
    """Every hygiene finding of one image's config, history, OS release and package list.

    `reference` is the image as pulled (registry/repo:tag) for the registry policy; `allowed_registries`
    empty means no restriction. `today` defaults to the current date (injectable for tests).
    """
    today = today or date.today()
    labels = _inner(config).get("Labels")
    base_name = str(labels.get(BASE_NAME_LABEL) or "") if isinstance(labels, Mapping) else ""
    return [
        *check_user(config),
        *check_healthcheck(config),
        *check_ssh(config, packages),
        *check_base_image(config),
        *check_volumes(config),
        *check_history(config, layers),
        *check_age(config, today, max_age_days),
        *check_eol(os_info, today),
        *check_registries(reference, base_name, allowed_registries),
    ]
