"""`lashing db update|status`: the offline advisory database."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from lashing.db.update import Progress

app = typer.Typer(help="Manage the offline advisory database (OSV exports).", no_args_is_help=True)


@contextmanager
def _progress(enabled: bool) -> Iterator[Progress | None]:
    """A rich bar per export on an interactive stderr only."""
    if not enabled or not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as bar:
        tasks: dict[str, int] = {}

        def hook(folder: str, done: int, total: int) -> None:
            if folder not in tasks:
                tasks[folder] = bar.add_task(folder, total=total)
            bar.update(tasks[folder], completed=done, total=total)

        yield hook


@app.command("update")
def update(
    mirror: str | None = typer.Option(
        None,
        "--mirror",
        help="Folder of <Ecosystem>/all.zip, one zip, or an http(s) base URL "
        "(default: the official OSV exports).",
    ),
    ecosystem: list[str] = typer.Option([], "--ecosystem", "-e", help="Only these export folders (repeat)."),
    full: bool = typer.Option(False, "--full", help="Rebuild from empty instead of updating by `modified`."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Progress bars on a terminal."),
    debian_tracker: str | None = typer.Option(
        None,
        "--debian-tracker",
        help="Also import the Debian security tracker JSON (file, .gz/.zst, or http(s) URL such as "
        "https://security-tracker.debian.org/tracker/data/json); a debian-tracker.json[.gz|.zst] in a "
        "--mirror folder is imported without this option.",
    ),
) -> None:
    """Download or read OSV exports and swap in a new database atomically."""
    from lashing.db.update import update as run_update
    from lashing.paths import cache_dir

    with _progress(progress) as hook:
        result = run_update(
            mirror,
            cache=cache_dir(),
            ecosystems=tuple(ecosystem),
            full=full,
            progress=hook,
            debian_tracker_source=debian_tracker,
        )
    mode = "incremental" if result.incremental else "full"
    typer.echo(
        f"lashing: advisory database updated ({mode}) from {result.source}: {result.imported} imported, "
        f"{result.skipped} unchanged, {result.removed} removed in {result.seconds:.1f}s -> {result.path}",
        err=True,
    )
    if result.tracker is not None:  # the Debian security tracker
        t = result.tracker
        first = f" (first: {t.samples[0]})" if t.samples else ""
        typer.echo(
            f"lashing: debian tracker {t.source}: {t.advisories} CVEs, {t.entries} affected entries; "
            f"{t.imported} imported, {t.unchanged} unchanged, {t.removed} removed; "
            f"{t.warnings} malformed entries skipped{first}",
            err=True,
        )


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "unknown"
    days, rest = divmod(int(seconds), 86400)
    return f"{days}d {rest // 3600}h" if days else f"{rest // 3600}h {rest % 3600 // 60}m"


@app.command("status")
def status(
    format: str = typer.Option("table", "--format", "-f", help="table or json."),
    max_age: float = typer.Option(7.0, "--max-age", help="Warn when the database is older (days)."),
) -> None:
    """Show the database source, age, counts and size; warn when stale."""
    from lashing.db.status import db_status
    from lashing.errors import UsageError

    if format not in ("table", "json"):
        raise UsageError(f"unknown format {format!r}: use table or json")
    info = db_status()
    if format == "json":
        typer.echo(json.dumps(info.to_json(), indent=2, sort_keys=True))
    else:
        typer.echo(f"database:    {info.path} ({info.size_bytes / 1e6:.1f} MB)")
        typer.echo(f"source:      {info.source}")
        typer.echo(f"imported at: {info.imported_at} ({_age(info.age_seconds)} ago)")
        typer.echo(f"advisories:  {info.advisories} ({info.withdrawn} withdrawn)")
        for name, count in sorted(info.ecosystems.items(), key=lambda kv: kv[0].lower()):
            typer.echo(f"  {name:<16} {count}")
        for name, feed in sorted(info.feeds.items()):  # non-OSV sources (the Debian tracker)
            typer.echo(
                f"feed:        {name}: {feed.get('advisories', 0)} advisories from {feed.get('source', '')} "
                f"(imported at {feed.get('imported_at', '')}, {feed.get('warnings', 0)} warnings)"
            )
    if info.age_seconds is None or info.age_seconds > max_age * 86400:
        typer.echo(
            f"lashing: warning: the advisory database is older than {max_age:g} days "
            f"({_age(info.age_seconds)}): run `lashing db update`",
            err=True,
        )
