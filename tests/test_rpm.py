"""The rpm cataloger against real rpm databases: rpmbuild makes packages, rpm installs them (SQLite),
db5.3_load writes the same header blobs as a real Berkeley DB hash file, and an NDB file is written
from the layout in rpm's lib/backend/ndb/rpmpkg.c. `rpm -qa` is the oracle for every backend."""

from __future__ import annotations

import itertools
import os
import random
import sqlite3
import struct
import subprocess
import tracemalloc
import zlib
from pathlib import Path

import pytest
from packageurl import PackageURL

from lashing.analyzers.interface import AnalysisInput, AnalysisResult, FileInfo
from lashing.analyzers.inventory.rpm import BACKENDS, RpmAnalyzer, bdb, ndb, read_packages
from lashing.analyzers.inventory.rpm import sqlite as rpm_sqlite
from lashing.analyzers.inventory.rpm.header import HeaderError, parse_header
from lashing.analyzers.inventory.rpm.package import split_source_rpm

QUERY = "%{NAME}|%{EPOCHNUM}|%{VERSION}|%{RELEASE}|%{ARCH}|%{SOURCERPM}|%{LICENSE}|%{EVR}|%{VENDOR}\n"
BIG_FILES = 900  # enough file entries for a ~100 KB header: many Berkeley DB overflow pages

SPECS = {
    "lash-hello": """\
Name: lash-hello
Version: 1.2.3
Release: 4.el9
Epoch: 2
Summary: Epoch, a license expression, a vendor and a subpackage
License: MIT and (BSD or GPLv2+)
Vendor: Red Hat, Inc.
BuildArch: noarch
%description
test
%package libs
Summary: libs
License: MIT
%description libs
libs
%install
mkdir -p %{buildroot}/usr/share/lash-hello
echo hi > %{buildroot}/usr/share/lash-hello/a.txt
echo lib > %{buildroot}/usr/share/lash-hello/lib.txt
%files
/usr/share/lash-hello/a.txt
%files libs
/usr/share/lash-hello/lib.txt
""",
    "lash-big": f"""\
Name: lash-big
Version: 10.0
Release: 1
Summary: Caf\u00e9 \u00fcn\u00efcode summary and a header far larger than a page
License: GPL-2.0-or-later
%description
big
%install
mkdir -p %{{buildroot}}/usr/share/lash-big
for i in $(seq 1 {BIG_FILES}); do echo $i > %{{buildroot}}/usr/share/lash-big/a-rather-long-file-name-$i.txt; done
%files
/usr/share/lash-big
""",
    "openssl-lash": """\
Name: openssl-lash
Version: 3.0.7~rc1
Release: 27.el9_2.1
Epoch: 0
Summary: explicit epoch 0, tilde version
License: ASL 2.0
BuildArch: noarch
%description
zero
%files
""",
}


def sh(*cmd: str | Path, env: dict[str, str] | None = None) -> str:
    proc = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd} failed: {proc.stderr[-3000:]}")
    return proc.stdout


@pytest.fixture(scope="session")
def rpm_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A root with an rpm SQLite database: our packages installed --justdb, plus a gpg-pubkey."""
    base = tmp_path_factory.mktemp("rpm")
    top = base / "top"
    for name, spec in SPECS.items():
        (base / f"{name}.spec").write_text(spec)
        sh("rpmbuild", "-bb", "--quiet", "--define", f"_topdir {top}", "--define", "debug_package %{nil}",
           base / f"{name}.spec")
    rpms = sorted(top.glob("RPMS/*/*.rpm"))
    assert len(rpms) == 4
    root = base / "root"
    db = ["--root", root, "--dbpath", "/var/lib/rpm"]
    sh("rpm", *db, "--initdb")
    sh("rpm", *db, "-i", "--nodeps", "--noscripts", "--justdb", "--ignorearch", "--ignoreos", *rpms)
    gnupg = base / "gnupg"
    gnupg.mkdir(mode=0o700)
    env = {**os.environ, "GNUPGHOME": str(gnupg)}
    try:
        sh("gpg", "--batch", "--passphrase", "", "--quick-gen-key", "Lashing Test <test@lashing.invalid>",
           "ed25519", "sign", "never", env=env)
        (base / "key.asc").write_text(sh("gpg", "--armor", "--export", env=env))
    finally:
        subprocess.run(["gpgconf", "--kill", "gpg-agent"], env=env, capture_output=True)
    sh("rpm", *db, "--import", base / "key.asc")
    return root


@pytest.fixture(scope="session")
def truth(rpm_root: Path) -> set[tuple[str, ...]]:
    """`rpm -qa` rows without the gpg-pubkey pseudo-package (asserted to be there)."""
    out = sh("rpm", "--root", rpm_root, "--dbpath", "/var/lib/rpm", "-qa", "--qf", QUERY)
    rows = {tuple(line.split("|")) for line in out.splitlines()}
    assert any(r[0] == "gpg-pubkey" for r in rows)
    return {r for r in rows if r[0] != "gpg-pubkey"}


@pytest.fixture(scope="session")
def blobs(rpm_root: Path) -> list[tuple[int, bytes]]:
    """The header blobs rpm stored, read with the sqlite3 module (gpg-pubkey included)."""
    con = sqlite3.connect(rpm_root / "var/lib/rpm/rpmdb.sqlite")
    try:
        return [(int(k), bytes(b)) for k, b in con.execute("SELECT hnum, blob FROM Packages ORDER BY hnum")]
    finally:
        con.close()


def rows(packages) -> set[tuple[str, ...]]:
    def none(v):
        return "(none)" if v in ("", None) else v

    return {
        (p.name, str(p.epoch or 0), p.extra["rpm_version"], p.release, p.arch, none(p.extra.get("sourcerpm")),
         p.licenses[0], p.version, none(p.extra.get("vendor")))
        for p in packages
    }


def analyze(path: str, data: bytes) -> AnalysisResult:
    analyzer, info = RpmAnalyzer(), FileInfo(path, len(data))
    assert analyzer.required(path, info)
    result = analyzer.analyze(AnalysisInput(info, data))
    assert result is not None
    return result


# -- writers for the other two backends -----------------------------------------------------------


def bdb_file(tmp: Path, records: list[tuple[int, bytes]], lorder: int = 1234, chksum: bool = False) -> bytes:
    """A real Berkeley DB hash database written by db5.3_load, keyed like rpm's Packages."""
    order = "<" if lorder == 1234 else ">"
    lines = ["VERSION=3", "format=bytevalue", "type=hash", "db_pagesize=4096", "HEADER=END"]
    counter = max(k for k, _ in records) + 1
    for key, value in [(0, struct.pack(order + "I", counter)), *records]:
        lines += [" " + struct.pack(order + "I", key).hex(), " " + value.hex()]
    lines.append("DATA=END")
    dump, out = tmp / f"dump-{lorder}-{chksum}.txt", tmp / f"Packages-{lorder}-{chksum}"
    dump.write_text("\n".join(lines) + "\n")
    out.unlink(missing_ok=True)
    sh("db5.3_load", "-c", f"db_lorder={lorder}", *(["-c", "chksum=1"] if chksum else []), "-f", dump, out)
    return out.read_bytes()


def ndb_file(records: list[tuple[int, bytes]], slot_pages: int = 1) -> bytes:
    """NDB as rpmpkg.c lays it out; a free slot and a zeroed gap (a deleted blob) are left in."""
    blocks: list[bytes] = []
    slots = [struct.pack("<4sIII", b"Slot", 0, 0, 0)]  # a free slot first
    block = slot_pages * 4096 // 16
    for idx, blob in records:
        count = (16 + len(blob) + 12 + 15) // 16
        head = struct.pack("<4sIII", b"BlbS", idx, 1_700_000_000, len(blob))
        body = head + blob + b"\0" * (count * 16 - 16 - len(blob) - 12)
        blocks.append(body + struct.pack("<II4s", zlib.adler32(body), len(blob), b"BlbE"))
        slots.append(struct.pack("<4sIII", b"Slot", idx, block, count))
        blocks.append(b"\0" * 32)  # gap of two blocks
        block += count + 2
    header = struct.pack("<4sIIII", b"RpmP", 0, 7, slot_pages, max(i for i, _ in records) + 1).ljust(32, b"\0")
    slot_area = header + b"".join(slots)
    free = struct.pack("<4sIII", b"Slot", 0, 0, 0)
    slot_area += free * ((slot_pages * 4096 - len(slot_area)) // 16)
    assert len(slot_area) == slot_pages * 4096
    return slot_area + b"".join(blocks)


# -- the three backends against rpm -qa -----------------------------------------------------------


def test_sqlite_backend_matches_rpm(rpm_root: Path, truth: set[tuple[str, ...]]) -> None:
    data = (rpm_root / "var/lib/rpm/rpmdb.sqlite").read_bytes()
    assert data[18] == 2  # rpm writes WAL mode: the reader must cope
    result = analyze("var/lib/rpm/rpmdb.sqlite", data)
    assert result.warnings == ()
    assert rows(result.packages) == truth and len(result.packages) == len(truth) == 4
    also = analyze("usr/lib/sysimage/rpm/rpmdb.sqlite", data)
    assert also.packages == result.packages


@pytest.mark.parametrize(("lorder", "chksum"), [(1234, False), (4321, False), (1234, True)])
def test_bdb_backend_matches_rpm(tmp_path: Path, blobs, truth, lorder: int, chksum: bool) -> None:
    data = bdb_file(tmp_path, blobs, lorder, chksum)
    pagesize = 4096
    overflow_pages = sum(1 for p in range(1, len(data) // pagesize) if data[p * pagesize + 25] == bdb.P_OVERFLOW)
    assert max(len(b) for _, b in blobs) > 20 * pagesize and overflow_pages > 20
    result = analyze("var/lib/rpm/Packages", data)
    assert result.warnings == ()
    assert rows(result.packages) == truth and len(result.packages) == len(truth)


@pytest.mark.parametrize("slot_pages", [1, 2])
def test_ndb_backend_matches_rpm(blobs, truth, slot_pages: int) -> None:
    result = analyze("usr/lib/sysimage/rpm/Packages.db", ndb_file(blobs, slot_pages))
    assert result.warnings == ()
    assert rows(result.packages) == truth and len(result.packages) == len(truth)


def test_package_fields(rpm_root: Path) -> None:
    result = analyze("var/lib/rpm/rpmdb.sqlite", (rpm_root / "var/lib/rpm/rpmdb.sqlite").read_bytes())
    by_name = {p.name: p for p in result.packages}
    hello, libs, zero, big = (by_name[n] for n in ("lash-hello", "lash-hello-libs", "openssl-lash", "lash-big"))
    assert (hello.version, hello.epoch, hello.release, hello.arch) == ("2:1.2.3-4.el9", 2, "4.el9", "noarch")
    assert (libs.source_name, libs.source_version) == ("lash-hello", "1.2.3-4.el9")
    assert libs.licenses == ("MIT",) and hello.licenses == ("MIT and (BSD or GPLv2+)",)
    assert (zero.version, zero.epoch, zero.source_name, zero.source_version) == (
        "0:3.0.7~rc1-27.el9_2.1", 0, "openssl-lash", "3.0.7~rc1-27.el9_2.1")
    assert big.epoch is None and big.version == "10.0-1" and big.arch == "x86_64"
    purl = PackageURL.from_string(hello.purl)
    assert (purl.type, purl.namespace, purl.name, purl.version) == ("rpm", "redhat", "lash-hello", "1.2.3-4.el9")
    assert purl.qualifiers == {"arch": "noarch", "epoch": "2", "upstream": "lash-hello-1.2.3-4.el9.src.rpm"}
    assert PackageURL.from_string(big.purl).namespace is None
    assert all(p.cataloger == "rpm" and p.locations == () for p in result.packages)


def test_source_rpm_names() -> None:
    assert split_source_rpm("openssl-3.0.7-27.el9.src.rpm") == ("openssl", "3.0.7-27.el9")
    assert split_source_rpm("python3.11-setuptools-65.5.1-2.el9.nosrc.rpm") == ("python3.11-setuptools", "65.5.1-2.el9")
    assert split_source_rpm("noversion.src.rpm") is None
    assert split_source_rpm("foo-1-2.rpm") is None


def test_required_paths() -> None:
    analyzer = RpmAnalyzer()
    for path in ("var/lib/rpm/Packages", "var/lib/rpm/Packages.db", "usr/lib/sysimage/rpm/rpmdb.sqlite",
                 "usr/share/rpm/Packages"):
        assert analyzer.required(path, FileInfo(path, 1))
    for path in ("var/lib/rpm/Name", "var/lib/rpm/rpmdb.sqlite-wal", "opt/var/lib/rpm/Packages", "Packages"):
        assert not analyzer.required(path, FileInfo(path, 1))
    assert RpmAnalyzer.max_size == 512 * 1024 * 1024


# -- hostile input ---------------------------------------------------------------------------------


def _entry_offset(blob: bytes, tag: int) -> int:
    il = struct.unpack_from(">I", blob, 0)[0]
    return next(8 + 16 * i for i in range(il) if struct.unpack_from(">I", blob, 8 + 16 * i)[0] == tag)


def test_hostile_headers(blobs) -> None:
    blob = next(b for _, b in blobs if b"lash-hello-libs" in b)
    cases = {
        "empty": b"",
        "truncated": blob[: len(blob) // 2],
        "intro only": blob[:8],
        "huge index count": struct.pack(">II", 0xFFFFFFFF, 16) + blob[8:],
        "huge data length": struct.pack(">II", 4, 0x7FFFFFFF) + blob[8:],
        "index past data": struct.pack(">II", 50_000, 0) + blob[8:],
    }
    name_at = _entry_offset(blob, 1000)
    cases["name offset out of range"] = blob[: name_at + 8] + struct.pack(">I", 0x7FFFFFF0) + blob[name_at + 12 :]
    cases["name is an int"] = blob[: name_at + 4] + struct.pack(">I", 4) + blob[name_at + 8 :]
    for label, data in cases.items():
        tracemalloc.start()
        packages, warnings = read_packages(data, lambda d, w: iter([(7, d)]))
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert packages == [] and len(warnings) == 1 and "record 7" in warnings[0], label
        assert peak < 4 * len(blob) + (1 << 20), (label, peak)
    epoch_at = _entry_offset(blob, 1003)
    huge_count = blob[: epoch_at + 12] + struct.pack(">I", 0xFFFFFFFF) + blob[epoch_at + 16 :]
    assert parse_header(huge_count).integer(1003) == 2  # the first value; the count is never trusted
    with pytest.raises(HeaderError):
        parse_header(b"\x00" * 8)


def test_random_corruption_never_raises(blobs, tmp_path: Path) -> None:
    rng = random.Random(1234)
    small = [(k, b) for k, b in blobs if len(b) < 8192]
    sources = {
        "var/lib/rpm/Packages": bdb_file(tmp_path, small),
        "var/lib/rpm/Packages.db": ndb_file(small),
        "var/lib/rpm/rpmdb.sqlite": _sqlite_file(tmp_path, small),
    }
    for path, pristine in sources.items():
        for _ in range(150):
            data = bytearray(pristine)
            for _ in range(rng.randint(1, 12)):
                data[rng.randrange(len(data))] = rng.randrange(256)
            cut = len(data) if rng.random() < 0.7 else rng.randrange(len(data))
            result = analyze(path, bytes(data[:cut]))
            assert len(result.warnings) <= 25
            assert all(p.name and p.version for p in result.packages)
    for _, blob in small:
        for _ in range(200):
            data = bytearray(blob)
            for _ in range(rng.randint(1, 6)):
                data[rng.randrange(len(data))] = rng.randrange(256)
            read_packages(bytes(data), lambda d, w: iter([(1, d)]))


_SERIAL = itertools.count()


def _sqlite_file(tmp: Path, records: list[tuple[int, bytes]], schema: str | None = None) -> bytes:
    path = tmp / f"db-{next(_SERIAL)}.sqlite"
    con = sqlite3.connect(path)
    con.execute(schema or "CREATE TABLE Packages (hnum INTEGER PRIMARY KEY AUTOINCREMENT, blob BLOB NOT NULL)")
    con.executemany("INSERT INTO Packages (hnum, blob) VALUES (?, ?)", records)
    con.commit()
    con.close()
    return path.read_bytes()


def test_hostile_sqlite(tmp_path: Path, blobs) -> None:
    assert analyze("var/lib/rpm/rpmdb.sqlite", b"not sqlite at all" * 20).warnings == (
        "var/lib/rpm/rpmdb.sqlite: not an SQLite database",)
    good = _sqlite_file(tmp_path, blobs)
    half = analyze("var/lib/rpm/rpmdb.sqlite", good[: len(good) // 2])
    assert half.warnings and "unreadable" in half.warnings[-1]
    con = sqlite3.connect(":memory:")
    con.execute("CREATE TABLE Packages (hnum INTEGER PRIMARY KEY, x, "
                "blob BLOB GENERATED ALWAYS AS (zeroblob(1000000000)) VIRTUAL)")
    con.execute("INSERT INTO Packages (hnum, x) VALUES (1, 1)")
    bomb = con.serialize()
    con.close()
    result = analyze("var/lib/rpm/rpmdb.sqlite", bomb)
    assert result.packages == () and "too big" in result.warnings[0]
    view = sqlite3.connect(":memory:")
    view.execute("CREATE VIEW Packages AS WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) "
                 "SELECT x AS hnum, x AS blob FROM c")
    assert analyze("var/lib/rpm/rpmdb.sqlite", view.serialize()).warnings == (
        "var/lib/rpm/rpmdb.sqlite: no Packages table",)
    loop = sqlite3.connect(":memory:")
    loop.execute("CREATE TABLE Packages (hnum INTEGER PRIMARY KEY, blob BLOB)")
    loop.executemany("INSERT INTO Packages VALUES (?, zeroblob(10))", [(i,) for i in range(50_000)])
    warnings: list[str] = []
    old = rpm_sqlite.MAX_VM_STEPS
    rpm_sqlite.MAX_VM_STEPS = 20_000  # the bound works on a query that would otherwise finish
    try:
        list(rpm_sqlite.read_blobs(loop.serialize(), warnings))
    finally:
        rpm_sqlite.MAX_VM_STEPS = old
    assert warnings == ["SQLite database unreadable: work limit exceeded"]


def test_hostile_bdb(tmp_path: Path, blobs) -> None:
    data = bytearray(bdb_file(tmp_path, blobs))
    pagesize = 4096
    first_overflow = next(p for p in range(1, len(data) // pagesize) if data[p * pagesize + 25] == bdb.P_OVERFLOW)
    looped = bytearray(data)
    struct.pack_into("<I", looped, first_overflow * pagesize + 16, first_overflow)  # next_pgno -> itself
    result = analyze("var/lib/rpm/Packages", bytes(looped))
    assert any("overflow chain broken" in w for w in result.warnings)
    assert len(result.packages) == len(blobs) - 2  # the big header is lost, gpg-pubkey is skipped
    bad_size = bytearray(data)
    struct.pack_into("<I", bad_size, 20, 1000)
    assert "invalid page size" in analyze("var/lib/rpm/Packages", bytes(bad_size)).warnings[0]
    truncated = analyze("var/lib/rpm/Packages", bytes(data[: len(data) - pagesize * 3 - 100]))
    assert truncated.warnings and len(truncated.packages) < len(blobs) - 1
    assert analyze("var/lib/rpm/Packages", b"\0" * 4096).warnings == (
        "var/lib/rpm/Packages: not a Berkeley DB hash database",)
    assert BACKENDS["Packages"] is bdb.read_blobs


def _names(blobs, but: int | None = None) -> set[str]:
    """Package names of the blobs (gpg-pubkey left out), without the `but`-th."""
    names = {parse_header(b).string(1000) for i, (_, b) in enumerate(blobs) if i != but}
    return {n for n in names if n and n != "gpg-pubkey"}


def test_hostile_ndb(blobs) -> None:
    data = bytearray(ndb_file(blobs))
    bad_sum = bytearray(data)
    first_blob = struct.unpack_from("<I", data, 32 + 16 + 8)[0] * 16  # slot 3: the first used one
    bad_sum[first_blob + 20] ^= 0xFF
    result = analyze("var/lib/rpm/Packages.db", bytes(bad_sum))
    assert {p.name for p in result.packages} == _names(blobs, but=0) != _names(blobs)
    assert result.warnings == ("var/lib/rpm/Packages.db: slot 3 (package 1): blob checksum mismatch",)
    past_end = bytearray(data)
    struct.pack_into("<I", past_end, 32 + 16 + 12, 0x7FFFFFFF)
    assert "past the end" in analyze("var/lib/rpm/Packages.db", bytes(past_end)).warnings[0]
    many_pages = bytearray(data)
    struct.pack_into("<I", many_pages, 12, 0xFFFFFFFF)
    assert "does not fit" in analyze("var/lib/rpm/Packages.db", bytes(many_pages)).warnings[0]
    bad_magic = bytearray(data)
    bad_magic[32 + 16 * 2 : 32 + 16 * 2 + 4] = b"XXXX"  # the second record's slot
    result = analyze("var/lib/rpm/Packages.db", bytes(bad_magic))
    assert "bad slot magic" in result.warnings[0]
    assert {p.name for p in result.packages} == _names(blobs, but=1) != _names(blobs)
    assert ndb.read_blobs(b"RpmP", []) is not None
