"""`docker run` / `podman run` command lines found in shell scripts, Makefiles and CI YAML.

Lines ending in `\\` are joined; each `docker|podman [container] run|create` invocation becomes a
pod-spec target at the line where it starts, and each flag remembers its own line.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator

from lashing.analyzers.config.runtime import RuntimeSettings, single_container, to_pod
from lashing.analyzers.config.target import ContainerTarget, Target

_INVOCATION = re.compile(r"\b(?:sudo\s+)?(docker|podman)\s+(?:container\s+)?(run|create)\b")
_VALUE_FLAGS = {  # flags that take a value, besides those handled below (so the image is found)
    "--name", "-w", "--workdir", "--entrypoint", "-h", "--hostname", "-l", "--label", "--network", "--net",
    "--restart", "--platform", "--pull", "--log-driver", "--log-opt", "--add-host", "--dns", "--env-file",
    "-p", "--publish", "--expose", "--device", "--tmpfs", "--shm-size", "--ulimit", "--cgroupns", "--uts",
    "--userns", "--group-add", "--stop-signal", "--health-cmd", "--health-interval", "-a", "--attach",
    "--cidfile", "--gpus", "--memory-swap", "--memory-reservation", "--cpu-shares", "--cpuset-cpus",
    "--pids-limit", "--runtime", "--ip", "--mac-address", "--link", "--volumes-from", "--label-file",
    "--sysctl", "--cap-add", "--cap-drop", "-u", "--user", "-v", "--volume", "--mount", "--pid", "--ipc",
    "--security-opt", "-m", "--memory", "--cpus", "-e", "--env",
}


def logical_lines(text: str) -> Iterator[tuple[int, list[tuple[int, str]]]]:
    """(first line number, [(line number, chunk)]) for each backslash-continued logical line."""
    chunks: list[tuple[int, str]] = []
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.rstrip()
        if stripped.endswith("\\"):
            chunks.append((number, stripped[:-1]))
            continue
        chunks.append((number, line))
        yield chunks[0][0], chunks
        chunks = []
    if chunks:
        yield chunks[0][0], chunks


def _tokens(chunks: list[tuple[int, str]], start_col: int) -> list[tuple[str, int]]:
    out: list[tuple[str, int]] = []
    for index, (number, chunk) in enumerate(chunks):
        part = chunk[start_col:] if index == 0 else chunk
        head = re.split(r"\s(?:&&|\|\||;|\|)\s", part)[0]  # the command ends at the next && || ; |
        try:
            words = shlex.split(head, comments=True)
        except ValueError:
            words = head.split()
        out.extend((w, number) for w in words)
        if head != part:
            break
    return out


# flag -> RuntimeSettings field: lists the flag appends to, namespaces it shares when given "host", plain values
_LIST_FLAGS = {"--cap-add": "cap_add", "--cap-drop": "cap_drop", "--security-opt": "security_opt",
               "--device": "devices"}
_HOST_FLAGS = {"--pid": "host_pid", "--ipc": "host_ipc", "--uts": "host_uts", "--userns": "host_userns"}
_SETTING_FLAGS = {"-u": "user", "--user": "user", "-m": "memory_limit", "--memory": "memory_limit",
                   "--cpus": "cpu_limit"}


def _apply(settings: RuntimeSettings, flag: str, value: str) -> None:
    if flag in _LIST_FLAGS:
        getattr(settings, _LIST_FLAGS[flag]).append(value)
    elif flag in _HOST_FLAGS:
        setattr(settings, _HOST_FLAGS[flag], value == "host")
    elif flag in _SETTING_FLAGS:
        setattr(settings, _SETTING_FLAGS[flag], value)
    elif flag in ("-v", "--volume"):
        source, sep, _ = value.partition(":")
        if sep and source.startswith(("/", ".", "~", "$")):
            settings.host_paths.append(source)
    elif flag == "--mount":
        fields = dict(p.partition("=")[::2] for p in value.split(","))
        if fields.get("type") == "bind":
            settings.host_paths.append(fields.get("source") or fields.get("src") or "")
    elif flag in ("--network", "--net"):
        settings.host_network = settings.host_network or value == "host"
    elif flag in ("-e", "--env"):
        name, sep, literal = value.partition("=")
        settings.env.append((name, literal if sep else None))
    elif flag in ("-p", "--publish"):
        parts = value.split("/")[0].split(":")
        if len(parts) >= 2 and parts[-2].isdigit() and parts[-1].isdigit():
            settings.ports.append((int(parts[-1]), int(parts[-2])))
    elif flag == "--sysctl":
        name, _, setting = value.partition("=")
        settings.sysctls.append((name, setting))


def parse_invocation(tokens: list[tuple[str, int]], name: str) -> tuple[RuntimeSettings, dict[str, int]]:
    """Settings from the words after `run`, and the line of each flag seen."""
    settings = RuntimeSettings(name=name)
    lines: dict[str, int] = {}
    index = 0
    while index < len(tokens):
        word, number = tokens[index]
        index += 1
        if not word.startswith("-") or word == "-":
            settings.image = word
            break
        flag, eq, value = word.partition("=")
        if flag in ("--privileged", "--read-only", "--rm", "-d", "-i", "-t", "-it", "-ti", "--init", "-q"):
            if flag == "--privileged":
                settings.privileged = value.lower() != "false"
            elif flag == "--read-only":
                settings.read_only = value.lower() != "false"
            lines.setdefault(flag, number)
            continue
        if not eq and flag in _VALUE_FLAGS and index < len(tokens):
            value, index = tokens[index][0], index + 1
        lines.setdefault(flag, number)
        _apply(settings, flag, value)
    return settings, lines


_FIELD_FLAGS = (
    ("securityContext.privileged", ("--privileged",)), ("securityContext.capabilities.add", ("--cap-add",)),
    ("securityContext.capabilities.drop", ("--cap-drop",)), ("securityContext.runAs", ("-u", "--user")),
    ("securityContext.readOnlyRootFilesystem", ("--read-only",)), ("securityContext", ("--security-opt",)),
    ("resources", ("-m", "--memory", "--cpus")), ("ports", ("-p", "--publish")), ("env", ("-e", "--env")),
    ("hostNetwork", ("--network", "--net")), ("hostPID", ("--pid",)), ("hostIPC", ("--ipc",)),
    ("volumes", ("-v", "--volume", "--mount")), ("hostPaths", ("-v", "--volume", "--mount")),
    ("hostUTS", ("--uts",)), ("hostUserns", ("--userns",)), ("devices", ("--device",)),
)


def targets(path: str, text: str) -> Iterator[Target]:
    """A pod-spec target per `docker run` / `podman run` invocation in the text."""
    if "run" not in text and "create" not in text:
        return
    for first, chunks in logical_lines(text):
        match = _INVOCATION.search(chunks[0][1])
        if match is None or chunks[0][1].lstrip().startswith("#"):
            continue
        settings, flag_lines = parse_invocation(_tokens(chunks, match.end()), f"{match.group(1)}-run-{first}")
        if settings.image is None:
            continue

        def field_line(field: str, flag_lines: dict[str, int] = flag_lines, first: int = first) -> int | None:
            for normalized, flags in _FIELD_FLAGS:
                if field.startswith(normalized):
                    for flag in flags:
                        if flag in flag_lines:
                            return flag_lines[flag]
            return first

        pod = to_pod(settings, "DockerRun", "docker-run")
        container = single_container(pod)
        resource = f"{match.group(1)} {match.group(2)} (line {first})"
        yield Target("pod-spec", path, resource, pod, first, chunks[-1][0], field_line,
                     [ContainerTarget(settings.name, "container", container, first, field_line)],
                     source="docker-run")
