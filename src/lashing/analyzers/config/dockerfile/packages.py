"""Reading package-manager command lines: options, subcommand, package arguments, version pins."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .shell import Command


@dataclass
class Invocation:
    """`tool [options] subcommand [options] operands`, options normalised (`-fmy` -> -f -m -y)."""

    tool: str
    sub: str
    options: set[str]
    values: dict[str, str]
    operands: list[str]
    command: Command


APT_VALUE_OPTS = frozenset(
    {
        "-o",
        "-c",
        "-t",
        "-a",
        "--option",
        "--config-file",
        "--target-release",
        "--default-release",
        "--host-architecture",
    }
)
APK_VALUE_OPTS = frozenset(
    {
        "-t",
        "--virtual",
        "-X",
        "--repository",
        "-p",
        "--root",
        "--arch",
        "--keys-dir",
        "--cache-dir",
        "--repositories-file",
        "--cache-max-age",
        "--wait",
    }
)
PIP_VALUE_OPTS = frozenset(
    {
        "-r",
        "--requirement",
        "-c",
        "--constraint",
        "-e",
        "--editable",
        "-i",
        "--index-url",
        "--extra-index-url",
        "-f",
        "--find-links",
        "-t",
        "--target",
        "--prefix",
        "--root",
        "--trusted-host",
        "--platform",
        "--python-version",
        "--implementation",
        "--abi",
        "--src",
        "--upgrade-strategy",
        "--progress-bar",
        "--cache-dir",
        "--log",
        "--timeout",
        "--retries",
        "--proxy",
        "--cert",
        "--client-cert",
        "--global-option",
        "--install-option",
        "--config-settings",
        "-C",
        "--only-binary",
        "--no-binary",
        "--report",
        "--python",
    }
)
NPM_VALUE_OPTS = frozenset(
    {
        "--prefix",
        "--registry",
        "--cache",
        "--tag",
        "--userconfig",
        "--loglevel",
        "-C",
        "--workspace",
        "-w",
        "--omit",
        "--include",
        "--install-strategy",
    }
)
RPM_VALUE_OPTS = frozenset(
    {
        "-c",
        "--config",
        "--enablerepo",
        "--disablerepo",
        "--installroot",
        "--releasever",
        "--setopt",
        "-x",
        "--exclude",
        "--repo",
        "--repofrompath",
        "--nodocs",
    }
)
ZYPPER_VALUE_OPTS = frozenset(
    {"-r", "--repo", "--root", "-R", "--reposd-dir", "-C", "--cache-dir", "-t", "--type", "--from"}
)

_SHORT_VALUE = {
    "apt-get": "octa",
    "apt": "octa",
    "apk": "tXp",
    "pip": "rceiftC",
    "npm": "Cw",
    "yum": "cx",
    "dnf": "cx",
    "microdnf": "",
    "zypper": "rRCt",
}


def invocation(command: Command, tool: str, value_opts: frozenset[str]) -> Invocation:
    options: set[str] = set()
    values: dict[str, str] = {}
    operands: list[str] = []
    sub = ""
    args = command.args
    if tool == "pip" and command.name.startswith("python"):
        args = args[args.index("pip") + 1 :] if "pip" in args else []
    short_value = _SHORT_VALUE.get(tool, "")
    i = 0
    n = len(args)
    while i < n:
        arg = args[i]
        i += 1
        if arg[:1] != "-" or arg == "-":  # the subcommand or an operand
            if not sub:
                sub = arg
            else:
                operands.append(arg)
            continue
        if len(arg) == 2 and arg != "--":  # one short option, maybe taking the next word as its value
            options.add(arg)
            if (arg in value_opts or arg[1] in short_value) and i < n:
                values[arg] = args[i]
                i += 1
            continue
        if arg == "--":
            operands.extend(args[i:])
            break
        if arg.startswith("--"):
            name, eq, value = arg.partition("=")
            options.add(name)
            if eq:
                values[name] = value
            elif name in value_opts and i < len(args):
                values[name] = args[i]
                i += 1
            continue
        if arg.startswith("-") and len(arg) > 1:
            if arg in value_opts and i < len(args):
                options.add(arg)
                values[arg] = args[i]
                i += 1
                continue
            # a cluster of short options; a value option ends it (e.g. -qq, -fmy, -ovalue)
            for k, ch in enumerate(arg[1:], start=1):
                options.add("-" + ch)
                if ch in short_value:
                    rest = arg[k + 1 :]
                    if rest:
                        values["-" + ch] = rest.lstrip("=")
                    elif i < len(args):
                        values["-" + ch] = args[i]
                        i += 1
                    break
            if arg.startswith("-q") and set(arg[1:]) == {"q"} and len(arg) > 2:
                options.add("-qq")
            continue
        if not sub:
            sub = arg
        else:
            operands.append(arg)
    return Invocation(tool, sub, options, values, operands, command)


APT_TOOLS = frozenset({"apt-get", "apt"})
PIP_PREFIXES = ("pip", "python")  # every command `pip_calls` reads has a name starting with one of them


def apt_calls(commands: list[Command]) -> list[Invocation]:
    return [invocation(c, c.name, APT_VALUE_OPTS) for c in commands if c.name in APT_TOOLS]


def apk_calls(commands: list[Command]) -> list[Invocation]:
    return [invocation(c, "apk", APK_VALUE_OPTS) for c in commands if c.name == "apk"]


_PIP = re.compile(r"^pip(?:[0-9.]+)?$")
_PYTHON = re.compile(r"^python(?:[0-9.]+)?$")


def is_pip(name: str) -> bool:
    return _PIP.match(name) is not None


def pip_calls(commands: list[Command]) -> list[Invocation]:
    out = []
    for c in commands:
        if not c.name.startswith(PIP_PREFIXES):
            continue  # neither pattern can match
        if _PIP.match(c.name) or (_PYTHON.match(c.name) and "-m" in c.args and "pip" in c.args):
            out.append(invocation(c, "pip", PIP_VALUE_OPTS))
    return out


def npm_calls(commands: list[Command]) -> list[Invocation]:
    return [invocation(c, "npm", NPM_VALUE_OPTS) for c in commands if c.name == "npm"]


def rpm_calls(commands: list[Command], tool: str) -> list[Invocation]:
    opts = ZYPPER_VALUE_OPTS if tool == "zypper" else RPM_VALUE_OPTS
    return [invocation(c, tool, opts) for c in commands if c.name == tool]


def _variable(word: str) -> bool:
    return "$" in word


def apt_unpinned(call: Invocation) -> list[str]:
    return [
        p
        for p in call.operands
        if "=" not in p and not p.endswith(".deb") and not p.startswith(("/", ".")) and not _variable(p)
    ]


_APK_PINNED = re.compile(r"[=~<>]")


def apk_unpinned(call: Invocation) -> list[str]:
    return [
        p
        for p in call.operands
        if not _APK_PINNED.search(p) and not p.endswith(".apk") and not p.startswith(("/", ".")) and not _variable(p)
    ]


_PIP_PINNED = re.compile(r"(===?|~=|@)")


def pip_unpinned(call: Invocation) -> list[str]:
    out = []
    for p in call.operands:
        if _variable(p) or p.startswith((".", "/", "git+", "http://", "https://", "file:")):
            continue
        if p.endswith((".whl", ".tar.gz", ".zip", ".tgz")) or _PIP_PINNED.search(p):
            continue
        out.append(p)
    return out


def npm_unpinned(call: Invocation) -> list[str]:
    out = []
    for p in call.operands:
        if _variable(p) or p.startswith((".", "/", "file:", "http://", "https://")) or p.endswith((".tgz", ".tar.gz")):
            continue
        if p.startswith(("git+", "git:", "github:")) or "://" in p:
            if "#" not in p:
                out.append(p)
            continue
        name_end = p.find("@", 1)
        if name_end < 0:
            out.append(p)
            continue
        version = p[name_end + 1 :]
        if not version or version in ("latest", "next", "*"):
            out.append(p)
    return out
