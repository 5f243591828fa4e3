"""The `lashing` command: one Typer app, one module per command group, errors as one line."""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import sys
from typing import NoReturn

import typer

from lashing import __version__
from lashing.cli import config as config_cli
from lashing.cli import db, fs, image, k8s, sbom
from lashing.errors import LashingError

app = typer.Typer(
    name="lashing",
    help="Container security through the whole lifecycle: images, configuration, clusters, runtime.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.command("sbom", help="List every package in an image or directory (SBOM).")(sbom.sbom)
app.command("image", help="Scan an image for vulnerabilities (inventory, advisories, policy gate).")(image.image)
app.command("fs", help="Scan a source tree: lockfiles and installed packages, vulnerabilities, secrets.")(fs.fs)
app.command(
    "config", help="Scan configuration: Dockerfiles, Kubernetes, Compose, docker run, RBAC, control plane."
)(config_cli.config)
app.add_typer(config_cli.rules, name="rules", help="Document the configuration rule catalog.")
app.add_typer(k8s.app, name="k8s", help="Kubernetes cluster posture: snapshots, RBAC, network policy.")
app.add_typer(db.app, name="db", help="Manage the offline advisory database (OSV exports).")

_state = {"debug": False}


def _version(value: bool) -> None:
    if value:
        typer.echo(f"lashing {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    debug: bool = typer.Option(False, "--debug", help="Verbose logs and tracebacks."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Only errors on stderr."),
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version."
    ),
) -> None:
    _state["debug"] = debug
    level = logging.DEBUG if debug else (logging.ERROR if quiet else logging.WARNING)
    logging.basicConfig(level=level, format="lashing: %(levelname)s: %(message)s", stream=sys.stderr)


def one_line(message: str, limit: int = 500) -> str:
    """Errors are one line: fold whitespace (messages may quote hostile bytes) and cap the length."""
    text = " ".join(message.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


GC_THRESHOLD = (50_000, 20, 100)


def tune_gc() -> None:
    """Scans allocate millions of short-lived, acyclic objects (YAML nodes, findings, unpickled results):
    with the default gen-0 threshold (700) the cycle collector re-walks every survivor over and over
    (a third of a 2,500-file config scan). Objects that exist after start-up are frozen out of its sight
    and it runs less often; reference counting still frees everything acyclic at once."""
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLD)


def main() -> None:
    """Entry point: map library errors to a one-line message and an exit code."""
    tune_gc()
    try:
        app()  # standalone: Typer reports usage errors itself (exit 2) and exits
        code = 0
    except SystemExit as exc:
        code = exit_status(exc.code)
    except LashingError as exc:
        if _state["debug"]:
            raise
        print(f"lashing: error: {one_line(str(exc))}", file=sys.stderr)
        code = exc.exit_code
    except KeyboardInterrupt:
        code = 130
    except Exception as exc:
        if _state["debug"]:
            raise
        message = f"{type(exc).__name__}: {one_line(str(exc))}"
        print(f"lashing: internal error: {message} (rerun with --debug)", file=sys.stderr)
        code = 3
    leave(code)


def exit_status(code: object) -> int:
    """SystemExit's code as a process status (None: 0; a message: printed, 1), as the interpreter does."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1


def leave(code: int) -> NoReturn:
    """Exit without the interpreter's teardown, which frees every object of a large scan one at a time
    (~60 ms after an image scan). Nothing of ours needs it: files and databases are closed by their
    context managers, worker pools are joined; the output streams and log handlers are flushed here."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe (`lashing ... | head`)
            stream.flush()
    logging.shutdown()
    os._exit(code)
