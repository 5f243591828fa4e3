"""Render one chart with Helm's engine from `helm-python-sdk` (Helm v4 compiled as a library), as a child process.

    python -I -m lashing.analyzers.config.render.helm_worker CHART [--values FILE]... [--set K=V]...

prints what `helm template` prints: every rendered manifest after `---` and `# Source: <chart>/<template>`.
It runs in its own process so the caller can bound its time and output and kill it (Go code cannot be
interrupted in-process). Values merge as Helm's CLI does: values files in order, then each `--set`, maps
merged key by key, anything else replaced; the chart's own values.yaml is merged underneath by the engine.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

import yaml

RELEASE_NAME = "lashing"
NAMESPACE = "default"


def merge_maps(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Helm's `mergeMaps`: nested maps merge, every other value is replaced."""
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge_maps(out[key], value)
        else:
            out[key] = value
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="helm_worker")
    parser.add_argument("chart")
    parser.add_argument("--values", action="append", default=[])
    parser.add_argument("--set", dest="set_values", action="append", default=[])
    args = parser.parse_args(argv)
    try:
        import helm_python as helm
    except ImportError:
        print("helm-python-sdk is not installed", file=sys.stderr)
        return 3
    values: dict[str, Any] = {}
    try:
        for path in args.values:
            with open(path, encoding="utf-8") as handle:
                loaded = yaml.safe_load(handle)
            if loaded is not None and not isinstance(loaded, dict):
                raise ValueError(f"values file {path} is not a mapping")
            values = merge_maps(values, loaded or {})
        for pair in args.set_values:
            values = merge_maps(values, helm.parse_set_string(pair))
        with helm.Chart.load(args.chart) as chart:
            manifests = chart.render(values, name=RELEASE_NAME, namespace=NAMESPACE, is_install=True)
    except (OSError, ValueError, yaml.YAMLError, helm.HelmError) as exc:
        print(" ".join(str(exc).split())[:500] or type(exc).__name__, file=sys.stderr)
        return 1
    out = sys.stdout
    for source in sorted(manifests):
        text = manifests[source]
        if not source.endswith((".yaml", ".yml", ".json")) or not text.strip():
            continue  # NOTES.txt, partials
        out.write(f"---\n# Source: {source}\n{text if text.endswith(chr(10)) else text + chr(10)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
