"""The parsed Dockerfile: frozen dataclasses with line numbers (1-based, inclusive ranges).

`Instruction.args` holds the words after the keyword and flags, with ARG/ENV substitution applied
where Docker applies it (FROM, ENV, ARG, COPY/ADD, USER, WORKDIR, EXPOSE, LABEL, STOPSIGNAL, VOLUME,
and ONBUILD's inner instruction of those kinds); for RUN, CMD, ENTRYPOINT, SHELL and HEALTHCHECK the
shell form is one word (the command text exactly as the shell will receive it) and the exec form is
the JSON array. `original` is the unexpanded text after the keyword (flags included), `raw` the whole
logical line as written (continuations joined, comment lines inside continuations dropped).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lashing.model import fast_init


@fast_init
@dataclass(frozen=True)
class Heredoc:
    """One here-document attached to RUN/COPY/ADD (`<<EOF`, `<<-EOF`, `<<"EOF"`)."""

    name: str
    content: str
    strip_tabs: bool = False
    expand: bool = True
    start_line: int = 0
    end_line: int = 0


@fast_init
@dataclass(frozen=True)
class KeyValue:
    """One NAME=value pair of ENV, ARG or LABEL; `value` is None for `ARG NAME` without a default."""

    key: str
    value: str | None


@fast_init
@dataclass(frozen=True)
class Instruction:
    cmd: str
    raw: str
    args: tuple[str, ...]
    flags: tuple[tuple[str, str | None], ...] = ()
    json_form: bool = False
    heredocs: tuple[Heredoc, ...] = ()
    start_line: int = 0
    end_line: int = 0
    original: str = ""
    pairs: tuple[KeyValue, ...] = ()
    onbuild: Instruction | None = None
    unresolved: bool = False
    pair_unresolved: tuple[bool, ...] = ()

    def flag(self, name: str) -> str | None:
        """The last value of `--name` ("" for a bare `--name`), or None when absent."""
        found = None
        for key, value in self.flags:
            if key == name:
                found = "" if value is None else value
        return found

    def flag_values(self, name: str) -> tuple[str, ...]:
        return tuple("" if value is None else value for key, value in self.flags if key == name)

    @property
    def text(self) -> str:
        """Shell-form command text (RUN/CMD/ENTRYPOINT), or the exec-form words joined by spaces."""
        return " ".join(self.args)


@fast_init
@dataclass(frozen=True)
class ImageRef:
    """A base image reference split into registry/repository/tag/digest (registry as written, or "")."""

    raw: str
    registry: str = ""
    repository: str = ""
    tag: str = ""
    digest: str = ""
    unresolved: bool = False

    @property
    def is_scratch(self) -> bool:
        return self.raw.lower() == "scratch"

    @property
    def name(self) -> str:
        return f"{self.registry}/{self.repository}" if self.registry else self.repository


@fast_init
@dataclass(frozen=True)
class Stage:
    """One build stage: `FROM base [AS name]` and what follows it."""

    index: int
    name: str
    base: ImageRef
    from_instruction: Instruction
    instructions: tuple[Instruction, ...] = ()
    base_stage: int | None = None
    platform: str | None = None

    @property
    def start_line(self) -> int:
        return self.from_instruction.start_line

    def all_instructions(self) -> tuple[Instruction, ...]:
        return (self.from_instruction, *self.instructions)


@fast_init
@dataclass(frozen=True)
class ParseWarning:
    line: int
    message: str


@fast_init
@dataclass(frozen=True)
class Dockerfile:
    path: str
    directives: tuple[tuple[str, str], ...] = ()
    escape: str = "\\"
    global_args: tuple[Instruction, ...] = ()
    stages: tuple[Stage, ...] = ()
    warnings: tuple[ParseWarning, ...] = ()
    comments: tuple[tuple[int, str], ...] = field(default=(), compare=False)

    @property
    def final_stage(self) -> Stage | None:
        return self.stages[-1] if self.stages else None

    def directive(self, name: str) -> str | None:
        for key, value in self.directives:
            if key == name:
                return value
        return None

    def stage_by_ref(self, ref: str) -> Stage | None:
        """A stage named `ref` (case-insensitive) or numbered `ref`."""
        lowered = ref.lower()
        for stage in self.stages:
            if stage.name and stage.name == lowered:
                return stage
        if ref.isdigit():
            index = int(ref)
            if 0 <= index < len(self.stages):
                return self.stages[index]
        return None

    def ancestry(self, stage: Stage) -> list[Stage]:
        """The stage and the stages it is built FROM, nearest first (cycles cannot occur: refs go back)."""
        chain = [stage]
        while chain[-1].base_stage is not None and len(chain) <= len(self.stages):
            chain.append(self.stages[chain[-1].base_stage])
        return chain
