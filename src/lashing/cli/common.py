"""Options and helpers shared by the image commands: registry credentials, progress, output files."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, TYPE_CHECKING

from lashing.errors import UsageError
from lashing.model import Layer

if TYPE_CHECKING:  # the image sources are imported when an image command runs, not by `lashing config`
    from lashing.analyzers.image import ProgressHook
    from lashing.sources.image.detect import RegistryOptions
    from lashing.sources.image.manifest import Platform


def registry_options(
    username: str | None, password: str | None, token: str | None, insecure: bool
) -> RegistryOptions:
    from lashing.sources.image.detect import RegistryOptions

    username = username or os.environ.get("LASHING_USERNAME")
    password = password or os.environ.get("LASHING_PASSWORD")
    if password and not username:
        raise UsageError("--password needs --username")
    return RegistryOptions(
        username=username,
        password=password,
        token=token or os.environ.get("LASHING_REGISTRY_TOKEN"),
        insecure=insecure,
    )


def parse_platform(text: str | None) -> Platform | None:
    from lashing.sources.image.manifest import Platform

    return Platform.parse(text) if text else None


def scan_options(
    platform: str | None, username: str | None, password: str | None, token: str | None, insecure: bool,
    no_cache: bool,
):
    """The image-source settings of `lashing image` and `lashing sbom` from their shared options."""
    from lashing.pipeline import ScanOptions

    return ScanOptions(
        platform=parse_platform(platform),
        registry=registry_options(username, password, token, insecure),
        use_cache=not no_cache,
    )


@contextmanager
def layer_progress(enabled: bool) -> Iterator[ProgressHook | None]:
    """A rich progress bar per layer on an interactive stderr; nothing in pipes or CI logs."""
    if not enabled or not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

    console = Console(stderr=True)
    columns = (TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        tasks: dict[int, int] = {}

        def hook(layer: Layer, done: int, total: int | None) -> None:
            if layer.index not in tasks:
                label = f"layer {layer.index} {(layer.digest or layer.diff_id)[7:19]}"
                tasks[layer.index] = progress.add_task(label, total=total)
            progress.update(tasks[layer.index], completed=done, total=total)

        yield hook


@contextmanager
def output_stream(path: Path | None) -> Iterator[IO[str]]:
    """stdout, or a file written next to its final name and renamed into place when complete."""
    if path is None:
        yield sys.stdout
        return
    if path.exists() and not path.is_file():  # /dev/null, /dev/stdout, a FIFO: write through, never replace
        try:
            with open(path, "w", encoding="utf-8") as stream:
                yield stream
        except OSError as exc:
            raise UsageError(f"cannot write {path}: {exc.strerror}") from None
        return
    tmp = path.with_name(f".{path.name}.partial")
    try:
        with open(tmp, "w", encoding="utf-8") as stream:
            yield stream
        os.replace(tmp, path)
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror}") from None
    finally:
        if tmp.exists():
            tmp.unlink()


def parse_severities(text: str | None) -> frozenset | None:
    """`--severity HIGH,CRITICAL` -> the set of Severity values; None when not given."""
    from lashing.model import Severity

    if not text:
        return None
    out = set()
    for part in text.split(","):
        if not part.strip():
            continue
        try:
            out.add(Severity.parse(part))
        except KeyError:
            names = ", ".join(s.name for s in Severity)
            raise UsageError(f"unknown severity {part.strip()!r} in --severity; use {names}") from None
    return frozenset(out)


def build_policy(
    severity: str | None,
    exit_code: int,
    ignore_unfixed: bool,
    ignore_file: Path | None,
    vex: list[Path] | None,
):
    """The policy stage's settings from the common scan options (`.lashingignore` is read when present)."""
    from lashing.policy import Policy, load_ignore_file, load_vex

    if ignore_file is None and Path(".lashingignore").is_file():
        ignore_file = Path(".lashingignore")
    ignores = load_ignore_file(ignore_file) if ignore_file is not None else ()
    statements = tuple(s for path in vex or () for s in load_vex(path))
    return Policy(
        severities=parse_severities(severity), ignore_unfixed=ignore_unfixed, ignores=ignores,
        vex=statements, exit_code=exit_code,
    )


def write_scan(report, format: str, output: Path | None):
    """Write a scan report; the table shows findings and the verdict rather than every package."""
    from lashing.report import get_format

    writer = get_format(format)
    if hasattr(writer, "show_packages"):
        writer.show_packages = False
    with output_stream(output) as stream:
        writer.write(report, stream)
