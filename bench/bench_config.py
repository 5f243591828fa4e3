"""Benchmark `lashing config` on generated Deployments (500/1000/2000 files) plus 500 Dockerfiles.

    python bench/bench_config.py [--files 2000] [--dockerfiles 500] [--peers]

Each run is a fresh child process running `lashing config DIR --format json` (the report on stdout, discarded,
as the peers' reports are; the `lashing-o` row writes it to a file with -o); peak RSS comes from
`resource.getrusage(RUSAGE_CHILDREN)` via a wrapper. The generated files are synced to disk before any tool
runs (their writeback would otherwise share the CPU with whichever tool runs first); lashing runs `--repeat`
times (median wall, highest peak), the peers once. `--peers` also times Checkov (`checkov -d DIR
--skip-download`, found on PATH or in $CHECKOV_VENV/bin) and Trivy (`trivy config --skip-check-update`)
on the same folders. The last folder holds the 2,000 Deployments and the 500 Dockerfiles together.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _bytecode import compile_lashing

TEMPLATE = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: app-{i}
  namespace: team-{ns}
  labels: {{app: app-{i}}}
spec:
  replicas: {replicas}
  selector: {{matchLabels: {{app: app-{i}}}}}
  template:
    metadata: {{labels: {{app: app-{i}}}}}
    spec:
{pod_sc}      containers:
      - name: app
        image: {image}
        ports: [{{containerPort: {port}}}]
{container_sc}{resources}      - name: sidecar-{i}
        image: envoyproxy/envoy:v1.{minor}.0
        env:
        - {{name: LOG_LEVEL, value: info}}
        - {{name: API_TOKEN, value: "{token}"}}
{volumes}"""


def deployment(i: int) -> str:
    """A varied Deployment: hardened, half-hardened or careless depending on i."""
    hardened = i % 3 == 0
    pod_sc = ("      securityContext: {runAsNonRoot: true, runAsUser: 10001, seccompProfile: {type: RuntimeDefault}}\n"
              if hardened else ("      hostNetwork: true\n" if i % 7 == 0 else ""))
    container_sc = ("        securityContext: {allowPrivilegeEscalation: false, readOnlyRootFilesystem: true,"
                    " capabilities: {drop: [ALL]}}\n" if hardened else
                    ("        securityContext: {privileged: true}\n" if i % 5 == 0 else ""))
    resources = ("        resources: {limits: {cpu: 500m, memory: 256Mi}, requests: {cpu: 100m, memory: 128Mi}}\n"
                 if i % 2 == 0 else "")
    volumes = ("      volumes: [{name: sock, hostPath: {path: /var/run/docker.sock}}]\n" if i % 11 == 0 else "")
    image = ["nginx:1.25", f"registry.example.com/team/api:2.{i}", "redis", "busybox:latest"][i % 4]
    return TEMPLATE.format(i=i, ns=i % 17, replicas=1 + i % 3, pod_sc=pod_sc, container_sc=container_sc,
                           resources=resources, volumes=volumes, image=image, port=80 + i % 9000,
                           minor=20 + i % 9, token=f"tok{i:08d}AbCdEfGhIjKlMn" if i % 4 == 1 else "x")


def generate(folder: Path, count: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        (folder / f"deploy-{i:05d}.yaml").write_text(deployment(i))


LASHING_CONFIG = [sys.executable, "-m", "lashing", "config"]


def generate_dockerfiles(folder: Path, count: int) -> None:
    sys.path.insert(0, str(Path(__file__).parent))
    from bench_dockerfile import generate as dockerfile

    for i in range(count):
        (folder / f"svc{i:04d}").mkdir(parents=True, exist_ok=True)
        (folder / f"svc{i:04d}" / "Dockerfile").write_text(dockerfile(i))


def _checkov() -> str | None:
    import os

    found = shutil.which("checkov")
    venv = Path(os.environ.get("CHECKOV_VENV", "/tmp/checkov-venv")) / "bin" / "checkov"
    return found or (str(venv) if venv.exists() else None)


def measure(command: list[str]) -> tuple[float, float]:
    """(wall seconds, peak RSS MiB) of a child process, measured by a tiny wrapper process."""
    wrapper = ("import resource, subprocess, sys, time, json; t = time.perf_counter(); "
               "subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL); "
               "print(json.dumps([time.perf_counter() - t, "
               "resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024]))")
    out = subprocess.run([sys.executable, "-c", wrapper, *command], capture_output=True, text=True, check=True)
    wall, rss = json.loads(out.stdout)
    return wall, rss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--dockerfiles", type=int, default=500)
    parser.add_argument("--peers", action="store_true", help="also run checkov and trivy when installed")
    parser.add_argument("--repeat", type=int, default=3,
                        help="runs of lashing per size, the median printed (peers run once: they take minutes)")
    args = parser.parse_args()
    compile_lashing()  # as a wheel install does: time the product, not the compiler
    sizes = sorted({s for s in (500, 1000, args.files) if s <= args.files})
    with tempfile.TemporaryDirectory(prefix="lashing-bench-") as tmp:
        rows = []
        for size in sizes:
            folder = Path(tmp) / f"n{size}"
            generate(folder, size)
            if size == max(sizes) and args.dockerfiles:
                generate_dockerfiles(folder, args.dockerfiles)
            # Every tool writes its JSON report to stdout, discarded by the wrapper (as the peers' are);
            # "lashing-o" also writes it to a file with -o, which costs the file's page cache (~57 MB at 2,500).
            tools = {"lashing": [*LASHING_CONFIG, str(folder), "--format", "json"],
                     "lashing-o": [*LASHING_CONFIG, str(folder), "--format", "json", "-o", str(Path(tmp) / "out.json")]}
            if args.peers and _checkov():
                tools["checkov"] = [_checkov(), "-d", str(folder), "--framework", "kubernetes", "dockerfile",
                                    "--skip-download", "--quiet", "--compact", "-o", "json"]
            if args.peers and shutil.which("trivy"):
                tools["trivy"] = ["trivy", "config", "--skip-check-update", "--quiet", "-f", "json", str(folder)]
            os.sync()  # the files just written are on disk: no tool shares the CPU with their writeback
            for tool, command in tools.items():
                runs = sorted(measure(command) for _ in range(args.repeat if tool.startswith("lashing") else 1))
                wall, rss = runs[len(runs) // 2][0], max(r for _, r in runs)
                rows.append((tool, size, wall, rss))
                label = f"{size}+{args.dockerfiles}df" if size == max(sizes) and args.dockerfiles else str(size)
                print(f"{tool:8} {label:>10} files  {wall:7.2f} s  {size / wall:8.0f} files/s  peak {rss:7.1f} MiB",
                      flush=True)
        if args.peers:
            for size in sizes:
                by_tool = {t: w for t, s, w, _ in rows if s == size}
                if "lashing" in by_tool and len(by_tool) > 1:
                    ratios = ", ".join(f"{t} {w / by_tool['lashing']:.1f}x ({w / by_tool['lashing-o']:.1f}x with -o)"
                                       for t, w in by_tool.items() if not t.startswith("lashing"))
                    print(f"{size} files: lashing is faster than {ratios}")


if __name__ == "__main__":
    started = time.perf_counter()
    main()
    print(f"total {time.perf_counter() - started:.1f} s")
