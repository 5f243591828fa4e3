"""Image hygiene (dockle / CIS Docker image checks): config, history, age, end of life, registry
policy, and the file checks (setuid files, empty passwords) on a crafted image."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest

from craft import LayerSpec, Member, build_oci_layout
from lashing.analyzers.hygiene import (
    HygieneAnalyzer,
    builtin_checks,
    check_age,
    check_eol,
    check_history,
    check_image,
    check_registries,
    is_allowed,
    normalize_reference,
    parse_created,
)
from lashing.analyzers.image import analyze_image
from lashing.model import FindingKind, Layer, Location, OSInfo, Package, PackageType, Severity
from lashing.sources.image.detect import open_target

TODAY = date(2025, 6, 1)
BASE = "org.opencontainers.image.base.name"
GOOD = {
    "created": "2025-05-20T10:00:00.123456789Z",
    "config": {
        "User": "10001:10001",
        "Healthcheck": {"Test": ["CMD", "/app/health"]},
        "ExposedPorts": {"8080/tcp": {}},
        "Cmd": ["/app/server"],
        "Labels": {
            "org.opencontainers.image.base.name": "docker.io/library/debian:12.7",
            "org.opencontainers.image.base.digest": "sha256:" + "1" * 64,
        },
    },
    "history": [
        {"created_by": "/bin/sh -c #(nop) ADD file:4f2a in / "},
        {
            "created_by": "RUN /bin/sh -c apt-get update && apt-get install -y --no-install-recommends curl "
            "&& rm -rf /var/lib/apt/lists/* # buildkit"
        },
        {"created_by": "RUN /bin/sh -c apk add --no-cache tini # buildkit"},
        {"created_by": "USER 10001:10001", "empty_layer": True},
    ],
}


def _ids(findings) -> set[str]:
    return {f.id for f in findings}


def _with(config: dict, **inner) -> dict:
    return {**config, "config": {**config["config"], **inner}}


def test_a_well_built_image_has_no_finding() -> None:
    assert check_image(GOOD, [], OSInfo("debian", "12", "bookworm"), today=TODAY) == []


@pytest.mark.parametrize(
    ("inner", "expected"),
    [
        ({"User": ""}, {"LSH-IMG-ROOT-USER"}),
        ({"User": "root"}, {"LSH-IMG-ROOT-USER"}),
        ({"User": "0:0"}, {"LSH-IMG-ROOT-USER"}),
        ({"User": "app"}, set()),
        ({"Healthcheck": None}, {"LSH-IMG-NO-HEALTHCHECK"}),
        ({"Healthcheck": {"Test": ["NONE"]}}, {"LSH-IMG-NO-HEALTHCHECK"}),
        ({"ExposedPorts": {"22/tcp": {}, "80/tcp": {}}}, {"LSH-IMG-SSH-PORT"}),
        ({"ExposedPorts": {"2222/tcp": {}}}, set()),
        ({"Entrypoint": ["/usr/sbin/sshd", "-D"]}, {"LSH-IMG-SSHD-COMMAND"}),
        ({"Cmd": ["/app/sshd-exporter"]}, set()),
        (
            {"Labels": {"org.opencontainers.image.base.name": "docker.io/library/debian:latest"}},
            {"LSH-IMG-LATEST-BASE"},
        ),
        ({"Labels": {"org.opencontainers.image.base.name": "ghcr.io/acme/base"}}, {"LSH-IMG-LATEST-BASE"}),
        ({"Labels": {"org.opencontainers.image.base.name": "debian:12"}}, {"LSH-IMG-UNPINNED-BASE"}),
        ({"Labels": {"org.opencontainers.image.base.name": "debian@sha256:" + "2" * 64}}, set()),
        ({"Labels": {}}, set()),
        ({"Volumes": {"/var/run/docker.sock": {}}}, {"LSH-IMG-SENSITIVE-VOLUME"}),
        ({"Volumes": {"/data": {}}}, set()),
    ],
)
def test_config_checks(inner: dict, expected: set[str]) -> None:
    assert _ids(check_image(_with(GOOD, **inner), today=TODAY)) == expected


def test_root_user_finding_shape() -> None:
    (finding,) = check_image(_with(GOOD, User=""), today=TODAY)
    assert (finding.kind, finding.severity, finding.aliases) == (FindingKind.HYGIENE, Severity.MEDIUM, ("CIS-DI-0001",))
    assert finding.location == Location("<image config>/User") and finding.extra["match"] == "(not set)"
    assert finding.title and finding.remediation


@pytest.mark.parametrize(
    ("created_by", "expected"),
    [
        ("ADD https://example.net/app.tgz /opt/ # buildkit", {"LSH-IMG-ADD-REMOTE"}),
        ("/bin/sh -c #(nop) ADD file:9ab3 in /opt/", set()),
        ("RUN /bin/sh -c apt-get update && apt-get upgrade -y # buildkit", {"LSH-IMG-UPGRADE"}),
        ("/bin/sh -c apt-get update && apt-get dist-upgrade -y && rm -rf /var/lib/apt/lists/*", {"LSH-IMG-UPGRADE"}),
        ("/bin/sh -c apt-get update && apt-get install -y curl", {"LSH-IMG-APT-CACHE"}),
        ("RUN --mount=type=cache,target=/var/lib/apt apt-get update && apt-get install -y curl", set()),
        ("/bin/sh -c apk add curl", {"LSH-IMG-APK-CACHE"}),
        ("/bin/sh -c apk add --no-cache curl", set()),
        ("/bin/sh -c apt-get update", {"LSH-IMG-UPDATE-ALONE"}),
        ("/bin/sh -c sudo make install", {"LSH-IMG-SUDO"}),
        ("/bin/sh -c dnf -y update && dnf clean all", {"LSH-IMG-UPGRADE"}),
        ("/bin/sh -c pip install --upgrade pip", set()),
    ],
)
def test_history_checks(created_by: str, expected: set[str]) -> None:
    layer = Layer(0, "sha256:" + "c" * 64)
    found = check_history({"history": [{"created_by": created_by}]}, [layer])
    assert _ids(found) == expected
    for finding in found:
        assert finding.location.path == "<image history>" and finding.location.line == 1
        assert finding.extra["added_by_layer"] == layer.diff_id and len(finding.extra["match"]) <= 80


def test_add_remote_with_checksum_is_low_and_history_maps_layers() -> None:
    layers = [Layer(0, "sha256:" + "a" * 64), Layer(1, "sha256:" + "b" * 64)]
    history = [
        {"created_by": "ENV A=1", "empty_layer": True},
        {"created_by": "ADD file:1 in /"},
        {"created_by": "ADD --checksum=sha256:" + "3" * 64 + " https://example.net/a.tgz /a # buildkit"},
    ]
    (finding,) = check_history({"history": history}, layers)
    assert finding.severity is Severity.LOW and finding.aliases == ("CIS-DI-0009",)
    assert finding.location.layer_diff_id == layers[1].diff_id and finding.location.line == 3


def test_image_age() -> None:
    assert parse_created("2024-01-02T03:04:05.999999999Z") == date(2024, 1, 2)
    (stale,) = check_age({"created": "2024-01-01T00:00:00Z"}, TODAY)
    assert (stale.id, stale.severity, stale.extra["age_days"]) == ("LSH-IMG-STALE", Severity.MEDIUM, "517")
    assert "rebuild" in stale.title
    assert check_age({"created": "2025-01-01T00:00:00Z"}, TODAY) == []
    assert _ids(check_age({"created": "2025-01-01T00:00:00Z"}, TODAY, max_age_days=30)) == {"LSH-IMG-STALE"}
    for missing in ({}, {"created": "1970-01-01T00:00:00Z"}, {"created": "0001-01-01T00:00:00Z"}, {"created": "soon"}):
        (finding,) = check_age(missing, TODAY)
        assert (finding.id, finding.severity) == ("LSH-IMG-NO-CREATED-DATE", Severity.LOW)


def test_end_of_life() -> None:
    (stretch,) = check_eol(OSInfo("debian", "9", "stretch"), TODAY)
    assert (stretch.id, stretch.severity, stretch.extra["end_of_life"]) == ("LSH-IMG-EOL", Severity.HIGH, "2022-06-30")
    assert check_eol(OSInfo("debian", "12", "bookworm"), TODAY) == []
    (soon,) = check_eol(OSInfo("debian", "12"), date(2028, 5, 1))
    assert (soon.id, soon.severity) == ("LSH-IMG-EOL-SOON", Severity.LOW)
    assert check_eol(OSInfo("debian", "trixie/sid"), TODAY) == [] and check_eol(None, TODAY) == []
    assert _ids(check_image(GOOD, [], OSInfo("debian", "9"), today=TODAY)) == {"LSH-IMG-EOL"}


def test_ssh_server_package() -> None:
    ssh = Package("openssh-server", "1:9.2p1-2", PackageType.DEB, locations=(Location("var/lib/dpkg/status"),))
    assert _ids(check_image(GOOD, [], None, [ssh], today=TODAY)) == {"LSH-IMG-SSH-SERVER"}


@pytest.mark.parametrize(
    ("reference", "allowed", "ok"),
    [
        ("debian:12", [], True),
        ("debian:12", ["docker.io/library"], True),
        ("debian:12", ["debian"], True),
        ("debian-evil:12", ["debian"], False),
        ("index.docker.io/library/debian:12", ["docker.io"], True),
        ("ghcr.io/acme/app:1", ["ghcr.io/acme"], True),
        ("ghcr.io/acme-evil/app:1", ["ghcr.io/acme"], False),
        ("quay.io/acme/app", ["ghcr.io", "registry.internal:5000/"], False),
        ("registry.internal:5000/team/app@sha256:" + "4" * 64, ["ghcr.io", "registry.internal:5000/"], True),
    ],
)
def test_registry_policy(reference: str, allowed: list[str], ok: bool) -> None:
    assert is_allowed(reference, allowed) is ok


def test_registry_policy_findings() -> None:
    assert normalize_reference("team/app:1") == "docker.io/team/app:1"
    assert check_registries("quay.io/x/app:1", "debian:12", []) == []
    app, base = check_registries("quay.io/x/app:1", "docker.io/library/debian:12", ["ghcr.io/acme"])
    assert (app.id, app.severity, app.location.path) == ("LSH-IMG-REGISTRY", Severity.HIGH, "<image reference>")
    assert base.id == "LSH-IMG-BASE-NOT-ALLOWED" and base.extra["match"] == "docker.io/library/debian:12"
    found = check_image(GOOD, today=TODAY, allowed_registries=["docker.io/library"], reference="debian:12")
    assert found == []


def test_catalog_is_complete_and_used() -> None:
    checks = builtin_checks()
    for check in checks.values():
        assert check.id.startswith("LSH-IMG-") and check.title and check.description and check.remediation
        assert all(re.fullmatch(r"(CIS-DI|DKL-DI|DKL-LI)-\d{4}", a) for a in check.aliases), check.id
    source = "".join(p.read_text() for p in Path(__file__).parents[1].glob("src/lashing/analyzers/hygiene/*.py"))
    unused = [c for c in checks if f'"{c}"' not in source]
    assert unused == []


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    root = tmp_path_factory.mktemp("hygiene") / "layout"
    base = [
        Member("usr/bin/passwd", b"\x7fELF", mode=0o4755),
        Member("etc/shadow", b"root:*:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\n", mode=0o640),
    ]
    added = [
        Member("usr/local/bin/helper", b"\x7fELF", mode=0o6755),
        Member("etc/shadow", b"root:*:19000:0:99999:7:::\nguest::19000:0:99999:7:::\n", mode=0o640),
    ]
    built = build_oci_layout(root, [LayerSpec(base), LayerSpec(added)])
    return root, built.diff_ids


def test_hygiene_analyzer_on_an_image(image: tuple[Path, list[str]]) -> None:
    root, (base, added) = image
    with open_target(str(root)) as source:
        analysis = analyze_image(source, [HygieneAnalyzer(today=TODAY)])
    found = {(f.location.path, f.id): f for f in analysis.findings}
    assert set(found) == {
        ("usr/bin/passwd", "LSH-IMG-SETUID"),
        ("usr/local/bin/helper", "LSH-IMG-SETUID"),
        ("etc/shadow", "LSH-IMG-EMPTY-PASSWORD"),
        # craft.py writes a bare config: no USER, no HEALTHCHECK, no created date
        ("<image config>/User", "LSH-IMG-ROOT-USER"),
        ("<image config>/Healthcheck", "LSH-IMG-NO-HEALTHCHECK"),
        ("<image config>/created", "LSH-IMG-NO-CREATED-DATE"),
    }
    passwd, helper = found[("usr/bin/passwd", "LSH-IMG-SETUID")], found[("usr/local/bin/helper", "LSH-IMG-SETUID")]
    assert passwd.severity is Severity.LOW and passwd.aliases == ("CIS-DI-0008",) and passwd.extra["distro"] == "yes"
    assert passwd.extra["added_by_layer"] == base
    assert helper.extra["added_by_layer"] == added and helper.extra["distro"] == "no"
    assert "setuid and setgid" in helper.title
    empty = found[("etc/shadow", "LSH-IMG-EMPTY-PASSWORD")]
    assert (empty.severity, empty.location.line, empty.extra["added_by_layer"]) == (Severity.HIGH, 2, added)
    assert "guest" in empty.title
