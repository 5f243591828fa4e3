"""Interleaved A/B timing of one lashing command across source trees (e.g. two git worktrees).

    git worktree add /tmp/old <rev>
    python bench/ab_compare.py --tree /tmp/old/src --tree src --runs 7 -- sbom IMG --format cyclonedx -o /tmp/o.json

Each run is a fresh process with PYTHONPATH set to the tree and a fresh LASHING_CACHE_DIR (cold); the
trees take turns so that drifts of a shared machine hit both. Prints median and best wall time and the
median CPU time (user + system of the process and its children). Bytecode is compiled for every tree first.
"""

from __future__ import annotations

import argparse
import compileall
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", action="append", required=True, help="a src/ folder holding the lashing package")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("command", nargs=argparse.REMAINDER, help="the lashing arguments, after --")
    args = parser.parse_args()
    command = [a for a in args.command if a != "--"] if args.command[:1] == ["--"] else args.command
    for tree in args.tree:
        compileall.compile_dir(tree, quiet=1)
    times: dict[str, list[tuple[float, float]]] = {tree: [] for tree in args.tree}
    for _ in range(args.runs):
        for tree in args.tree:
            cache = tempfile.mkdtemp(prefix="lashing-ab-")
            env = {**os.environ, "PYTHONPATH": tree, "LASHING_CACHE_DIR": cache}
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            start = time.perf_counter()
            subprocess.run([sys.executable, "-m", "lashing", *command], env=env, check=True,
                           stdout=subprocess.DEVNULL)
            wall = time.perf_counter() - start
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
            times[tree].append((wall, cpu))
            shutil.rmtree(cache, ignore_errors=True)
    for tree, runs in times.items():
        walls = [w for w, _ in runs]
        print(f"{tree:40} wall median {statistics.median(walls):.3f} s, best {min(walls):.3f} s; "
              f"cpu median {statistics.median(c for _, c in runs):.3f} s ({len(runs)} runs)")


if __name__ == "__main__":
    main()
