"""Every command's --help renders (help texts are rich markup: a stray `[x]` once crashed `image --help`)."""

from __future__ import annotations

import pytest
import typer
from typer.testing import CliRunner

from lashing.cli.main import app


def _paths(group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    out = []
    for name, command in group.commands.items():
        out.append((*prefix, name))
        if hasattr(command, "commands"):  # a group (typer vendors its own click)
            out.extend(_paths(command, (*prefix, name)))
    return out


COMMANDS = _paths(typer.main.get_command(app))


def test_every_command_group_is_listed() -> None:
    names = {path[0] for path in COMMANDS}
    assert {"image", "fs", "sbom", "config", "rules", "db", "k8s"} <= names
    assert ("k8s", "can-reach") in COMMANDS and ("db", "update") in COMMANDS


@pytest.mark.parametrize("path", COMMANDS, ids=" ".join)
def test_help_renders(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(app, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output
