"""Options shared by the scan commands (image, fs, sbom, config), declared once."""

from __future__ import annotations

import typer

from lashing.report import FORMATS

FORMAT = typer.Option("table", "--format", "-f", help=f"One of: {', '.join(FORMATS)}.")
OUTPUT = typer.Option(None, "--output", "-o", help="Write the report here instead of stdout.")
SEVERITY = typer.Option(None, "--severity", "-s", help="Only these, e.g. HIGH,CRITICAL.")
EXIT_CODE = typer.Option(0, "--exit-code", help="Exit with this code when findings remain.")
IGNORE_UNFIXED = typer.Option(False, "--ignore-unfixed", help="Drop vulnerabilities with no fix.")
IGNORE_FILE = typer.Option(
    None, "--ignorefile", help="Ignore rules (YAML, shared by every scan); default ./.lashingignore when present."
)
VEX = typer.Option(None, "--vex", help="OpenVEX or CycloneDX VEX document(s) to apply.")
DB = typer.Option(None, "--db", help="Advisory database file (default: the cache's).")
PLATFORM = typer.Option(None, "--platform", help="os/arch or os/arch/variant to pick from an index.")
USERNAME = typer.Option(None, "--username", help="Registry user (or LASHING_USERNAME).")
PASSWORD = typer.Option(None, "--password", help="Registry password (or LASHING_PASSWORD).")
REGISTRY_TOKEN = typer.Option(None, "--registry-token", help="Registry bearer token.")
INSECURE = typer.Option(False, "--insecure", help="Allow plain HTTP to the registry.")
NO_CACHE = typer.Option(False, "--no-cache", help="Do not read or write the layer cache.")
PROGRESS = typer.Option(True, "--progress/--no-progress", help="Progress bars on a terminal.")
