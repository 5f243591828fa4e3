"""The Debian security tracker JSON imported beside OSV exports: unfixed, won't-fix and end-of-life CVEs.

The tracker documents are written here in the tracker's public shape (the corpus has no full tracker JSON); one
test also reads vunnel's real tracker extract from the corpus and checks it against vunnel's own normalized
output for the same input (an independent oracle).
"""

from __future__ import annotations

import functools
import gzip
import http.server
import json
import os
import subprocess
import sys
import threading
import zipfile
from pathlib import Path
from typing import Any

import pytest
import zstandard

from lashing.analyzers.vulns.matcher import Matcher
from lashing.db import AdvisoryStore
from lashing.db.debian_tracker import InvalidTrackerError, TrackerLimits, iter_records, read_tracker
from lashing.db.store import DB_NAME, DatabaseError
from lashing.db.update import update
from lashing.model import Finding, OSInfo, Package, PackageType, Severity

VUNNEL = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "vendor-feed-samples" / "vunnel-test-fixtures.zip"
CLI = (
    "from lashing.cli import db, main\n"
    "if not any(g.name == 'db' for g in main.app.registered_groups):\n"
    "    main.app.add_typer(db.app, name='db')\n"
    "main.main()\n"
)


def lashing(*args: str, cache: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LASHING_CACHE_DIR": str(cache)}
    return subprocess.run([sys.executable, "-c", CLI, *args], env=env, capture_output=True, text=True, timeout=60)


def rel(status: str, urgency: str, fixed: str | None = None, **extra: str) -> dict[str, Any]:
    out: dict[str, Any] = {"status": status, "repositories": {"bookworm": "3.0.11-1~deb12u2"}, "urgency": urgency}
    if fixed is not None:
        out["fixed_version"] = fixed
    return {**out, **extra}


def issue(releases: Any, description: str = "A flaw in the package.", bug: int | None = 1060000) -> dict[str, Any]:
    out: dict[str, Any] = {"description": description, "scope": "remote", "releases": releases}
    if bug is not None:
        out["debianbug"] = bug
    return out


def tracker_doc() -> dict[str, Any]:
    return {
        "openssl": {
            "CVE-2024-0001": issue(
                {
                    "bookworm": rel("resolved", "medium**", "3.0.13-1~deb12u1"),
                    "bullseye": rel("resolved", "medium**", "1.1.1w-0+deb11u2"),
                    "sid": rel("resolved", "medium**", "3.1.5-1"),
                    "trixie": rel("resolved", "medium**", "3.1.5-1"),
                },
                "Issue summary: a long line that\nhas a second line.",
            ),
            "CVE-2024-0002": issue(
                {
                    "bookworm": rel("open", "low"),
                    "bullseye": rel("open", "low", nodsa="Minor issue", nodsa_reason=""),
                }
            ),
            "CVE-2024-0003": issue({"bookworm": rel("open", "unimportant")}, bug=None),
            "CVE-2024-0004": issue(
                {
                    "bookworm": rel("resolved", "not yet assigned", "0"),
                    "bullseye": rel("open", "not yet assigned"),
                }
            ),
            "CVE-2024-0005": issue(
                {"bookworm": rel("open", "not yet assigned", nodsa="Minor issue", nodsa_reason="ignored")}
            ),
            "CVE-2024-0006": issue(
                {"bookworm": rel("open", "high", nodsa="Fix along in a future DSA", nodsa_reason="postponed")}
            ),
            "CVE-2024-0007": issue({"bookworm": {"status": "undetermined", "urgency": "not yet assigned"}}),
            "CVE-2024-0008": issue({"bookworm": rel("resolved", "high**", "3.0.11-1~deb12u1")}),
            "CVE-2024-0010": issue({"bookworm": rel("open", "low**")}, "Shared by two source packages."),
            "TEMP-0000000-1A2B3C": issue({"bookworm": rel("open", "unimportant")}),
        },
        "curl": {
            "CVE-2024-0010": issue({"bookworm": rel("resolved", "high", "7.88.1-10+deb12u6")}, bug=1070000),
        },
        "zlib": {
            "CVE-2023-45853": issue(
                {
                    "bookworm": rel(
                        "open", "not yet assigned", nodsa="contrib/minizip not built", nodsa_reason="ignored"
                    ),
                    "buster": rel("open", "end-of-life"),
                },
                "MiniZip in zlib through 1.3 has an integer overflow.",
            ),
        },
        "chromium-browser": {"CVE-2022-0358": {"releases": []}},
    }


def dsa_record() -> dict[str, Any]:
    return {
        "id": "DSA-5678-1",
        "modified": "2024-03-01T00:00:00Z",
        "published": "2024-03-01T00:00:00Z",
        "summary": "openssl - security update",
        "upstream": ["CVE-2024-0001"],
        "affected": [
            {
                "package": {"ecosystem": "Debian:12", "name": "openssl"},
                "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "3.0.13-1~deb12u1"}]}],
            }
        ],
    }


def write_mirror(root: Path, records: list[dict[str, Any]] | None = None) -> Path:
    path = root / "Debian" / "all.zip"
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for record in records or [dsa_record()]:
            archive.writestr(f"{record['id']}.json", json.dumps(record))
    return root


def write_tracker(path: Path, doc: Any) -> Path:
    data = json.dumps(doc, indent=1).encode()
    if path.name.endswith(".gz"):
        data = gzip.compress(data)
    elif path.name.endswith(".zst"):
        data = zstandard.ZstdCompressor().compress(data)
    path.write_bytes(data)
    return path


def deb(source: str, version: str, name: str | None = None) -> Package:
    return Package(
        name=name or source, version=version, type=PackageType.DEB, source_name=source, source_version=version
    )


def findings(cache: Path, release: str, *packages: Package) -> dict[tuple[str, str], Finding]:
    with AdvisoryStore.open(cache / DB_NAME) as store:
        found = Matcher(store, OSInfo(family="debian", version=release)).findings(packages)
    out = {(f.package.source_name, f.id): f for f in found}
    assert len(out) == len(found)
    return out


@pytest.fixture
def imported(tmp_path: Path) -> Path:
    cache = tmp_path / "cache"
    mirror = write_mirror(tmp_path / "mirror")
    tracker = write_tracker(tmp_path / "tracker.json", tracker_doc())
    result = update(str(mirror), cache=cache, debian_tracker_source=str(tracker))
    stats = result.tracker
    assert stats is not None
    # 10 CVEs with entries in known releases; CVE-2024-0004 has only its bullseye entry
    assert (stats.advisories, stats.imported, stats.unchanged, stats.removed, stats.warnings) == (10, 10, 0, 0, 0)
    assert stats.entries == 15 and stats.skipped_releases == {"sid": 1} and stats.not_cve == 1
    assert (result.imported, result.skipped) == (11, 0)
    return cache


def test_bookworm_findings(imported: Path) -> None:
    got = findings(imported, "12", deb("openssl", "3.0.11-1~deb12u2", "libssl3"), deb("curl", "7.88.1-10+deb12u5"))
    states = {key: (f.fix_state, f.fixed_versions, f.severity) for key, f in got.items()}
    assert states == {
        ("openssl", "CVE-2024-0001"): ("fixed", ("3.0.13-1~deb12u1",), Severity.MEDIUM),  # resolved, older
        ("openssl", "CVE-2024-0002"): ("not_fixed", (), Severity.LOW),  # open
        ("openssl", "CVE-2024-0003"): ("wont_fix", (), Severity.LOW),  # unimportant
        ("openssl", "CVE-2024-0005"): ("wont_fix", (), Severity.UNKNOWN),  # no-dsa <ignored>
        ("openssl", "CVE-2024-0006"): ("not_fixed", (), Severity.HIGH),  # no-dsa <postponed>
        ("openssl", "CVE-2024-0007"): ("not_fixed", (), Severity.UNKNOWN),  # undetermined
        ("openssl", "CVE-2024-0010"): ("not_fixed", (), Severity.HIGH),  # severity: highest of the CVE's entries
        ("curl", "CVE-2024-0010"): ("fixed", ("7.88.1-10+deb12u6",), Severity.HIGH),
    }  # CVE-2024-0004: fixed_version "0" in bookworm; CVE-2024-0008: installed >= fixed; TEMP-: no CVE
    merged = got[("openssl", "CVE-2024-0001")]
    assert merged.extra["records"] == "DEBIAN-CVE-2024-0001,DSA-5678-1"
    assert set(merged.aliases) == {"DEBIAN-CVE-2024-0001", "DSA-5678-1"}
    assert merged.extra["data_source"] == "Debian,debian-tracker"
    assert merged.extra["ecosystem"] == "Debian:12"
    assert got[("openssl", "CVE-2024-0002")].extra["data_source"] == "debian-tracker"
    assert got[("openssl", "CVE-2024-0002")].aliases == ("DEBIAN-CVE-2024-0002",)
    assert "https://security-tracker.debian.org/tracker/CVE-2024-0002" in got[("openssl", "CVE-2024-0002")].references
    # the fixed version installed: nothing at all from either source
    assert findings(imported, "12", deb("curl", "7.88.1-10+deb12u6")) == {}
    zlib = findings(imported, "12", deb("zlib", "1:1.2.13.dfsg-1", "zlib1g"))
    assert {k: f.fix_state for k, f in zlib.items()} == {("zlib", "CVE-2023-45853"): "wont_fix"}


def test_other_releases(imported: Path) -> None:
    bullseye = findings(imported, "11", deb("openssl", "1.1.1n-0+deb11u5"))
    assert {k[1]: f.fix_state for k, f in bullseye.items()} == {
        "CVE-2024-0001": "fixed",
        "CVE-2024-0002": "not_fixed",  # plain no-dsa: a point release may still fix it
        "CVE-2024-0004": "not_fixed",
    }
    buster = findings(imported, "10", deb("zlib", "1:1.2.11.dfsg-1+deb10u2"), deb("openssl", "1.1.1n-0+deb10u6"))
    assert {k: f.fix_state for k, f in buster.items()} == {("zlib", "CVE-2023-45853"): "wont_fix"}  # end-of-life
    trixie = findings(imported, "13", deb("openssl", "3.1.4-2"), deb("curl", "8.5.0-2"))
    assert {k: f.fix_state for k, f in trixie.items()} == {("openssl", "CVE-2024-0001"): "fixed"}


def test_stored_record_shape(imported: Path) -> None:
    with AdvisoryStore.open(imported / DB_NAME) as store:
        adv = store.advisory("DEBIAN-CVE-2024-0001")
        assert adv is not None
        assert (adv.source, adv.upstream, adv.aliases, adv.database_severity) == (
            "debian-tracker",
            ("CVE-2024-0001",),
            (),
            "MEDIUM",
        )
        assert adv.summary == "Issue summary: a long line that"
        assert adv.details == "Issue summary: a long line that\nhas a second line."
        assert [r["url"] for r in adv.references] == [
            "https://security-tracker.debian.org/tracker/CVE-2024-0001",
            "https://bugs.debian.org/1060000",
        ]
        assert sorted(store.ids_for_alias("CVE-2024-0001")) == ["DEBIAN-CVE-2024-0001", "DSA-5678-1"]
        rows = {
            r.ecosystem: r for r in store.affected_for("Debian", "openssl") if r.advisory_id == "DEBIAN-CVE-2024-0001"
        }
        assert set(rows) == {"Debian:11", "Debian:12", "Debian:13"}  # sid skipped
        assert rows["Debian:12"].ranges == [
            {"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "3.0.13-1~deb12u1"}]}
        ]
        assert rows["Debian:12"].purl == "pkg:deb/debian/openssl?arch=source"
        ignored = store.affected_for("Debian", "zlib", {"Debian:12"})[0]
        assert ignored.ranges == [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}]}]
        assert ignored.database_specific == {
            "fix_state": "wont_fix",
            "status": "open",
            "urgency": "not yet assigned",
            "release": "bookworm",
            "nodsa": "contrib/minizip not built",
            "nodsa_reason": "ignored",
        }
        assert store.advisory("DEBIAN-CVE-2022-0358") is None and store.advisory("DEBIAN-TEMP-0000000-1A2B3C") is None
        assert store.meta()["counts"] == {"Debian": 1, "debian-tracker": 10}


def test_status_lists_the_feed(imported: Path) -> None:
    done = lashing("db", "status", "--format", "json", cache=imported)
    assert done.returncode == 0, done.stderr
    info = json.loads(done.stdout)
    assert info["counts"]["debian-tracker"] == 10 and info["advisories"] == 11
    feed = info["feeds"]["debian-tracker"]
    assert feed["advisories"] == 10 and feed["entries"] == 15 and feed["warnings"] == 0
    assert feed["source"].endswith("tracker.json")
    table = lashing("db", "status", cache=imported)
    assert table.returncode == 0 and "feed:        debian-tracker: 10 advisories from " in table.stdout


def test_incremental_runs(imported: Path, tmp_path: Path) -> None:
    mirror, tracker = tmp_path / "mirror", tmp_path / "tracker.json"
    again = update(str(mirror), cache=imported, debian_tracker_source=str(tracker))
    assert again.tracker is not None and (again.tracker.imported, again.tracker.unchanged) == (0, 10)
    assert (again.imported, again.skipped, again.removed, again.incremental) == (0, 11, 0, True)
    doc = tracker_doc()
    doc["openssl"]["CVE-2024-0002"]["releases"]["bookworm"] = rel("resolved", "low", "3.0.14-1~deb12u1")
    del doc["openssl"]["CVE-2024-0003"]
    write_tracker(tracker, doc)
    changed = update(str(mirror), cache=imported, debian_tracker_source=str(tracker))
    assert changed.tracker is not None
    assert (changed.tracker.imported, changed.tracker.unchanged, changed.tracker.removed) == (1, 8, 1)
    got = findings(imported, "12", deb("openssl", "3.0.11-1~deb12u2"))
    assert got[("openssl", "CVE-2024-0002")].fixed_versions == ("3.0.14-1~deb12u1",)
    assert ("openssl", "CVE-2024-0003") not in got
    # an OSV-only run keeps the tracker's records (like any export not re-imported)
    osv_only = update(str(mirror), cache=imported)
    assert osv_only.tracker is None and osv_only.removed == 0
    with AdvisoryStore.open(imported / DB_NAME) as store:
        assert store.meta()["counts"] == {"Debian": 1, "debian-tracker": 9}


@pytest.mark.parametrize("name", ["debian-tracker.json", "debian-tracker.json.gz", "debian-tracker.json.zst"])
def test_found_in_mirror_folder(tmp_path: Path, name: str) -> None:
    mirror = write_mirror(tmp_path / "mirror")
    write_tracker(mirror / name, tracker_doc())
    cache = tmp_path / "cache"
    done = lashing("db", "update", "--mirror", str(mirror), cache=cache)
    assert done.returncode == 0, done.stderr
    assert f"lashing: debian tracker {mirror / name}: 10 CVEs, 15 affected entries; 10 imported" in done.stderr
    assert "zlib" in {k[0] for k in findings(cache, "12", deb("zlib", "1:1.2.13.dfsg-1"))}
    only = update(str(mirror), cache=tmp_path / "c2", ecosystems=("Debian",))  # -e names export folders only
    assert only.tracker is None


def test_streamed_in_small_pieces_gives_the_same_records(tmp_path: Path) -> None:
    path = write_tracker(tmp_path / "t.json", tracker_doc())
    whole = list(iter_records(path))
    assert [r["id"] for r in whole] == sorted(r["id"] for r in whole) and len(whole) == 10
    for chunk in (1, 7, 100):
        assert list(iter_records(path, limits=TrackerLimits(chunk=chunk))) == whole
    with pytest.raises(InvalidTrackerError, match=r"one JSON value over the bound of 500 characters$"):
        read_tracker(path, "t", TrackerLimits(chunk=64, max_package=500))
    with pytest.raises(InvalidTrackerError, match=r"over the bound of 1000 bytes of JSON$"):
        read_tracker(path, "t", TrackerLimits(max_bytes=1000))
    with pytest.raises(InvalidTrackerError, match=r"over the bound of 3 affected entries$"):
        read_tracker(path, "t", TrackerLimits(max_entries=3))


def test_malformed_entries_are_skipped_and_counted(tmp_path: Path) -> None:
    doc = tracker_doc()
    doc["bad name!"] = {"CVE-2024-0100": issue({"bookworm": rel("open", "low")})}
    doc["notanobject"] = ["CVE-2024-0101"]
    doc["openssl"]["CVE-2024-0102"] = "open"
    doc["openssl"]["CVE-2024-0103"] = issue({"bookworm": "open"})
    doc["openssl"]["CVE-2024-0104"] = issue({"bookworm": rel("fixed-ish", "low")})
    doc["openssl"]["CVE-2024-0105"] = issue({"bookworm": rel("resolved", "low")})  # no fixed_version
    doc["openssl"]["CVE-2024-0106"] = issue({"bookworm": rel("resolved", "low", "1.0 ; rm -rf")})
    doc["openssl"]["CVE-2024-0107"] = issue({"bookworm": rel("open", "low", nodsa=["x"])})
    doc["openssl"]["CVE-2024-0108"] = issue("bookworm")
    doc["openssl"]["CVE-2024-0109"] = issue({"bookworm": rel("open", "low"), "bullseye": rel("open", 7)})
    cves, stats = read_tracker(write_tracker(tmp_path / "t.json", doc), "t")
    assert stats.warnings == 10 and len(stats.samples) == 5
    assert stats.samples[0] == "openssl CVE-2024-0102: not an object"
    assert "CVE-2024-0109" in cves and len(cves["CVE-2024-0109"].entries) == 1  # the good release kept
    assert stats.advisories == 11 and stats.packages == 4


def _doc_bytes() -> bytes:
    return json.dumps(tracker_doc()).encode()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"<html>rate limited</html>", "not the tracker JSON (no top-level object at offset 0)"),
        (_doc_bytes()[: len(_doc_bytes()) // 2], "not valid JSON (Unterminated string"),
        (b'{"openssl": {"CVE-2024-0001": {"releases": {}}}', "end of file inside the top-level object: truncated"),
        (b"[1, 2]", "no top-level object"),
        (b"{}", "the tracker JSON has no source packages"),
        (b'{"a": 1, "b": []}', "no usable source package (package a: not an object of issues)"),
        (b'{"a": {}} trailing', "data after the top-level object"),
        (b'{"a": {}, }', "expected a package name"),
        (b"\xff\xfe{}", "unreadable (UnicodeDecodeError"),
        (gzip.compress(_doc_bytes())[:-20], "unreadable (EOFError"),
        (b"[" * 100_000, "no top-level object"),
        (b'{"a": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "nesting too deep"),
    ],
    ids=[
        "html",
        "truncated",
        "unclosed",
        "list",
        "empty",
        "no-usable",
        "trailing",
        "comma",
        "utf8",
        "gzip-cut",
        "deep-top",
        "deep-value",
    ],
)
def test_malformed_file_fails_in_one_line_and_keeps_the_old_db(
    imported: Path, tmp_path: Path, content: bytes, message: str
) -> None:
    before = (imported / DB_NAME).read_bytes()
    bad = tmp_path / "bad.json"
    bad.write_bytes(content)
    done = lashing("db", "update", "--mirror", str(tmp_path / "mirror"), "--debian-tracker", str(bad), cache=imported)
    assert done.returncode == 2
    assert done.stderr.startswith("lashing: error: ") and done.stderr.count("\n") == 1, done.stderr
    assert message in done.stderr
    assert (imported / DB_NAME).read_bytes() == before
    assert sorted(p.name for p in imported.iterdir()) == [DB_NAME, f"{DB_NAME}.lock"]
    assert ("openssl", "CVE-2024-0003") in findings(imported, "12", deb("openssl", "3.0.11-1~deb12u2"))


def test_missing_file_and_unreachable_url(tmp_path: Path) -> None:
    mirror = write_mirror(tmp_path / "mirror")
    with pytest.raises(DatabaseError, match=r"is not a file$"):
        update(str(mirror), cache=tmp_path / "c", debian_tracker_source=str(tmp_path / "nope.json"))
    with pytest.raises(DatabaseError, match=r"^cannot reach http://127\.0\.0\.1:9/json"):
        update(str(mirror), cache=tmp_path / "c", debian_tracker_source="http://127.0.0.1:9/json")
    assert not (tmp_path / "c" / DB_NAME).exists()


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


def test_fetched_over_http(tmp_path: Path) -> None:
    served = tmp_path / "served"
    served.mkdir()
    write_tracker(served / "json.gz", tracker_doc())
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(served)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        cache, mirror = tmp_path / "cache", write_mirror(tmp_path / "mirror")
        result = update(str(mirror), cache=cache, debian_tracker_source=f"{base}/json.gz")
        assert result.tracker is not None and result.tracker.advisories == 10
        with pytest.raises(DatabaseError, match=r"json\.gz: \d+ bytes, over the bound of 100$"):
            update(
                str(mirror),
                cache=cache,
                debian_tracker_source=f"{base}/json.gz",
                tracker_limits=TrackerLimits(max_download=100),
            )
        with pytest.raises(DatabaseError, match=r"HTTP 404$"):
            update(str(mirror), cache=cache, debian_tracker_source=f"{base}/missing")
    finally:
        server.shutdown()
    assert sorted(p.name for p in cache.iterdir()) == [DB_NAME, f"{DB_NAME}.lock"]


def test_replaces_an_osv_record_of_the_same_id(tmp_path: Path) -> None:
    osv_copy = {
        "id": "DEBIAN-CVE-2024-0003",
        "modified": "2024-05-01T00:00:00Z",
        "upstream": ["CVE-2024-0003"],
        "affected": [
            {
                "package": {"ecosystem": "Debian:12", "name": "openssl"},
                "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}]}],
                "ecosystem_specific": {"urgency": "unimportant"},
            }
        ],
    }
    mirror = write_mirror(tmp_path / "mirror", [dsa_record(), osv_copy])
    cache = tmp_path / "cache"
    update(str(mirror), cache=cache)
    assert findings(cache, "12", deb("openssl", "3.0.11-1~deb12u2"))[("openssl", "CVE-2024-0003")].fix_state == (
        "not_fixed"
    )
    tracker = write_tracker(tmp_path / "t.json", tracker_doc())
    result = update(str(mirror), cache=cache, debian_tracker_source=str(tracker))
    assert result.tracker is not None and result.tracker.imported == 10
    got = findings(cache, "12", deb("openssl", "3.0.11-1~deb12u2"))[("openssl", "CVE-2024-0003")]
    assert (got.fix_state, got.extra["data_source"]) == ("wont_fix", "debian-tracker")
    with AdvisoryStore.open(cache / DB_NAME) as store:
        assert store.meta()["counts"] == {"Debian": 1, "debian-tracker": 10} and store.count() == 11


def _vunnel(name: str) -> bytes:
    with zipfile.ZipFile(VUNNEL) as archive:
        return archive.read(name)


def test_real_tracker_extract_agrees_with_vunnel(tmp_path: Path) -> None:
    """vunnel's real tracker extract, converted here and by vunnel (its normalized snapshots): the same
    (release, CVE, package, fixed version or unfixed) for every release both map to a number."""
    path = tmp_path / "debian.json"
    path.write_bytes(_vunnel("debian/test-fixtures/input/debian.json"))
    source = json.loads(path.read_bytes())
    in_input = {cve for issues in source.values() for cve in issues}
    ours = {
        (a["package"]["ecosystem"].split(":")[1], r["upstream"][0], a["package"]["name"], _fixed(a))
        for r in iter_records(path)
        for a in r["affected"]
    }
    theirs = set()
    with zipfile.ZipFile(VUNNEL) as archive:
        snapshots = [n for n in archive.namelist() if n.startswith("debian/test-fixtures/snapshots/debian:")]
    for name in snapshots:
        vuln = json.loads(_vunnel(name))["item"]["Vulnerability"]
        release = vuln["NamespaceName"].split(":")[1]
        if vuln["Name"] not in in_input or release == "unstable":  # legacy-only records; sid is skipped here
            continue
        for fixed_in in vuln.get("FixedIn", []):
            version = None if fixed_in["Version"] == "None" else fixed_in["Version"]
            if version == "0":  # vunnel keeps "fixed in 0" (never affected) as such; here it is no entry
                continue
            theirs.add((release, vuln["Name"], fixed_in["Name"], version))
    assert len(theirs) >= 12 and ours == theirs
    # the extract's states: open + end-of-life (chromium in buster/stretch) is won't-fix, fixed_version 0 gives none
    chromium = next(r for r in iter_records(path) if r["id"] == "DEBIAN-CVE-2022-0456")
    states = {a["package"]["ecosystem"]: a["database_specific"]["fix_state"] for a in chromium["affected"]}
    assert states == {"Debian:12": "fixed", "Debian:11": "fixed", "Debian:10": "wont_fix", "Debian:9": "wont_fix"}
    assert not any(r["id"] == "DEBIAN-CVE-2007-2383" for r in iter_records(path))
    severities = {r["id"]: r.get("database_specific", {}).get("severity") for r in iter_records(path)}
    assert severities == {
        "DEBIAN-CVE-2005-3111": "MEDIUM",
        "DEBIAN-CVE-2008-7220": "HIGH",  # "high**"
        "DEBIAN-CVE-2013-1444": "LOW",  # "low**"
        "DEBIAN-CVE-2022-0456": None,  # "not yet assigned" / "end-of-life"
        "DEBIAN-CVE-2025-53603": None,
    }


def _fixed(affected: dict[str, Any]) -> str | None:
    events = affected["ranges"][0]["events"]
    return next((e["fixed"] for e in events if "fixed" in e), None)
