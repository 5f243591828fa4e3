"""Mutation fuzzing of the parsers that read strangers' files: config files and SBOMs.

    python scripts/fuzz_inputs.py config [--cases 10000] [--seed 1]
    python scripts/fuzz_inputs.py sbom SBOM.json [SBOM.json ...] [--cases 1500] [--seed 1]

`config` mutates the peers' labelled cases, Compose files and control-plane configs of ../shared/corpus
(bytes flipped, cut and spliced with YAML/Dockerfile syntax) and feeds each to `scan_content` under a
random file name; `sbom` mutates the given CycloneDX/SPDX JSON documents field by field and feeds each to
`read_sbom`. Clean errors (LashingError, a warning in the result) are fine; any other exception is
printed once per place it was raised, and the run ends with the counts.
"""

from __future__ import annotations

import argparse
import glob
import json
import random
import tempfile
import traceback
import zipfile
from pathlib import Path

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"
SPLICES = [b": ", b"\n- ", b"{", b"[", b"]", b"}", b'"', b"'", b"\\\n", b"&a ", b"*a", b"!!binary ", b"<<: *a\n",
           b"\t", b"RUN ", b"--", b"${X}", b": [1, 2]", b": {a: 1}", b": null", b": 12", b": true", b"<<EOF\n",
           b"ONBUILD ", b"FROM ", b"\x00", b"\xff\xfe"]
NAMES = ["Dockerfile", "x.yaml", "compose.yaml", "run.sh", "k.service", "x.json"]
VALUES = [None, 1, -1, 1.5, True, "", "x", [], {}, [1], {"a": 1}, "pkg:", "pkg:deb/", "a" * 5000, "SPDXRef-",
          "NOASSERTION"]


class Report:
    def __init__(self) -> None:
        self.seen: set[tuple[str, str, int]] = set()
        self.errors = 0

    def crash(self, what: str, exc: Exception) -> None:
        frame = traceback.extract_tb(exc.__traceback__)[-1]
        key = (type(exc).__name__, frame.filename, frame.lineno or 0)
        self.errors += 1
        if key not in self.seen:
            self.seen.add(key)
            print(f"crash on {what}: {type(exc).__name__}: {str(exc)[:120]} at {frame.filename}:{frame.lineno}")


def _seeds(rng: random.Random) -> list[tuple[str, bytes]]:
    zips = [*glob.glob(str(CORPUS / "config-peers" / "*.zip")), *glob.glob(str(CORPUS / "compose" / "*.zip")),
            *glob.glob(str(CORPUS / "control-plane" / "*.zip"))]
    seeds = []
    for name in zips:
        if "netpol" in name:
            continue
        with zipfile.ZipFile(name) as archive:
            members = [n for n in archive.namelist() if not n.endswith("/")]
            rng.shuffle(members)
            seeds += [(n.rsplit("/", 1)[-1], archive.read(n)) for n in members[:200]]
    return seeds


def fuzz_config(cases: int, rng: random.Random, report: Report) -> None:
    from lashing.analyzers.config import scan_content

    seeds = _seeds(rng)
    for _ in range(cases):
        name, data = rng.choice(seeds)
        mutated = bytearray(data[:20000])
        for _ in range(rng.randint(1, 10)):
            if not mutated:
                break
            op, pos = rng.random(), rng.randrange(len(mutated))
            if op < 0.35:
                mutated[pos] = rng.randrange(256)
            elif op < 0.6:
                del mutated[pos:pos + rng.randint(1, 30)]
            else:
                mutated[pos:pos] = rng.choice(SPLICES)
        target = rng.choice([name, *NAMES])
        try:
            scan_content(target, bytes(mutated))
        except Exception as exc:  # what the fuzzer looks for
            report.crash(target, exc)


def _mutate(node: object, rng: random.Random) -> None:
    if isinstance(node, dict) and node:
        key = rng.choice(list(node))
        if rng.random() < 0.3:
            node[key] = json.loads(json.dumps(rng.choice(VALUES)))
        elif rng.random() < 0.2:
            del node[key]
        else:
            _mutate(node[key], rng)
    elif isinstance(node, list) and node:
        index = rng.randrange(len(node))
        if rng.random() < 0.3:
            node[index] = json.loads(json.dumps(rng.choice(VALUES)))
        else:
            _mutate(node[index], rng)


def fuzz_sbom(paths: list[str], cases: int, rng: random.Random, report: Report) -> None:
    from lashing.errors import LashingError
    from lashing.sources.sbom import read_sbom

    documents = [json.loads(Path(p).read_text()) for p in paths]
    with tempfile.TemporaryDirectory() as folder:
        target = Path(folder) / "sbom.json"
        for _ in range(cases):
            document = json.loads(json.dumps(rng.choice(documents)))
            for _ in range(rng.randint(1, 6)):
                _mutate(document, rng)
            target.write_text(json.dumps(document))
            try:
                read_sbom(target)
            except LashingError:
                pass
            except Exception as exc:  # what the fuzzer looks for
                report.crash("sbom", exc)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("target", choices=["config", "sbom"])
    parser.add_argument("sboms", nargs="*")
    parser.add_argument("--cases", type=int, default=None)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng, report = random.Random(args.seed), Report()
    if args.target == "config":
        fuzz_config(args.cases or 10000, rng, report)
    else:
        fuzz_sbom(args.sboms, args.cases or 1500, rng, report)
    print(f"{args.target}: {args.cases or (10000 if args.target == 'config' else 1500)} cases, "
          f"{report.errors} crashes at {len(report.seen)} places")


if __name__ == "__main__":
    main()
