"""Count config findings per rule over the real manifests of ../shared/corpus/k8s-manifests (unlabelled),
to look for false positives: the figures the rules' plausibility checks quote.

    python scripts/corpus_findings.py [--rules ID,ID] [--min-severity HIGH] [--examples 3]
"""

from __future__ import annotations

import argparse
import collections
import glob
import zipfile
from pathlib import Path

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "k8s-manifests"


def main() -> None:
    from lashing.analyzers.config import scan_content
    from lashing.model import Severity

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rules", default="", help="only these rule ids (comma-separated)")
    parser.add_argument("--min-severity", default="UNKNOWN")
    parser.add_argument("--examples", type=int, default=3)
    args = parser.parse_args()
    wanted = {r for r in args.rules.split(",") if r}
    floor = Severity.parse(args.min_severity)
    counts: collections.Counter[str] = collections.Counter()
    examples: dict[str, list[str]] = collections.defaultdict(list)
    targets = 0
    for name in sorted(glob.glob(str(CORPUS / "*.zip"))):
        with zipfile.ZipFile(name) as archive:
            for member in archive.namelist():
                if not member.endswith((".yaml", ".yml", ".json")):
                    continue
                result = scan_content(member, archive.read(member))
                targets += result.targets
                for finding in result.findings:
                    if finding.severity < floor or (wanted and finding.id not in wanted):
                        continue
                    counts[finding.id] += 1
                    if len(examples[finding.id]) < args.examples:
                        examples[finding.id].append(f"{Path(name).stem}:{member} {finding.extra.get('resource')} "
                                                    f"{finding.extra.get('detail', '')[:80]}")
    print(f"{targets} targets")
    for rule, count in counts.most_common():
        print(f"{count:6} {rule}")
        for example in examples[rule]:
            print(f"         {example}")
    for rule in sorted(wanted - set(counts)):
        print(f"     0 {rule}")


if __name__ == "__main__":
    main()
