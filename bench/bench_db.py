"""Advisory database benchmark: import the OSV corpus mirror, then time lookups.

Prints, for the 16-ecosystem corpus at ../shared/corpus/osv: full import time (rebuild), incremental
re-run time (copy + skip unchanged) and full re-run time on top of a live DB (the measurement behind
choosing copy+update), records per export, DB size per table, and the time for 500 `affected_for`
lookups (a mix of packages present in each ecosystem and misses), as a matcher would issue them.

    python bench/bench_db.py [--mirror DIR] [--workdir DIR] [--lookups 500]
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

from lashing.db import AdvisoryStore
from lashing.db.store import DB_NAME
from lashing.db.update import update

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "osv"


def _lookups(db: Path, n: int) -> list[tuple[str, str]]:
    conn = sqlite3.connect(db)
    keys = [tuple(r) for r in conn.execute("SELECT DISTINCT ecosystem_base, normalized_name FROM affected")]
    conn.close()
    rng = random.Random(42)
    picked = rng.sample(keys, min(n - n // 5, len(keys)))
    return picked + [(eco, f"no-such-{i}") for i, (eco, _) in enumerate(picked[: n - len(picked)])]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mirror", type=Path, default=CORPUS)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--lookups", type=int, default=500)
    args = parser.parse_args()
    cache = args.workdir or Path(tempfile.mkdtemp(prefix="lashing-bench-db-"))
    (cache / DB_NAME).unlink(missing_ok=True)

    first = update(str(args.mirror), cache=cache, full=True)
    print(f"full import (empty):       {first.seconds:6.2f} s  {first.imported} records")
    again = update(str(args.mirror), cache=cache)
    counts = f"{again.imported} imported, {again.skipped} skipped"
    print(f"incremental re-run:        {again.seconds:6.2f} s  {counts}")
    rebuild = update(str(args.mirror), cache=cache, full=True)
    print(f"full rebuild over live DB: {rebuild.seconds:6.2f} s")

    db = cache / DB_NAME
    print(f"\nDB size: {db.stat().st_size / 1e6:.1f} MB ({sum(first.per_export.values())} records)")
    for folder, count in sorted(first.per_export.items(), key=lambda kv: -kv[1]):
        print(f"  {folder:<12} {count:6d}")
    conn = sqlite3.connect(db)
    try:
        sizes = conn.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC").fetchall()
        print("size per table/index: " + ", ".join(f"{n} {s / 1e6:.1f} MB" for n, s in sizes if s > 100_000))
    except sqlite3.OperationalError:
        pass  # sqlite built without dbstat
    print(f"affected rows: {conn.execute('SELECT count(*) FROM affected').fetchone()[0]}")
    conn.close()

    keys = _lookups(db, args.lookups)
    runs = []
    for _ in range(5):
        start = time.perf_counter()
        with AdvisoryStore.open(db) as store:
            rows = sum(len(store.affected_for(eco, name)) for eco, name in keys)
        runs.append(time.perf_counter() - start)
    median = statistics.median(runs) * 1e3
    print(
        f"\n{len(keys)} lookups (open + affected_for, rows decoded): median {median:.1f} ms,"
        f" best {min(runs) * 1e3:.1f} ms, {rows} affected rows returned"
    )


if __name__ == "__main__":
    main()
