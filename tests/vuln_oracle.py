"""An independent oracle for vulnerability matching: which OSV records cover which installed packages.

Nothing here imports lashing. Records are read straight from the corpus zips (zipfile + json); OSV
`versions` and `ranges` are evaluated as the OSV schema describes (events sorted by version with
`introduced: "0"` first; `introduced` opens, `fixed` closes exclusive, `last_affected` closes inclusive; a
version at or above every `limit` is outside the range; GIT ranges need commits and are not evaluated);
every version comparison is made by the ecosystem's own tool, in one batch per ecosystem:
`dpkg --compare-versions` (Debian/Ubuntu), rpm's `rpm.vercmp` (AlmaLinux), `packaging.version.Version`
(PyPI), node-semver (npm). Installed packages come from the package managers: `dpkg-query --admindir`,
`rpm -qa --root`, importlib.metadata, `npm ls --all --json` (see tests/imagebuild.py's `installed_*`).
"""

from __future__ import annotations

import json
import re
import subprocess
import zipfile
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cmp_to_key
from pathlib import Path

from packaging.version import InvalidVersion, Version

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "osv"
RANGE_TYPES = ("ECOSYSTEM", "SEMVER")

Pair = tuple[str, str]
BatchCompare = Callable[[list[Pair]], list[int | None]]  # sign of a <=> b per pair; None: not comparable


# -- records -------------------------------------------------------------------------------------


def read_records(zip_path: Path) -> list[dict]:
    with zipfile.ZipFile(zip_path) as archive:
        return [json.loads(archive.read(n)) for n in archive.namelist() if n.endswith(".json")]


@dataclass(frozen=True, eq=False)
class Entry:
    record_id: str
    ecosystem: str
    name: str
    entry: dict


def pep503(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def index_entries(
    records: Iterable[dict], keep: Callable[[str], bool], key: Callable[[str], str] = lambda n: n
) -> dict[str, list[Entry]]:
    """Affected entries of non-withdrawn records whose exact ecosystem passes `keep`, by `key(name)`."""
    out: dict[str, list[Entry]] = defaultdict(list)
    for record in records:
        if record.get("withdrawn"):
            continue
        for entry in record.get("affected") or []:
            package = entry.get("package") or {}
            eco, name = package.get("ecosystem", ""), package.get("name")
            if isinstance(name, str) and keep(eco):
                out[key(name)].append(Entry(record["id"], eco, name, entry))
    return out


# -- comparators (each one batch call of the ecosystem's own tool) --------------------------------


def _sign(x: int) -> int:
    return (x > 0) - (x < 0)


def dpkg_compare(pairs: list[Pair], tmp: Path) -> list[int | None]:
    """`dpkg --compare-versions` for every pair, in one shell loop."""
    path = tmp / "dpkg-pairs"
    path.write_text("".join(f"{a}\t{b}\n" for a, b in pairs))
    script = (
        "while IFS='\t' read -r a b; do "
        'if dpkg --compare-versions "$a" lt "$b" 2>/dev/null; then echo -1; '
        'elif dpkg --compare-versions "$a" eq "$b" 2>/dev/null; then echo 0; '
        'elif dpkg --compare-versions "$a" gt "$b" 2>/dev/null; then echo 1; else echo x; fi; done < "$1"'
    )
    out = subprocess.run(["sh", "-c", script, "sh", str(path)], capture_output=True, text=True, check=True)
    return [None if x == "x" else int(x) for x in out.stdout.split()]


def rpm_compare(pairs: list[Pair], tmp: Path) -> list[int | None]:
    """rpm's `rpm.vercmp` ([epoch:]version-release) through one `rpm --eval` lua loop."""
    path = tmp / "rpm-pairs"
    path.write_text("".join(f"{a}\t{b}\n" for a, b in pairs))
    lua = (
        f"%{{lua: for line in io.lines('{path}') do local a, b = line:match('^(.-)\t(.*)$'); "
        "local ok, r = pcall(rpm.vercmp, a, b); print((ok and tostring(r) or 'x') .. ' ') end}"
    )
    out = subprocess.run(["rpm", "--eval", lua], capture_output=True, text=True, check=True).stdout
    return [None if x == "x" else _sign(int(x)) for x in out.split()]


def pep440_compare(pairs: list[Pair], _tmp: Path | None = None) -> list[int | None]:
    out: list[int | None] = []
    for a, b in pairs:
        try:
            va, vb = Version(a), Version(b)
        except InvalidVersion:
            out.append(None)
            continue
        out.append((va > vb) - (va < vb))
    return out


NODE = """
const semver = require(process.argv[1]); const fs = require('fs');
const pairs = JSON.parse(fs.readFileSync(process.argv[2]));
console.log(JSON.stringify(pairs.map(([a, b]) => {
  const x = semver.valid(a), y = semver.valid(b);
  return x && y ? semver.compare(x, y) : null; })));
"""


def install_node_semver(prefix: Path) -> Path:
    """node-semver from the npm registry into a scratch prefix; returns the module directory."""
    subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--no-update-notifier", "--prefix", str(prefix),
                    "semver@7.6.3"], capture_output=True, text=True, check=True)  # fmt: skip
    return prefix / "node_modules" / "semver"


def semver_compare(node_semver: Path) -> Callable[[list[Pair], Path], list[int | None]]:
    def compare(pairs: list[Pair], tmp: Path) -> list[int | None]:
        path = tmp / "semver-pairs.json"
        path.write_text(json.dumps(pairs))
        out = subprocess.run(["node", "-e", NODE, str(node_semver), str(path)], capture_output=True, text=True,
                             check=True).stdout  # fmt: skip
        return [None if x is None else _sign(x) for x in json.loads(out)]

    return compare


# -- OSV evaluation ------------------------------------------------------------------------------


def _events(range_: dict) -> list[tuple[str, str]]:
    out = []
    for event in range_.get("events") or []:
        for kind in ("introduced", "fixed", "last_affected", "limit"):
            if isinstance(event.get(kind), str):
                out.append((kind, event[kind]))
    return out


def _ranges(entry: dict) -> list[dict]:
    return [r for r in entry.get("ranges") or [] if r.get("type") in RANGE_TYPES]


class Order:
    """Answers `cmp(a, b)` from one batch of the ecosystem tool's results."""

    def __init__(self, compare: Callable[[list[Pair], Path], list[int | None]], tmp: Path) -> None:
        self._compare, self._tmp = compare, tmp
        self._known: dict[Pair, int | None] = {}

    def prepare(self, pairs: Iterable[Pair]) -> None:
        todo = sorted({p for p in pairs if p not in self._known and p[0] != p[1]})
        if todo:
            results = self._compare(todo, self._tmp)
            assert len(results) == len(todo), "oracle answered a different number of pairs"
            self._known.update(zip(todo, results, strict=True))

    def __call__(self, a: str, b: str) -> int:
        if a == b:
            return 0
        got = self._known.get((a, b))
        if got is None and (b, a) in self._known and self._known[(b, a)] is not None:
            return -self._known[(b, a)]  # type: ignore[operator]
        if got is None:
            raise ValueError(f"the ecosystem's comparator cannot order {a!r} and {b!r}")
        return got

    @property
    def calls(self) -> int:
        return len(self._known)


def pairs_needed(version: str, entry: dict) -> set[Pair]:
    """Every comparison evaluating `entry` for `version` may need: version vs events, events pairwise."""
    needed: set[Pair] = set()
    for range_ in _ranges(entry):
        values = sorted({v for _, v in _events(range_) if v not in ("0", "*")})
        needed.update((version, v) for v in values)
        needed.update((a, b) for i, a in enumerate(values) for b in values[i + 1 :])
    return needed


def in_range(version: str, range_: dict, cmp: Callable[[str, str], int]) -> bool:
    """The OSV schema's evaluation of one SEMVER/ECOSYSTEM range."""
    events = _events(range_)
    limits = [v for k, v in events if k == "limit"]
    if limits and not any(v == "*" or cmp(version, v) < 0 for v in limits):
        return False
    rank = {"introduced": 0, "fixed": 1, "last_affected": 1}

    def order(x: tuple[str, str], y: tuple[str, str]) -> int:
        if x[1] == "0" and x[0] == "introduced":
            return 0 if y == x else -1
        if y[1] == "0" and y[0] == "introduced":
            return 1
        return cmp(x[1], y[1]) or rank[x[0]] - rank[y[0]]

    affected = False
    for kind, value in sorted([e for e in events if e[0] != "limit"], key=cmp_to_key(order)):
        if kind == "introduced" and (value == "0" or cmp(version, value) >= 0):
            affected = True
        elif (kind == "fixed" and cmp(version, value) >= 0) or (kind == "last_affected" and cmp(version, value) > 0):
            affected = False  # `fixed` is the first unaffected version, `last_affected` the last affected one
    return affected


def is_affected(version: str, entry: dict, cmp: Callable[[str, str], int]) -> bool:
    if version in (entry.get("versions") or []):
        return True
    return any(in_range(version, r, cmp) for r in _ranges(entry))


def first_fixes(version: str, entry: dict, cmp: Callable[[str, str], int]) -> set[str]:
    """The lowest `fixed` event above `version` in each range that covers it."""
    out = set()
    for range_ in _ranges(entry):
        if in_range(version, range_, cmp):
            fixes = [v for k, v in _events(range_) if k == "fixed" and cmp(v, version) > 0]
            if fixes:
                out.add(min(fixes, key=cmp_to_key(cmp)))
    return out


@dataclass(frozen=True)
class Installed:
    """One installed package: reported `name`/`version`, and the name/version advisories are keyed on."""

    name: str
    version: str
    key: str
    key_version: str


def expected_matches(
    packages: Iterable[Installed], index: dict[str, list[Entry]], order: Order
) -> set[tuple[str, str, str]]:
    """(name, version, record id) for every installed package an indexed entry covers."""
    packages = list(packages)
    order.prepare(p for pkg in packages for e in index.get(pkg.key, ()) for p in pairs_needed(pkg.key_version, e.entry))
    return {
        (pkg.name, pkg.version, e.record_id)
        for pkg in packages
        for e in index.get(pkg.key, ())
        if is_affected(pkg.key_version, e.entry, order)
    }


# -- inventories from the package managers -------------------------------------------------------


def os_release(root: Path) -> dict[str, str]:
    for rel in ("etc/os-release", "usr/lib/os-release"):
        path = root / rel
        if path.is_file() or path.is_symlink():
            target = path if path.is_file() else root / "usr/lib/os-release"
            pairs = (line.split("=", 1) for line in target.read_text().splitlines() if "=" in line)
            return {k.strip(): v.strip().strip("\"'") for k, v in pairs}
    raise FileNotFoundError(f"no os-release under {root}")


def osv_release(root: Path) -> str:
    """The OSV ecosystem of a root's distro release: Debian:11, Ubuntu:18.04:LTS, Alpine:v3.11, AlmaLinux:9."""
    info = os_release(root)
    distro, version = info["ID"], info.get("VERSION_ID", "")
    if distro == "debian":
        return f"Debian:{version.split('.')[0]}"
    if distro == "ubuntu":
        year, month = version.split(".")[:2]
        return f"Ubuntu:{version}:LTS" if month == "04" and int(year) % 2 == 0 else f"Ubuntu:{version}"
    if distro == "alpine":
        return "Alpine:v" + ".".join(version.split(".")[:2])
    if distro == "almalinux":
        return f"AlmaLinux:{version.split('.')[0]}"
    raise ValueError(f"no OSV ecosystem for {distro} {version}")


def dpkg_installed(root: Path) -> list[Installed]:
    """dpkg-query's installed binary packages, keyed on their source package and source version."""
    fmt = "${db:Status-Status}\t${Package}\t${Version}\t${source:Package}\t${source:Version}\n"
    out = subprocess.run(["dpkg-query", "--admindir", str(root / "var/lib/dpkg"), "-W", "-f", fmt],
                         capture_output=True, text=True, check=True).stdout  # fmt: skip
    rows = [line.split("\t") for line in out.splitlines()]
    return [Installed(r[1], r[2], r[3], r[4]) for r in rows if r[0] == "installed"]


def rpm_installed(root: Path) -> list[Installed]:
    """`rpm -qa` in a root: binary name and [epoch:]version-release (gpg-pubkey left out)."""
    qf = "%{NAME}\t%|EPOCH?{%{EPOCH}:}:{}|%{VERSION}-%{RELEASE}\n"
    out = subprocess.run(["rpm", "--root", str(root), "--dbpath", "/var/lib/rpm", "-qa", "--qf", qf],
                         capture_output=True, text=True, check=True).stdout  # fmt: skip
    rows = [line.split("\t") for line in out.splitlines()]
    return [Installed(n, v, n, v) for n, v in rows if n != "gpg-pubkey"]


def pypi_installed(site_packages: Path) -> list[Installed]:
    from importlib.metadata import distributions

    return [Installed(d.metadata["Name"], d.version, pep503(d.metadata["Name"]), d.version)
            for d in distributions(path=[str(site_packages)])]  # fmt: skip


def npm_installed(prefix: Path) -> list[Installed]:
    """`npm ls --all --json` flattened; missing dependencies left out."""
    proc = subprocess.run(["npm", "ls", "--all", "--json", "--prefix", str(prefix)], capture_output=True, text=True)
    found: set[tuple[str, str]] = set()

    def walk(deps: dict) -> None:
        for name, node in deps.items():
            if node.get("version") and not node.get("missing"):
                found.add((name, node["version"]))
            walk(node.get("dependencies", {}))

    walk(json.loads(proc.stdout).get("dependencies", {}))
    return [Installed(n, v, n, v) for n, v in sorted(found)]
