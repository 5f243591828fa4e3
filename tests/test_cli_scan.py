"""`lashing image` / `fs` / `sbom` end to end through the CLI: database, matching, policy gate, formats.

A small root filesystem (Debian 11 os-release, a dpkg status, a Python dist-info, a requirements file) is
scanned against a tiny OSV mirror written here in the public schema, so every expectation below follows
from records visible in this file.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

DSA = {
    "id": "DSA-9001-1",
    "modified": "2023-01-10T00:00:00Z",
    "summary": "openssl security update",
    "upstream": ["CVE-2099-0001", "CVE-2099-0002"],
    "affected": [
        {
            "package": {"ecosystem": "Debian:11", "name": "openssl"},
            "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1.1.1n-0+deb11u4"}]}],
        }
    ],
}
DSA_OTHER_RELEASE = {
    "id": "DSA-9002-1",
    "modified": "2023-01-10T00:00:00Z",
    "upstream": ["CVE-2099-0003"],
    "affected": [
        {
            "package": {"ecosystem": "Debian:10", "name": "openssl"},
            "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "9.9"}]}],
        }
    ],
}
PYSEC = {
    "id": "PYSEC-2099-1",
    "modified": "2023-01-10T00:00:00Z",
    "aliases": ["CVE-2099-1000", "GHSA-aaaa-bbbb-cccc"],
    "summary": "Django SQL injection",
    "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
    "affected": [
        {
            "package": {"ecosystem": "PyPI", "name": "django"},
            "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "2.2"}, {"fixed": "2.2.28"}]}],
        }
    ],
}
STATUS = """Package: libssl1.1
Status: install ok installed
Architecture: amd64
Source: openssl
Version: 1.1.1n-0+deb11u3

Package: openssl
Status: install ok installed
Architecture: amd64
Version: 1.1.1n-0+deb11u3

"""


def lashing(*args: str, cache: Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LASHING_CACHE_DIR": str(cache)}
    return subprocess.run(
        [sys.executable, "-m", "lashing", *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=120
    )


def _mirror(root: Path) -> Path:
    for folder, records in {"Debian": [DSA, DSA_OTHER_RELEASE], "PyPI": [PYSEC]}.items():
        (root / folder).mkdir(parents=True)
        with zipfile.ZipFile(root / folder / "all.zip", "w") as zf:
            for record in records:
                zf.writestr(f"{record['id']}.json", json.dumps(record))
    return root


def _rootfs(root: Path) -> Path:
    (root / "etc").mkdir(parents=True)
    (root / "etc/os-release").write_text('ID=debian\nVERSION_ID="11"\nVERSION_CODENAME=bullseye\n')
    (root / "var/lib/dpkg").mkdir(parents=True)
    (root / "var/lib/dpkg/status").write_text(STATUS)
    dist = root / "usr/lib/python3/dist-packages/Django-2.2.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: Django\nVersion: 2.2.0\n")
    return root


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("cliscan")
    cache = base / "cache"
    done = lashing("db", "update", "--mirror", str(_mirror(base / "mirror")), cache=cache)
    assert done.returncode == 0, done.stderr
    return {"cache": cache, "rootfs": _rootfs(base / "rootfs"), "base": base}


def scan_json(env: dict[str, Path], *extra: str, cwd: Path | None = None) -> tuple[int, dict]:
    done = lashing(
        "image", str(env["rootfs"]), "--scanners", "vuln", "--format", "json", *extra, cache=env["cache"], cwd=cwd
    )
    assert done.returncode in (0, 1, 5, 7), done.stderr
    return done.returncode, json.loads(done.stdout)


def test_image_findings_are_one_per_cve_with_aliases(env: dict[str, Path]) -> None:
    code, body = scan_json(env)
    assert code == 0
    got = {(f["id"], f["package"]["name"]) for f in body["findings"]}
    # the DSA's two CVEs for both binaries of the openssl source; the Debian 10 record never applies
    assert got == {
        ("CVE-2099-0001", "libssl1.1"), ("CVE-2099-0002", "libssl1.1"),
        ("CVE-2099-0001", "openssl"), ("CVE-2099-0002", "openssl"),
        ("CVE-2099-1000", "Django"),
    }  # fmt: skip
    django = next(f for f in body["findings"] if f["id"] == "CVE-2099-1000")
    assert set(django["aliases"]) == {"PYSEC-2099-1", "GHSA-aaaa-bbbb-cccc"}
    assert django["severity_name"] == "CRITICAL" and django["fixed_versions"] == ["2.2.28"]
    assert django["fix_state"] == "fixed"
    ssl = next(f for f in body["findings"] if f["id"] == "CVE-2099-0001")
    assert "DSA-9001-1" in ssl["aliases"] and ssl["fixed_versions"] == ["1.1.1n-0+deb11u4"]


def test_exit_code_and_severity_gate(env: dict[str, Path]) -> None:
    code, body = scan_json(env, "--exit-code", "5")
    assert code == 5 and body["findings"]
    code, body = scan_json(env, "--exit-code", "5", "--severity", "CRITICAL")
    assert code == 5 and {f["id"] for f in body["findings"]} == {"CVE-2099-1000"}
    code, body = scan_json(env, "--exit-code", "5", "--severity", "LOW")
    assert code == 0 and body["findings"] == []


def test_ignore_file_suppresses_until_it_expires(env: dict[str, Path], tmp_path: Path) -> None:
    (tmp_path / ".lashingignore").write_text(
        "- id: GHSA-aaaa-bbbb-cccc\n  reason: not reachable in our build\n  expires: 2999-01-01\n"
        "- id: CVE-2099-0001\n  package: openssl\n  reason: accepted\n  expires: 2020-01-01\n"
    )
    code, body = scan_json(env, "--exit-code", "7", cwd=tmp_path)  # the default ./.lashingignore
    ids = {(f["id"], f["package"]["name"]) for f in body["findings"]}
    assert ("CVE-2099-1000", "Django") not in ids  # matched through an alias
    assert ("CVE-2099-0001", "openssl") in ids  # expired: no longer suppresses
    assert code == 7
    assert any("2020-01-01" in w for w in body["warnings"])


def test_cyclonedx_vulnerabilities_point_at_components(env: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "bom.json"
    done = lashing(
        "image", str(env["rootfs"]), "--scanners", "vuln", "--format", "cyclonedx", "-o", str(out), cache=env["cache"]
    )
    assert done.returncode == 0, done.stderr
    bom = json.loads(out.read_text())
    refs = {c["bom-ref"] for c in bom["components"]}
    assert len(bom["vulnerabilities"]) == 5
    for vuln in bom["vulnerabilities"]:
        assert vuln["affects"] and all(a["ref"] in refs for a in vuln["affects"])
    django = next(v for v in bom["vulnerabilities"] if v["id"] == "CVE-2099-1000")
    assert {r["id"] for r in django["references"]} >= {"PYSEC-2099-1", "GHSA-aaaa-bbbb-cccc"}


def test_missing_database_is_one_line(tmp_path: Path, env: dict[str, Path]) -> None:
    done = lashing("image", str(env["rootfs"]), cache=tmp_path / "empty")
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1 and "lashing db update" in done.stderr


def test_bad_severity_is_a_usage_error(env: dict[str, Path]) -> None:
    done = lashing("image", str(env["rootfs"]), "--severity", "HUGE", cache=env["cache"])
    assert done.returncode == 2 and "HUGE" in done.stderr and "Traceback" not in done.stderr


def test_table_shows_verdict_and_eol_warning(env: dict[str, Path]) -> None:
    done = lashing("image", str(env["rootfs"]), "--scanners", "vuln", cache=env["cache"])
    assert done.returncode == 0, done.stderr
    assert "5 findings: CRITICAL 1" in done.stdout and "CVE-2099-0002" in done.stdout
    assert "debian 11 reached end of security support on 2026-08-31" in done.stdout


def test_default_scanners_add_secrets_and_hygiene(env: dict[str, Path], tmp_path: Path) -> None:
    done = lashing("image", str(env["rootfs"]), "--format", "json", cache=env["cache"])
    assert done.returncode == 0, done.stderr
    kinds = {f["kind"] for f in json.loads(done.stdout)["findings"]}
    assert kinds == {"vulnerability", "hygiene"}  # Debian 11 is past its end of life: LSH-IMG-EOL
    done = lashing("image", str(env["rootfs"]), "--scanners", "vuln,rootkit", cache=env["cache"])
    assert done.returncode == 2 and "rootkit" in done.stderr


@pytest.mark.parametrize("command", ["sbom", "image"])
def test_unknown_format_fails_before_reading_the_image(tmp_path: Path, command: str) -> None:
    """The writer is imported during the scan, but its name is checked before any layer is read."""
    from craft import LayerSpec, Member, build_docker_archive

    archive = tmp_path / "img.tar"
    build_docker_archive(archive, [LayerSpec([Member("etc/os-release", b"ID=debian\nVERSION_ID=12\n")])])
    cache = tmp_path / "cache"
    done = lashing(command, str(archive), "--format", "bogus", cache=cache)
    assert done.returncode == 2
    assert "unknown report format 'bogus'" in done.stderr and "Traceback" not in done.stderr
    assert not (cache / "layers.sqlite").exists()  # nothing was scanned (no layer cache opened)
    ok = lashing(command, str(archive), "--format", "json", "--scanners", "secret", cache=cache) \
        if command == "image" else lashing(command, str(archive), "--format", "cyclonedx", cache=cache)
    assert ok.returncode == 0, ok.stderr
    assert (cache / "layers.sqlite").exists()


def _big_archive(path: Path, tamper: bool = False) -> Path:
    """A docker-archive whose base layer (17 MB, uncompressed) is large enough to be read in a forked
    process; `tamper` changes one byte of a file's data the walk skips, so only the digest can tell."""
    from craft import LayerSpec, Member, build_docker_archive

    blob = bytes(range(256)) * (17 * 4096)
    base = [Member("etc/os-release", b'ID=debian\nVERSION_ID="11"\n'), Member("var/lib/dpkg/status", STATUS.encode()),
            Member("usr/share/big.bin", blob)]
    app = [Member("usr/lib/python3/dist-packages/Django-2.2.0.dist-info/METADATA",
                  b"Metadata-Version: 2.1\nName: Django\nVersion: 2.2.0\n")]
    build_docker_archive(path, [LayerSpec(base, compression="none"), LayerSpec(app, compression="none")])
    if tamper:
        raw = bytearray(path.read_bytes())
        raw[raw.find(blob[:4096]) + 1_000_000] ^= 0xFF
        path.write_bytes(bytes(raw))
    return path


@pytest.mark.parametrize("fmt", ["cyclonedx", "spdx-json", "json"])
def test_sbom_is_written_only_once_every_layer_is_proven(tmp_path: Path, fmt: str) -> None:
    """The report is made while the largest layer is still being hashed, and written only after: a good
    image gives the whole document, a tampered one the digest error and no file at all."""
    good = lashing("sbom", str(_big_archive(tmp_path / "good.tar")), "--format", fmt, "-o",
                   str(tmp_path / "good.out"), cache=tmp_path / "cache")
    assert good.returncode == 0, good.stderr
    text = (tmp_path / "good.out").read_text()
    assert {"libssl1.1", "openssl", "Django"} <= set(re.findall(r'"name": ?"([^"]+)"', text))
    bad = lashing("sbom", str(_big_archive(tmp_path / "bad.tar", tamper=True)), "--format", fmt, "-o",
                  str(tmp_path / "bad.out"), cache=tmp_path / "cache2")
    assert bad.returncode == 2
    assert bad.stderr.count("\n") == 1 and "layer 0" in bad.stderr and "digest mismatch" in bad.stderr
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(("bad.out", ".bad.out"))) == []
