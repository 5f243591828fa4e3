"""OSV range evaluation on real corpus records: ``is_affected`` against a brute-force walk of the sorted
events whose every version comparison is answered by the package manager's own tool (dpkg, rpm, node-semver,
Gem::Version, composer/semver, packaging), batched per ecosystem."""

from __future__ import annotations

import random
from collections import defaultdict
from pathlib import Path

import pytest

from lashing.analyzers.vulns.ranges import is_affected
from test_versions import NODE as NODE_SCRIPT
from test_versions import (
    Oracle,
    _json_oracle,
    composer_oracle,
    corpus_records,
    dpkg_oracle,
    node_semver,
    packaging_oracle,
    rpm_oracle,
    ruby_oracle,
)

__all__ = ["node_semver"]  # the session fixture, re-exported so pytest finds it here

# Neighbours of every event version, so candidates fall just below, at and just above each boundary.
NEIGHBOURS = {
    "Debian": ["~", "~1", "+b1", ".1"],
    "Ubuntu": ["~", "+b1", ".1"],
    "AlmaLinux": ["~", "^1", ".1", "a"],
    "PyPI": [".post1", "rc1", ".1", ".dev0"],
    "npm": ["-0", "-rc.1"],
    "crates.io": ["-0", "-rc.1"],
    "Go": ["-0", "-rc.1"],
    "RubyGems": [".1", ".a", ".0"],
    "Packagist": [".1", "-beta1", "-RC1"],
}
ENTRIES_PER_ECOSYSTEM = 30
MAX_EVENTS = 12  # entries with more events only add pairs for the slower oracles


def _event_versions(entry: dict) -> set[str]:
    out = set()
    for r in entry.get("ranges", []):
        if r.get("type") in ("SEMVER", "ECOSYSTEM"):
            for event in r.get("events", []):
                out.update(v for v in event.values() if v != "0")
    return out


def pick_entries(folder: str, hand_picked: tuple[str, ...] = ()) -> list[tuple[dict, list[str]]]:
    """Real affected entries (hand-picked ids first, then those with the most events up to MAX_EVENTS) with
    candidate versions:
    every event and listed version of the package anywhere in the corpus, plus neighbours of its own
    events."""
    by_package: dict[str, set[str]] = defaultdict(set)
    entries = []
    for record in corpus_records(folder):
        for entry in record.get("affected", []):
            name = entry.get("package", {}).get("name", "")
            by_package[name] |= _event_versions(entry) | set(entry.get("versions", []))
            if 0 < len(_event_versions(entry)) <= MAX_EVENTS or record["id"] in hand_picked:
                size = len(_event_versions(entry))
                entries.append((record["id"] in hand_picked, size, record["id"], entry))
    rng = random.Random(7)
    rng.shuffle(entries)
    entries.sort(key=lambda e: (not e[0], -e[1]))
    out = []
    for _, _, _, entry in entries[:ENTRIES_PER_ECOSYSTEM]:
        own = _event_versions(entry)
        pool = sorted(by_package[entry["package"]["name"]] - own)
        candidates = set(own) | set(rng.sample(pool, min(12, len(pool))))
        candidates |= {v + s for v in own for s in NEIGHBOURS[folder]}
        out.append((entry, sorted(c for c in candidates if c and " " not in c)))
    return out


def brute_force(version: str, entry: dict, cmp) -> bool:
    """The OSV schema's evaluation written out plainly, every comparison asked of the oracle."""
    if version in entry.get("versions", []):
        return True
    for r in entry.get("ranges", []):
        if r.get("type") not in ("SEMVER", "ECOSYSTEM"):
            continue
        events = [(k, v) for e in r["events"] for k, v in e.items()]
        limits = [v for k, v in events if k == "limit"]
        if limits and not any(v == "*" or cmp(version, v) < 0 for v in limits):
            continue
        walk: list[tuple[str, str]] = []
        # insertion sort: "0" first, introduced first at ties
        for ev in (e for e in events if e[0] != "limit"):
            k = len(walk)
            while k > 0 and _after(walk[k - 1], ev, cmp):
                k -= 1
            walk.insert(k, ev)
        vulnerable = False
        for kind, v in walk:
            if kind == "introduced" and (v == "0" or cmp(version, v) >= 0):
                vulnerable = True
            elif kind != "introduced" and cmp(version, v) >= (0 if kind == "fixed" else 1):
                vulnerable = False  # fixed: at or above; last_affected: strictly above
        if vulnerable:
            return True
    return False


def _after(x: tuple[str, str], y: tuple[str, str], cmp) -> bool:
    """True when event x must come after event y."""
    if y == ("introduced", "0"):
        return x != y
    if x == ("introduced", "0"):
        return False
    c = cmp(x[1], y[1])
    return c > 0 or (c == 0 and x[0] != "introduced" and y[0] == "introduced")


CASES = [
    ("Debian", dpkg_oracle, ("DSA-4371-1", "DLA-0001-1")),
    ("Ubuntu", dpkg_oracle, ()),
    ("AlmaLinux", rpm_oracle, ("ALBA-2019:0973",)),
    ("PyPI", packaging_oracle, ("PYSEC-2021-335",)),
    ("npm", "node", ("NSWG-ECO-1",)),
    ("crates.io", "node", ("RUSTSEC-2016-0001",)),
    ("Go", "node", ("GO-2020-0001",)),
    ("RubyGems", ruby_oracle, ()),
    ("Packagist", composer_oracle, ()),
]


@pytest.mark.parametrize(("folder", "oracle", "hand_picked"), CASES, ids=[c[0] for c in CASES])
def test_is_affected_matches_brute_force_with_real_oracle(
    folder: str, oracle: Oracle | str, hand_picked: tuple[str, ...], node_semver: Path, tmp_path: Path
) -> None:
    picked = pick_entries(folder, hand_picked)
    needed: set[tuple[str, str]] = set()
    for entry, candidates in picked:
        events = sorted(_event_versions(entry))
        needed |= {(a, b) for i, a in enumerate(events) for b in events[i + 1 :]}
        needed |= {(c, e) for c in candidates for e in events}
    pairs = sorted(needed)
    if oracle == "node":
        results = _json_oracle(["node", "-e", NODE_SCRIPT, str(node_semver)], pairs, tmp_path, "node")
    else:
        results = oracle(pairs, tmp_path)
    table: dict[tuple[str, str], int] = {}
    for (a, b), r in zip(pairs, results, strict=True):
        if r is not None:
            table[a, b], table[b, a] = r, -r

    def cmp(a: str, b: str) -> int:
        return 0 if a == b else table[a, b]

    checked = affected = 0
    skipped = []
    for entry, candidates in picked:
        ecosystem = entry["package"]["ecosystem"]
        for c in candidates:
            try:
                want = brute_force(c, entry, cmp)
            except KeyError:  # the oracle rejects this candidate or an event: nothing to compare against
                skipped.append(c)
                continue
            assert is_affected(c, entry, ecosystem) == want, (entry, c, want)
            assert is_affected(c, entry) == want  # ecosystem taken from the entry itself
            checked += 1
            affected += want
    print(
        f"{folder}: {len(picked)} entries, {checked} candidates checked ({affected} affected), "
        + f"{len(skipped)} skipped"
    )
    assert checked >= 0.8 * (checked + len(skipped))
    assert 0 < affected < checked  # both outcomes exercised


def _entry(ecosystem: str, *events: dict, versions: tuple[str, ...] = ()) -> dict:
    return {
        "package": {"ecosystem": ecosystem, "name": "x"},
        "ranges": [{"type": "ECOSYSTEM", "events": list(events)}],
        "versions": list(versions),
    }


TWO_PAIRS = ({"introduced": "2.0"}, {"last_affected": "2.3"}, {"introduced": "1.0"}, {"fixed": "1.5"})
SCHEMA_CASES = [
    # the OSV schema's own semantics, written as (entry, version -> expected)
    (
        _entry("PyPI", *TWO_PAIRS),
        {
            "0.9": False,
            "1.0": True,
            "1.4": True,
            "1.5": False,
            "1.9": False,
            "2.0": True,
            "2.3": True,
            "2.3.1": False,
        },
    ),
    (_entry("npm", {"introduced": "0"}), {"0.0.0": True, "99.0.0": True}),
    (
        _entry("npm", {"introduced": "1.0.0"}, {"limit": "1.2.0"}),
        {"1.1.9": True, "1.2.0": False, "0.9.0": False},
    ),
    (_entry("npm", {"introduced": "1.0.0"}, {"limit": "*"}), {"9.0.0": True}),
    (_entry("Debian:12", {"introduced": "0"}, {"fixed": "1.0-1"}), {"1.0-1~deb12u1": True, "1.0-1": False}),
    (_entry("Debian:12", {"introduced": "1.0"}, {"fixed": "1.0"}), {"1.0": False, "0.9": False}),
    (_entry("Hackage", {"introduced": "0"}, versions=("1.0",)), {"1.0": True, "1.1": False}),
    (
        {"package": {"ecosystem": "Go"}, "ranges": [{"type": "GIT", "events": [{"introduced": "0"}]}]},
        {"v1.0.0": False},
    ),
    ({"ranges": "nonsense", "versions": None}, {"1.0": False}),
    (
        _entry("RubyGems", {"introduced": "0"}, {"fixed": None}, "junk", {"fixed": "1.2"}),
        {"1.1": True, "1.2": False},
    ),
]


@pytest.mark.parametrize(("entry", "expected"), SCHEMA_CASES)
def test_schema_semantics(entry: dict, expected: dict[str, bool]) -> None:
    for version, want in expected.items():
        assert is_affected(version, entry) == want, version


def test_malformed_entries_never_raise() -> None:
    for entry in ([], None, {"ranges": [None, 1, {"type": "SEMVER", "events": "x"}]}, {"package": "npm"}):
        assert is_affected("1.0.0", entry, "npm") is False  # type: ignore[arg-type]
