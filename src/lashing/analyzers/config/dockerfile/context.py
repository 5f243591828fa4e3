"""What checks see: the parsed Dockerfile plus facts computed once (RUN scripts, shells, mounts)."""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass, field
from functools import cached_property
from typing import NamedTuple

from . import packages as pk
from .model import Dockerfile, Instruction, Stage
from .shell import SHELLS, Command, parse_script

NON_POSIX_SHELLS = ("powershell", "pwsh", "cmd", "cmd.exe", "powershell.exe", "pwsh.exe")


class Hit(NamedTuple):
    """One place a check fired: the instruction's line range, its stage and a short detail."""

    line: int
    end_line: int
    stage: str = ""
    cmd: str = ""
    detail: str = ""


def hit(inst: Instruction, stage: Stage | None, detail: str = "") -> Hit:
    label = (stage.name or str(stage.index)) if stage is not None else ""
    return Hit(inst.start_line, inst.end_line, label, inst.cmd, detail)


@dataclass
class Run:
    """A RUN instruction read as shell: its simple commands and mounts."""

    stage: Stage
    inst: Instruction
    commands: list[Command]
    has_pipe: bool
    script: str
    posix: bool
    shell: tuple[str, ...] = ()
    mounts: list[dict[str, str]] = field(default_factory=list)
    _calls: dict[tuple[str, str], list[pk.Invocation]] = field(default_factory=dict, repr=False, compare=False)
    names: frozenset[str] = field(default=frozenset(), init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.names = frozenset([c.name for c in self.commands])  # for cheap "is there any `x`?" tests

    def calls(self, kind: str, tool: str = "") -> list[pk.Invocation]:
        """The package-manager invocations of this RUN (`apt`, `apk`, `pip`, `npm`, or `rpm` with its tool),
        parsed once however many checks ask; callers must not modify the list."""
        key = (kind, tool)
        found = self._calls.get(key)
        if found is None:
            if kind == "rpm":
                found = pk.rpm_calls(self.commands, tool) if tool in self.names else []
            elif kind == "pip":
                found = pk.pip_calls(self.commands) if any(n.startswith(pk.PIP_PREFIXES) for n in self.names) else []
            else:
                found = _CALLS[kind](self.commands) if not self.names.isdisjoint(_CALL_NAMES[kind]) else []
            self._calls[key] = found
        return found

    def mount_targets(self, kind: str) -> list[str]:
        return [m.get("target", m.get("dst", m.get("destination", ""))) for m in self.mounts if m.get("type") == kind]

    @property
    def has_secret_mount(self) -> bool:
        return bool(self.mounts) and any(m.get("type") == "secret" for m in self.mounts)

    def cached(self, *prefixes: str) -> bool:
        """True when a cache mount covers one of `prefixes` (so no cleanup is needed there)."""
        if not self.mounts:
            return False
        targets = [t.rstrip("/") for t in self.mount_targets("cache") if t]
        return any(t == p or t.startswith(p + "/") or p.startswith(t + "/") for t in targets for p in prefixes)

    def named(self, *names: str) -> list[Command]:
        if self.names.isdisjoint(names):
            return []
        return [c for c in self.commands if c.name in names]


_CALLS = {"apt": pk.apt_calls, "apk": pk.apk_calls, "npm": pk.npm_calls}
_CALL_NAMES = {"apt": pk.APT_TOOLS, "apk": frozenset({"apk"}), "npm": frozenset({"npm"})}  # the commands each reads


def _posix(shell: tuple[str, ...]) -> bool:
    """Whether RUNs under `shell` (SHELL's words) are read as POSIX shell."""
    exe = shell[0].rsplit("/", 1)[-1].rsplit("\\", 1)[-1].lower() if shell else "sh"
    return exe not in NON_POSIX_SHELLS


def _mount(spec: str) -> dict[str, str]:
    out: dict[str, str] = {"type": "bind"}
    for part in spec.split(","):
        key, eq, value = part.partition("=")
        out[key.strip().lower()] = value.strip() if eq else "true"
    return out


class Context:
    """Per-scan cache shared by all checks."""

    def __init__(self, df: Dockerfile) -> None:
        self.df = df

    @cached_property
    def final_chain(self) -> list[Stage]:
        final = self.df.final_stage
        return self.df.ancestry(final) if final is not None else []

    @cached_property
    def by_cmd(self) -> dict[str, list[tuple[Stage, Instruction]]]:
        """The stages' instructions (FROM excluded) by keyword, each list in file order."""
        out: dict[str, list[tuple[Stage, Instruction]]] = {}
        for stage in self.df.stages:
            for inst in stage.instructions:
                out.setdefault(inst.cmd, []).append((stage, inst))
        return out

    def instructions(self, cmds: Collection[str]) -> list[tuple[Stage, Instruction]]:
        """(stage, instruction) of the stages' instructions (FROM excluded) of the kinds `cmds`, in file
        order; callers must not modify the list."""
        by_cmd = self.by_cmd
        found = [by_cmd[cmd] for cmd in cmds if cmd in by_cmd]
        if len(found) <= 1:
            return found[0] if found else []
        merged = [pair for pairs in found for pair in pairs]
        merged.sort(key=lambda pair: pair[1].start_line)  # instructions start on increasing lines
        return merged

    @cached_property
    def runs(self) -> list[Run]:
        out: list[Run] = []
        for stage in self.df.stages:
            shell: tuple[str, ...] = ("/bin/sh", "-c")
            for chained in reversed(self.df.ancestry(stage)[1:]):
                for inst in chained.instructions:
                    if inst.cmd == "SHELL" and inst.json_form and inst.args:
                        shell = inst.args
            posix = _posix(shell)
            for inst in stage.instructions:
                if inst.cmd == "RUN":
                    out.append(self._run(stage, inst, shell, posix))
                elif inst.cmd == "SHELL" and inst.json_form and inst.args:
                    shell = inst.args
                    posix = _posix(shell)
        return out

    @cached_property
    def _runs_by_name(self) -> dict[str, list[Run]]:
        """Command name -> the RUNs (in file order) with a simple command of that name."""
        index: dict[str, list[Run]] = {}
        for run in self.runs:
            for name in run.names:
                index.setdefault(name, []).append(run)
        return index

    def runs_naming(self, names: frozenset[str], prefixes: tuple[str, ...] = ()) -> list[Run]:
        """The RUNs, in file order, with a simple command named one of `names` or starting with one of
        `prefixes` (the RUNs a check about those commands needs to read); callers must not modify it."""
        index = self._runs_by_name
        if prefixes:
            names = names.union([name for name in index if name.startswith(prefixes)])
        present = index.keys() & names
        if len(present) <= 1:
            return index[present.pop()] if present else []
        return [run for run in self.runs if not run.names.isdisjoint(names)]

    def _run(self, stage: Stage, inst: Instruction, shell: tuple[str, ...], posix: bool) -> Run:
        """The RUN `inst` of `stage` read with `shell` (`posix`: `_posix(shell)`)."""
        mounts = [_mount(v) for v in inst.flag_values("mount")] if inst.flags else []
        scripts: list[str] = []
        if inst.json_form:
            argv = list(inst.args)
            name = argv[0].rsplit("/", 1)[-1] if argv else ""
            if name in SHELLS and len(argv) >= 3 and argv[1].startswith("-") and "c" in argv[1]:
                scripts.append(argv[2])
            else:
                cmds = [Command(argv, 0, 0, False, [], list(argv))] if argv else []
                return Run(stage, inst, cmds, False, " ".join(argv), True, shell, mounts)
        else:
            text = inst.args[0] if inst.args else ""
            scripts.append(text)
            if inst.heredocs:
                stripped = _strip_heredoc_markers(text)
                lone = not stripped.strip() or stripped.split()[0].rsplit("/", 1)[-1] in SHELLS
                if lone:
                    scripts.extend(h.content for h in inst.heredocs[:1])
        if not posix:
            return Run(stage, inst, [], False, "\n".join(scripts), False, shell, mounts)
        if len(scripts) == 1:  # the usual case
            commands, has_pipe = parse_script(scripts[0])
            return Run(stage, inst, commands, has_pipe, scripts[0], True, shell, mounts)
        commands = []
        has_pipe = False
        for k, script in enumerate(scripts):
            cmds, pipe = parse_script(script)
            for c in cmds:
                c.pipeline += k * 1_000_000
            commands.extend(cmds)
            has_pipe = has_pipe or pipe
        return Run(stage, inst, commands, has_pipe, "\n".join(scripts), True, shell, mounts)

    def stage_label(self, stage: Stage) -> str:
        return stage.name or str(stage.index)


_MARKER = re.compile(r"<<-?\s*(?:\"[^\"]*\"|'[^']*'|[A-Za-z0-9_.\-]+)")


def _strip_heredoc_markers(text: str) -> str:
    return _MARKER.sub(" ", text)
