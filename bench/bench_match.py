"""Vulnerability matching benchmark: time to match N packages against the corpus advisory database.

Builds (or reuses) the database from ../shared/corpus/osv, then draws N packages from names that have
advisories (Debian 10/11 source packages, PyPI, npm, Go, crates.io, RubyGems, Packagist, AlmaLinux 9)
plus names with none, each at a version below its first fixed version so that many match, and times
`Matcher.findings` with a fresh matcher (cold caches) per repeat.

    python bench/bench_match.py [--packages 500] [--repeat 5] [--db PATH]
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

from lashing.analyzers.vulns.matcher import Matcher
from lashing.db import AdvisoryStore
from lashing.db.store import DB_NAME
from lashing.db.update import update
from lashing.model import OSInfo, Package, PackageType

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "osv"
LANGUAGES = {
    "PyPI": PackageType.PYTHON, "npm": PackageType.NPM, "Go": PackageType.GOLANG, "crates.io": PackageType.CARGO,
    "RubyGems": PackageType.GEM, "Packagist": PackageType.COMPOSER,
}  # fmt: skip


def _names(db: Path, ecosystem: str, n: int, rng: random.Random) -> list[tuple[str, str]]:
    conn = sqlite3.connect(db)
    rows = conn.execute(
        "SELECT name, ranges FROM affected WHERE ecosystem = ? AND ranges LIKE '%fixed%' GROUP BY name", (ecosystem,)
    ).fetchall()
    conn.close()
    rng.shuffle(rows)
    out = []
    for name, ranges in rows[:n]:
        fixed = ranges.split('"fixed":"', 1)[1].split('"', 1)[0]
        out.append((name, fixed))
    return out


def _older(version: str) -> str:
    """A version just below `version` in most schemes: decrement the last digit run when possible."""
    digits = [i for i, ch in enumerate(version) if ch.isdigit()]
    if not digits:
        return version
    i = digits[-1]
    return version[:i] + str(max(int(version[i]) - 1, 0)) + version[i + 1 :] if version[i] != "0" else version


def packages(db: Path, total: int, seed: int = 7) -> tuple[list[Package], OSInfo]:
    rng = random.Random(seed)
    out: list[Package] = []
    for name, fixed in _names(db, "Debian:11", total // 2, rng):
        out.append(Package(name=f"lib{name}", version=_older(fixed), type=PackageType.DEB, source_name=name,
                           source_version=_older(fixed)))
    per_language = max(1, (total - len(out)) // (len(LANGUAGES) + 1))
    for ecosystem, ptype in LANGUAGES.items():
        for name, fixed in _names(db, ecosystem, per_language, rng):
            out.append(Package(name=name, version=_older(fixed), type=ptype))
    while len(out) < total:  # packages without advisories: lookups that miss
        out.append(Package(name=f"no-such-package-{len(out)}", version="1.0.0", type=PackageType.PYTHON))
    return out[:total], OSInfo(family="debian", version="11")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--packages", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--db", type=Path, help="an existing advisory database (else built from the corpus)")
    parser.add_argument("--image", action="append", default=[], help="also time matching this image's inventory")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = args.db
        if db is None:
            start = time.perf_counter()
            update(mirror=str(CORPUS), cache=Path(tmp))
            db = Path(tmp) / DB_NAME
            print(f"import: {time.perf_counter() - start:.1f} s, {db.stat().st_size / 1e6:.1f} MB")
        pkgs, os_info = packages(db, args.packages)
        timings, count = [], 0
        for _ in range(args.repeat):
            with AdvisoryStore.open(db) as store:
                start = time.perf_counter()
                count = len(Matcher(store, os_info).findings(pkgs))
                timings.append(time.perf_counter() - start)
        print(f"match {len(pkgs)} packages -> {count} findings: median {statistics.median(timings) * 1000:.0f} ms,"
              f" min {min(timings) * 1000:.0f} ms over {args.repeat} runs (every package chosen to be vulnerable)")
        for image in args.image:
            from lashing.pipeline import ScanOptions, scan_inventory

            report, _ = scan_inventory(image, ScanOptions(use_cache=False))
            timings = []
            for _ in range(args.repeat):
                with AdvisoryStore.open(db) as store:
                    start = time.perf_counter()
                    count = len(Matcher(store, report.os).findings(report.packages))
                    timings.append(time.perf_counter() - start)
            print(f"{image}: {len(report.packages)} packages -> {count} findings: median"
                  f" {statistics.median(timings) * 1000:.0f} ms")


if __name__ == "__main__":
    main()
