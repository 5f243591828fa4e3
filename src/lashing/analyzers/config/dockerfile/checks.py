"""Check functions named by `check:` in rules/dockerfile.yaml. Each takes a Context, yields Hits.

The rule's metadata (id, title, severity, peer ids, remediation) lives in the YAML; a function here
only says where the rule fires and, optionally, a one-line detail.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Iterator

from . import packages as pk
from .context import Context, Hit, Run, hit
from .model import Instruction, Stage
from .shell import SHELLS, Command

# ---------------------------------------------------------------- base image and stages


def latest_tag(ctx: Context) -> Iterator[Hit]:
    for stage in ctx.df.stages:
        ref = stage.base
        if stage.base_stage is not None or ref.is_scratch or ref.unresolved or not ref.raw or ref.digest:
            continue
        if not ref.tag:
            yield hit(stage.from_instruction, stage, f"{ref.raw} has no tag (implicitly latest)")
        elif ref.tag.lower() == "latest":
            yield hit(stage.from_instruction, stage, f"{ref.raw} uses the latest tag")


def no_digest(ctx: Context) -> Iterator[Hit]:
    for stage in ctx.df.stages:
        ref = stage.base
        if stage.base_stage is None and not ref.is_scratch and not ref.unresolved and ref.raw and not ref.digest:
            yield hit(stage.from_instruction, stage, f"{ref.raw} is not pinned by digest")


_PLATFORM = re.compile(r"--platform=(\S+)")


def from_platform(ctx: Context) -> Iterator[Hit]:
    for stage in ctx.df.stages:
        inst = stage.from_instruction
        m = _PLATFORM.search(inst.original) if "--platform=" in inst.original else None
        if m and "$" not in m.group(1):
            yield hit(inst, stage, f"FROM pins --platform={m.group(1)}")


def duplicate_stage_name(ctx: Context) -> Iterator[Hit]:
    seen: set[str] = set()
    for stage in ctx.df.stages:
        if stage.name:
            if stage.name in seen:
                yield hit(stage.from_instruction, stage, f"stage name {stage.name!r} is used twice")
            seen.add(stage.name)


def copy_from_self(ctx: Context) -> Iterator[Hit]:
    for stage, inst in _each(ctx, "COPY"):
        ref = inst.flag("from")
        if ref is None:
            continue
        if (stage.name and ref.lower() == stage.name) or ref == str(stage.index):
            yield hit(inst, stage, f"COPY --from={ref} names its own stage")


# ---------------------------------------------------------------- user, healthcheck, entrypoints

_ROOT_USERS = frozenset({"root", "0"})


def _is_root(user: str) -> bool:
    return user.split(":", 1)[0].strip().lower() in _ROOT_USERS


def _last_user(ctx: Context) -> tuple[Stage, Instruction] | None:
    for stage in ctx.final_chain:
        for inst in reversed(stage.instructions):
            if inst.cmd == "USER" and inst.args:
                return stage, inst
    return None


def _nonroot_base(ctx: Context) -> bool:
    root = ctx.final_chain[-1] if ctx.final_chain else None
    if root is None:
        return False
    ref = root.base
    return any(word in f"{ref.repository}:{ref.tag}".lower() for word in ("nonroot", "non-root", "rootless"))


def no_user(ctx: Context) -> Iterator[Hit]:
    final = ctx.df.final_stage
    if final is None or _last_user(ctx) is not None or _nonroot_base(ctx):
        return
    yield hit(final.from_instruction, final, "the final stage sets no USER, so the container runs as root")


def root_user(ctx: Context) -> Iterator[Hit]:
    found = _last_user(ctx)
    if found is None:
        return
    stage, inst = found
    if not inst.unresolved and _is_root(inst.args[0]):
        yield hit(inst, stage, f"the last USER of the final stage is {inst.args[0]}")


def no_healthcheck(ctx: Context) -> Iterator[Hit]:
    final = ctx.df.final_stage
    if final is None:
        return
    if any(i.cmd == "HEALTHCHECK" for s in ctx.final_chain for i in s.instructions):
        return
    yield hit(final.from_instruction, final, "the final stage has no HEALTHCHECK")


def _repeated(ctx: Context, cmd: str) -> Iterator[Hit]:
    counts: dict[int, int] = {}  # stage index -> `cmd` instructions so far
    for stage, inst in ctx.by_cmd.get(cmd, ()):
        seen = counts[stage.index] = counts.get(stage.index, 0) + 1
        if seen > 1:
            yield hit(inst, stage, f"{cmd} number {seen} in this stage; only the last one takes effect")


def multiple_cmd(ctx: Context) -> Iterator[Hit]:
    yield from _repeated(ctx, "CMD")


def multiple_entrypoint(ctx: Context) -> Iterator[Hit]:
    yield from _repeated(ctx, "ENTRYPOINT")


def multiple_healthcheck(ctx: Context) -> Iterator[Hit]:
    yield from _repeated(ctx, "HEALTHCHECK")


# ---------------------------------------------------------------- COPY / ADD / WORKDIR / EXPOSE

_URL = re.compile(r"^(?:https?|ftp)://|^git@|\.git(?:#.*)?$", re.I)
_ARCHIVE = re.compile(r"\.(?:tar|tar\.gz|tgz|tar\.bz2|tbz2?|tar\.xz|txz|tar\.zst|tzst|tar\.lz|tar\.lzma)$", re.I)


def _sources(inst: Instruction) -> list[str]:
    return list(inst.args[:-1]) if len(inst.args) >= 2 else []


def add_instead_of_copy(ctx: Context) -> Iterator[Hit]:
    for stage, inst in _each(ctx, "ADD"):
        sources = _sources(inst)
        if not sources or any(_URL.search(s) for s in sources):
            continue
        local = [s for s in sources if not _ARCHIVE.search(s)]
        if local:
            yield hit(inst, stage, f"ADD of local file(s) {', '.join(local[:3])}; COPY is enough")


def add_remote(ctx: Context) -> Iterator[Hit]:
    for stage, inst in _each(ctx, "ADD"):
        remote = [s for s in _sources(inst) if _URL.search(s)]
        if remote and inst.flag("checksum") is None:
            yield hit(inst, stage, f"ADD downloads {remote[0]} without --checksum")


def copy_dest_slash(ctx: Context) -> Iterator[Hit]:
    for stage, inst in _each(ctx, "COPY", "ADD"):
        if len(inst.args) > 2 and not inst.unresolved:
            dest = inst.args[-1]
            if not dest.endswith(("/", "\\")):
                yield hit(inst, stage, f"{len(inst.args) - 1} sources but destination {dest!r} does not end with /")


_WINDOWS_ABS = re.compile(r"^(?:[A-Za-z]:|\\\\)")


def workdir_relative(ctx: Context) -> Iterator[Hit]:
    for stage, inst in _each(ctx, "WORKDIR"):
        if not inst.args:
            continue
        value = inst.args[0]
        if inst.unresolved and not value.startswith("/"):
            continue  # depends on a variable only known at build time
        if not value.startswith("/") and not _WINDOWS_ABS.match(value):
            yield hit(inst, stage, f"WORKDIR {value} is relative")


_SYSTEM_DIRS = ("/proc", "/sys", "/dev", "/boot")


def workdir_system(ctx: Context) -> Iterator[Hit]:
    for stage, inst in _each(ctx, "WORKDIR"):
        value = inst.args[0].rstrip("/") if inst.args else ""
        if any(value == d or value.startswith(d + "/") for d in _SYSTEM_DIRS):
            yield hit(inst, stage, f"WORKDIR {value} is a kernel/system directory")


_PORT = re.compile(r"^(\d+)(?:-(\d+))?(?:/(\w+))?$")


def _ports(inst: Instruction) -> Iterator[tuple[int, int, str]]:
    for word in inst.args:
        m = _PORT.match(word)
        if m:
            low = int(m.group(1)[:7])
            high = int(m.group(2)[:7]) if m.group(2) else low
            yield low, high, word


def port_out_of_range(ctx: Context) -> Iterator[Hit]:
    for stage, inst in _each(ctx, "EXPOSE"):
        bad = [word for low, high, word in _ports(inst) if high > 65535 or low > 65535]
        if bad:
            yield hit(inst, stage, f"port {bad[0]} is outside 0-65535")


def port_22_range(ctx: Context) -> Iterator[Hit]:
    """Port 22 inside an EXPOSE range (single ports are the CEL rule's job)."""
    for stage, inst in _each(ctx, "EXPOSE"):
        if any(low < 22 <= high for low, high, _ in _ports(inst) if high != low):
            yield hit(inst, stage, "an exposed port range includes 22")


# ---------------------------------------------------------------- secrets

_SECRET_WORDS = re.compile(
    r"(?:^|_)(?:PASSWORD|PASSWD|PASSPHRASE|PASS|PWD|SECRET|SECRETS|TOKEN|APIKEY|CREDENTIALS?)(?:$|_)"
    r"|(?:^|_)(?:API|ACCESS|SECRET|PRIVATE|AUTH|ENCRYPTION|SIGNING|MASTER|CLIENT)_?KEY(?:$|_)"
    r"|(?:^|_)CLIENT_SECRET(?:$|_)|(?:^|_)AUTH(?:$|_)|_TOKEN$|SECRET$|PASSWORD$"
)
_NOT_SECRET = re.compile(
    r"(?:_FILE|_PATH|_DIR|_URL|_URI|_ENDPOINT|_HOST|_PORT|_USER|_USERNAME|_NAME|_LENGTH|_TTL|_EXPIRY|_EXPIRES"
    r"|_TIMEOUT|_HEADER|_TYPE|_ENABLED|_REQUIRED|_POLICY|_MIN|_MAX|_VERSION|_LOCATION|_ISSUER|_AUDIENCE)$"
    r"|^(?:PWD|OLDPWD|SECRET_KEY_BASE_DUMMY|GPG_KEY|PUBLIC_KEY|[A-Z_]*PUBLIC_KEY)$"
)
# (pattern, label, literals): the pattern can only match where one of its literals occurs, a cheap
# substring test that spares most values the regex search.
_SECRET_VALUES = (
    (re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"), "an AWS access key id", ("AKIA", "ASIA")),
    (
        re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,}\b|\bgithub_pat_[A-Za-z0-9_]{40,}"),
        "a GitHub token",
        ("gh", "github_pat_"),
    ),
    (re.compile(r"\bglpat-[A-Za-z0-9_\-]{20,}"), "a GitLab token", ("glpat-",)),
    (re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}"), "a Slack token", ("xox",)),
    (re.compile(r"\b(?:sk|rk)_live_[A-Za-z0-9]{20,}"), "a Stripe key", ("_live_",)),
    (re.compile(r"\bAIza[0-9A-Za-z_\-]{35}\b"), "a Google API key", ("AIza",)),
    (re.compile(r"\bnpm_[A-Za-z0-9]{36}\b"), "an npm token", ("npm_",)),
    (re.compile(r"-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----"), "a private key", ("PRIVATE KEY-----",)),
    (
        re.compile(r"[a-z][a-z0-9+.\-]*://[^/\s:@$]+:[^/\s@$]{3,}@[^\s/]+", re.I),
        "credentials in a URL",
        ("://",),
    ),
)
_SECRET_PLACEHOLDER = re.compile(
    r"^(?:|changeme|change-me|xxx+|\*+|<[^>]*>|none|null|false|true|/run/secrets/.*)$", re.I
)


_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def secret_name(name: str) -> bool:
    upper = _CAMEL.sub("_", name).upper().replace("-", "_").replace(".", "_")
    return bool(_SECRET_WORDS.search(upper)) and not _NOT_SECRET.search(upper)


_SECRET_HINT = re.compile("|".join(re.escape(literal) for _, _, literals in _SECRET_VALUES for literal in literals))


def secret_value(value: str) -> str | None:
    if not _SECRET_HINT.search(value):
        return None  # no pattern's literal: none can match
    for rx, label, literals in _SECRET_VALUES:
        for literal in literals:
            if literal in value:
                if rx.search(value):
                    return label
                break
    return None


def secrets_in_env(ctx: Context) -> Iterator[Hit]:
    final = {id(s) for s in ctx.final_chain}
    for inst in ctx.df.global_args:
        for pair in inst.pairs:
            label = secret_value(pair.value or "")
            if label:
                yield hit(inst, None, f"ARG {pair.key} holds {label}")
    for stage, inst in _each(ctx, "ENV", "ARG", "LABEL"):
        for pair in inst.pairs:
            label = secret_value(pair.value or "")
            if label:
                yield hit(inst, stage, f"{inst.cmd} {pair.key} holds {label}")
                break
            if inst.cmd == "LABEL" or id(stage) not in final or not secret_name(pair.key):
                continue
            if inst.cmd == "ENV" and _SECRET_PLACEHOLDER.match((pair.value or "").strip()):
                continue
            yield hit(inst, stage, f"{inst.cmd} {pair.key} looks like a secret and stays in the image metadata")
            break


_CREDENTIAL_COMMANDS = (
    (("aws", "configure", "set"), re.compile(r"aws_(?:access_key_id|secret_access_key|session_token)", re.I)),
    (("gcloud", "auth", "activate-service-account"), None),
)
_CREDENTIAL_TOOLS = frozenset({"docker", "az", "aws", "gcloud"})  # the commands secrets_in_run looks into


def secrets_in_run(ctx: Context) -> Iterator[Hit]:
    for run in ctx.runs:
        if run.has_secret_mount:
            continue
        detail = None
        suspects = () if run.names.isdisjoint(_CREDENTIAL_TOOLS) else run.commands
        for c in suspects:
            argv = c.argv
            if (
                c.name == "docker"
                and "login" in argv
                and any(a in ("-p", "--password") or a.startswith("--password=") for a in argv)
            ):
                detail = "docker login with a password on the command line"
            elif c.name == "az" and "login" in argv and any(a in ("-p", "--password") for a in argv):
                detail = "az login with a password on the command line"
            else:
                for prefix, rx in _CREDENTIAL_COMMANDS:
                    if (
                        argv
                        and argv[0] == prefix[0]
                        and tuple(argv[: len(prefix)]) == prefix
                        and (rx is None or any(rx.search(a) for a in argv))
                    ):
                        detail = f"{' '.join(prefix)} stores credentials in a layer"
            if detail:
                break
        if detail is None:
            label = secret_value(run.script)
            if label:
                detail = f"the command contains {label}"
        if detail:
            yield hit(run.inst, run.stage, detail)


# ---------------------------------------------------------------- RUN: general shell hygiene

_DOWNLOADERS = frozenset({"curl", "wget"})
_INTERPRETERS = SHELLS | {"python", "python3", "perl", "ruby", "node", "php"}
_SUBST_PIPE = re.compile(r"\b(?:sh|bash|zsh|ksh|dash|ash)\b[^\n;&|]*(?:<\(|\$\(|`)\s*(?:curl|wget)\b")


def curl_pipe_shell(ctx: Context) -> Iterator[Hit]:
    for run in ctx.runs:
        found = None
        if not run.names.isdisjoint(_DOWNLOADERS):
            pipelines: dict[int, list[Command]] = {}
            for c in run.commands:
                pipelines.setdefault(c.pipeline, []).append(c)
            for cmds in pipelines.values():
                downloads = [c.position for c in cmds if c.name in _DOWNLOADERS]
                if downloads and any(c.name in _INTERPRETERS and c.position > min(downloads) for c in cmds):
                    found = "a downloaded script is piped into an interpreter"
        script = run.script
        if (
            found is None
            and ("curl" in script or "wget" in script)
            and ("$(" in script or "<(" in script or "`" in script)  # one of them is in every match
            and _SUBST_PIPE.search(script)
        ):
            found = "a downloaded script is run through command substitution"
        if found:
            yield hit(run.inst, run.stage, found)


def sudo(ctx: Context) -> Iterator[Hit]:
    for run in ctx.runs:
        if True in [c.sudo for c in run.commands]:  # a list: cheaper than a generator for a few commands
            yield hit(run.inst, run.stage, "sudo in RUN")


_CD = frozenset({"cd"})
_CHMOD = frozenset({"chmod"})
_CHPASSWD = frozenset({"chpasswd"})


def run_cd(ctx: Context) -> Iterator[Hit]:
    for run in ctx.runs_naming(_CD):
        yield hit(run.inst, run.stage, "cd in RUN; use WORKDIR")


def wget_and_curl(ctx: Context) -> Iterator[Hit]:
    used_by_stage: dict[int, set[str]] = {}  # stage index -> downloaders its RUNs used so far
    for run in ctx.runs_naming(_DOWNLOADERS):  # in file order, so stage by stage
        used = used_by_stage.setdefault(run.stage.index, set())
        tools = run.names & _DOWNLOADERS
        new = tools - used
        used |= tools
        if len(used) == 2 and new:
            yield hit(run.inst, run.stage, "both wget and curl are used in this stage")


_PIPEFAIL = re.compile(r"\bset\s+(?:-[a-zA-Z]*o\s+pipefail|-o\s+pipefail|-[a-zA-Z]*\s+-o\s+pipefail)")


def pipefail(ctx: Context) -> Iterator[Hit]:
    for run in ctx.runs:
        if not run.posix or run.inst.json_form or not run.has_pipe:
            continue
        if any("pipefail" in a for a in run.shell) or ("pipefail" in run.script and _PIPEFAIL.search(run.script)):
            continue
        yield hit(run.inst, run.stage, "a pipe without `set -o pipefail` hides failures of the left side")


_MODE_OPTION = re.compile(r"^-[rwxXst]+$")  # `chmod -w file`: a mode, not an option
_OCTAL_MODE = re.compile(r"[0-7]{3,4}")
_MODE_CLAUSE = re.compile(r"([ugoa]*)([+=])([rwxXst]*)")


def _chmod_modes(c: Command) -> list[str]:
    return [a for a in c.args if not a.startswith("-") or _MODE_OPTION.match(a)][:1]


def _world_writable(mode: str) -> bool:
    if _OCTAL_MODE.fullmatch(mode):
        digits = mode.zfill(4)
        return bool(int(digits[-1]) & 2) and not int(digits[0]) & 1
    for clause in mode.split(","):
        m = _MODE_CLAUSE.fullmatch(clause)
        if m and ("o" in m.group(1) or "a" in m.group(1)) and "w" in m.group(3) and "t" not in m.group(3):
            return True
    return False


def _setuid(mode: str) -> bool:
    if len(mode) == 4 and _OCTAL_MODE.fullmatch(mode):
        return bool(int(mode[0]) & 6)
    return any(
        (m := _MODE_CLAUSE.fullmatch(clause)) is not None and "s" in m.group(3)
        for clause in mode.split(",")
    )


def _chmod_hits(ctx: Context, bad_mode: Callable[[str], bool], what: str) -> Iterator[Hit]:
    """The first `chmod` per RUN whose mode `bad_mode` rejects."""
    for run in ctx.runs_naming(_CHMOD):
        for c in run.named("chmod"):
            modes = _chmod_modes(c)
            if modes and bad_mode(modes[0]):
                yield hit(run.inst, run.stage, f"chmod {modes[0]} {what}")
                break


def chmod_world_writable(ctx: Context) -> Iterator[Hit]:
    yield from _chmod_hits(ctx, _world_writable, "makes files world-writable")


def setuid(ctx: Context) -> Iterator[Hit]:
    yield from _chmod_hits(ctx, _setuid, "sets the setuid/setgid bit")


def chpasswd(ctx: Context) -> Iterator[Hit]:
    for run in ctx.runs_naming(_CHPASSWD):
        yield hit(run.inst, run.stage, "chpasswd sets a password inside the image")


_CURL_K = re.compile(r"-[a-zA-Z]*k[a-zA-Z]*")
_GIT_SSL_OFF = re.compile(r"http\.sslverify=(?:false|0)", re.I)
_YUM_SSL_OFF = re.compile(r"sslverify['\"]?=(?:0|false|no)", re.I)


def _curl_insecure(c: Command) -> bool:
    return c.name == "curl" and any(a == "--insecure" or _CURL_K.fullmatch(a) for a in c.args)


def _npm_strict_ssl_off(c: Command) -> bool:
    if c.name not in ("npm", "yarn"):
        return False
    words = " ".join(c.args).replace("=", " ").split()
    return "set" in words and "strict-ssl" in words and "false" in words


_YUM_TOOLS = ("yum", "dnf", "yum-config-manager")
# Command name -> (test, label): the tests for turned-off certificate checks, of which at most one applies to a
# command (pip's, for names `pk.is_pip` accepts, is `_TLS_PIP`).
_TLS_RUN: dict[str, tuple[Callable[[Command], bool], str]] = {
    "curl": (_curl_insecure, "curl -k"),
    "wget": (lambda c: "--no-check-certificate" in c.args, "wget --no-check-certificate"),
    "npm": (_npm_strict_ssl_off, "strict-ssl false"),
    "yarn": (_npm_strict_ssl_off, "strict-ssl false"),
    "git": (lambda c: any(_GIT_SSL_OFF.search(a) for a in c.args), "git http.sslVerify=false"),
    **dict.fromkeys(_YUM_TOOLS, (lambda c: any(_YUM_SSL_OFF.search(a) for a in c.args), "sslverify=0")),
}
_TLS_PIP = (lambda c: any(a.startswith("--trusted-host") for a in c.args), "pip --trusted-host")
_TLS_ENV = {
    "PYTHONHTTPSVERIFY": lambda v: v.strip("'\"") == "0",
    "NODE_TLS_REJECT_UNAUTHORIZED": lambda v: v.strip("'\"") == "0",
    "NPM_CONFIG_STRICT_SSL": lambda v: v.strip("'\"").lower() == "false",
    "GIT_SSL_NO_VERIFY": lambda v: v.strip("'\"") != "",
    "PIP_TRUSTED_HOST": lambda v: v.strip("'\"") != "",
    "GOINSECURE": lambda v: v.strip("'\"") != "",
    "GONOSUMDB": lambda v: v.strip("'\"") == "*",
}


_TLS_NAMES = frozenset(_TLS_RUN)  # and pip*


def tls_verify_disabled(ctx: Context) -> Iterator[Hit]:
    for run in ctx.runs_naming(_TLS_NAMES, ("pip",)):
        for c in run.commands:
            found = _TLS_RUN.get(c.name)
            if found is None and c.name.startswith("pip") and pk.is_pip(c.name):
                found = _TLS_PIP
            if found is not None and found[0](c):
                yield hit(run.inst, run.stage, f"{found[1]} disables certificate validation")
                break


def tls_verify_env(ctx: Context) -> Iterator[Hit]:
    for stage, inst in _each(ctx, "ENV", "ARG"):
        bad = [p.key for p in inst.pairs if p.key.upper() in _TLS_ENV and _TLS_ENV[p.key.upper()](p.value or "")]
        if bad:
            yield hit(inst, stage, f"{bad[0]} disables certificate validation")
    for run in ctx.runs:
        if "=" not in run.script and "export" not in run.names:
            continue  # no assignment: every one comes from a word with `=` in the script (quotes aside)
        for c in run.commands:
            if not c.assignments and c.name != "export":
                continue
            pairs = list(c.assignments)
            if c.name == "export":
                pairs += [tuple(a.split("=", 1)) for a in c.args if "=" in a]  # type: ignore[misc]
            bad = [k for k, v in pairs if k.upper() in _TLS_ENV and _TLS_ENV[k.upper()](v)]
            if bad:
                yield hit(run.inst, run.stage, f"{bad[0]} disables certificate validation")
                break


_GPGCHECK_OFF = re.compile(r"--setopt=gpgcheck=(?:0|false)")
_PACKAGE_TOOLS = frozenset({"apk", "apt-get", "apt", "yum", "dnf", "microdnf", "rpm", "zypper"})


def unsigned_packages(ctx: Context) -> Iterator[Hit]:
    for run in ctx.runs_naming(_PACKAGE_TOOLS):
        for c in run.commands:
            detail = None
            if c.name == "apk" and "--allow-untrusted" in c.args:
                detail = "apk --allow-untrusted"
            elif c.name in ("apt-get", "apt") and any(
                a in ("--allow-unauthenticated", "--force-yes", "--allow-insecure-repositories") for a in c.args
            ):
                detail = "apt-get without signature checks"
            elif c.name in ("yum", "dnf", "microdnf", "rpm", "zypper") and any(
                a in ("--nogpgcheck", "--no-gpg-checks", "--nosignature", "--nodigest", "--noverify", "--nofiledigest")
                or _GPGCHECK_OFF.fullmatch(a)
                for a in c.args
            ):
                detail = f"{c.name} without signature checks"
            if detail:
                yield hit(run.inst, run.stage, f"{detail}: packages are installed without verifying signatures")
                break


# ---------------------------------------------------------------- package managers


def _apt_yes(call: pk.Invocation) -> bool:
    opts = call.options
    return (
        bool(opts & {"-y", "--yes", "--assume-yes", "-qq", "--force-yes"})
        or call.values.get("-q") == "2"
        or any(a in ("-q=2", "--quiet=2") for a in call.command.args)
    )


def _apt_installs(run: Run) -> list[pk.Invocation]:
    """The `apt-get install` calls of a RUN from `ctx.runs_naming(_APT_GET)`."""
    return [c for c in run.calls("apt") if c.tool == "apt-get" and c.sub == "install"]


_APT_GET = frozenset({"apt-get"})
_APT = frozenset({"apt"})


def apt_no_yes(ctx: Context) -> Iterator[Hit]:
    for run in ctx.runs_naming(_APT_GET):
        if any(not _apt_yes(c) for c in _apt_installs(run)):
            yield hit(run.inst, run.stage, "apt-get install without -y")


_NO_RECOMMENDS_OPTION = re.compile(r"Install-Recommends=(?:false|0|no)", re.I)


def apt_no_recommends(ctx: Context) -> Iterator[Hit]:
    for run in ctx.runs_naming(_APT_GET):
        for c in _apt_installs(run):
            opt = c.values.get("-o", "") + " " + c.values.get("--option", "")
            if "--no-install-recommends" not in c.options and not _NO_RECOMMENDS_OPTION.search(opt):
                yield hit(run.inst, run.stage, "apt-get install without --no-install-recommends")
                break


def apt_unpinned(ctx: Context) -> Iterator[Hit]:
    for run in ctx.runs_naming(_APT_GET):
        loose = [p for c in _apt_installs(run) for p in pk.apt_unpinned(c)]
        if loose:
            yield hit(run.inst, run.stage, f"apt-get install {loose[0]} without a version")


def _removes(commands: list[Command], target: str) -> bool:
    """Whether an `rm` in the RUN deletes `target` or a folder holding it; relative operands are resolved
    against an earlier `cd` in the same RUN (`cd /var/lib && rm -rf apt`)."""
    cwd: str | None = None
    for command in commands:
        operands = [a for a in command.argv[1:] if not a.startswith("-")]
        if command.name == "cd" and operands:
            cwd = operands[0] if operands[0].startswith("/") else (
                posixpath.join(cwd, operands[0]) if cwd else None)
        elif command.name == "rm":
            for operand in operands:
                path = operand if operand.startswith("/") else (posixpath.join(cwd, operand) if cwd else "")
                path = posixpath.normpath(path.rstrip("*")) if path else ""
                if path and (path == target or target.startswith(path.rstrip("/") + "/")
                             or path.startswith(target + "/")):
                    return True
    return False


def apt_lists(ctx: Context) -> Iterator[Hit]:
    for run in ctx.runs_naming(pk.APT_TOOLS):
        updates = [c for c in run.calls("apt") if c.sub == "update"]
        if not updates or run.cached("/var/lib/apt", "/var/lib/apt/lists"):
            continue
        if not _removes(run.commands, "/var/lib/apt/lists"):
            yield hit(run.inst, run.stage, "apt lists are left in the layer (rm -rf /var/lib/apt/lists/*)")


def apt_cli(ctx: Context) -> Iterator[Hit]:
    for run in ctx.runs_naming(_APT):
        yield hit(run.inst, run.stage, "apt is meant for terminals; use apt-get")


_UPDATES = {"apt-get": {"update"}, "apt": {"update"}, "apk": {"update"}}
_INSTALLS = {
    "apt-get": {"install", "upgrade", "dist-upgrade", "full-upgrade", "build-dep", "reinstall"},
    "apt": {"install", "upgrade", "dist-upgrade", "full-upgrade", "reinstall"},
    "apk": {"add", "upgrade", "fix"},
}


_UPDATE_TOOLS = frozenset(_UPDATES)


def update_alone(ctx: Context) -> Iterator[Hit]:
    for run in ctx.runs_naming(_UPDATE_TOOLS):
        calls = run.calls("apt") + run.calls("apk")
        calls.sort(key=lambda c: run.commands.index(c.command))
        pending = None
        for c in calls:
            if c.sub in _UPDATES.get(c.tool, ()):
                pending = c
            elif pending is not None and c.sub in _INSTALLS.get(c.tool, ()):
                pending = None
        if pending is not None:
            yield hit(run.inst, run.stage, f"{pending.tool} update without an install in the same RUN")


_UPGRADES = {
    "apt-get": {"upgrade", "dist-upgrade", "full-upgrade"},
    "apt": {"upgrade", "dist-upgrade", "full-upgrade"},
    "yum": {"update", "upgrade", "distro-sync"},
    "dnf": {"update", "upgrade", "distro-sync", "upgrade-minimal"},
    "microdnf": {"update", "upgrade"},
    "zypper": {"update", "up", "dist-upgrade", "dup"},
    "apk": {"upgrade"},
}


_UPGRADE_TOOLS = frozenset(_UPGRADES)


def pkg_upgrade(ctx: Context) -> Iterator[Hit]:
    subs = _UPGRADES
    for run in ctx.runs_naming(_UPGRADE_TOOLS):
        for c in run.commands:
            if c.name not in subs:
                continue
            positional = [a for a in c.args if not a.startswith("-")]
            if positional and positional[0] in subs[c.name] and not (c.name in ("yum", "dnf") and len(positional) > 1):
                yield hit(run.inst, run.stage, f"{c.name} {positional[0]} in a Dockerfile")
                break


_APK = frozenset({"apk"})
_NPM = frozenset({"npm"})


def apk_no_cache(ctx: Context) -> Iterator[Hit]:
    for run in ctx.runs_naming(_APK):
        calls = run.calls("apk")
        if not calls or run.cached("/var/cache/apk", "/etc/apk/cache"):
            continue
        for c in calls:
            if c.sub == "add" and "--no-cache" not in c.options:
                yield hit(run.inst, run.stage, "apk add without --no-cache")
                break


def apk_unpinned(ctx: Context) -> Iterator[Hit]:
    for run in ctx.runs_naming(_APK):
        loose = [p for c in run.calls("apk") if c.sub == "add" for p in pk.apk_unpinned(c)]
        if loose:
            yield hit(run.inst, run.stage, f"apk add {loose[0]} without a version")


def pip_unpinned(ctx: Context) -> Iterator[Hit]:
    for run in ctx.runs_naming(frozenset(), pk.PIP_PREFIXES):
        loose = [p for c in run.calls("pip") if c.sub == "install" for p in pk.pip_unpinned(c)]
        if loose:
            yield hit(run.inst, run.stage, f"pip install {loose[0]} without ==version")


def _stage_env(ctx: Context, stage: Stage, name: str) -> bool:
    return any(
        p.key == name
        for s in ctx.df.ancestry(stage)
        for i in s.instructions
        if i.cmd in ("ENV", "ARG")
        for p in i.pairs
    )


def pip_cache(ctx: Context) -> Iterator[Hit]:
    for run in ctx.runs_naming(frozenset(), pk.PIP_PREFIXES):
        calls = run.calls("pip")
        if not calls or run.cached("/root/.cache/pip", "/root/.cache") or any(
            "/.cache/pip" in t for t in run.mount_targets("cache")
        ):
            continue
        for c in calls:
            if c.sub != "install" or "--no-cache-dir" in c.options:
                continue
            if any(k == "PIP_NO_CACHE_DIR" for k, _ in c.command.assignments) or _stage_env(
                ctx, run.stage, "PIP_NO_CACHE_DIR"
            ):
                continue
            yield hit(run.inst, run.stage, "pip install keeps its cache in the layer (--no-cache-dir)")
            break


def npm_unpinned(ctx: Context) -> Iterator[Hit]:
    for run in ctx.runs_naming(_NPM):
        loose = [
            p
            for c in run.calls("npm")
            if c.sub in ("install", "i", "add", "isntall")
            for p in pk.npm_unpinned(c)
        ]
        if loose:
            yield hit(run.inst, run.stage, f"npm install {loose[0]} without a version")


_INSTALL_SUBS = {"install", "groupinstall", "localinstall", "reinstall", "in", "update", "upgrade"}


def _rpm_clean(run: Run, tool: str, installs: list[pk.Invocation], cache: str) -> bool:
    if not installs or run.cached(cache):
        return True
    last = max(run.commands.index(c.command) for c in installs)
    for c in run.commands[last + 1 :]:
        positional = [a for a in c.args if not a.startswith("-")]
        if c.name == tool and positional[:2] in (["clean", "all"], ["clean", "packages"], ["clean", "metadata"]):
            return True
        if tool == "zypper" and c.name == "zypper" and positional[:1] in (["clean"], ["cc"]):
            return True
        if c.name == "rm" and any(a.startswith(cache) for a in c.args):
            return True
    return False


def _rpm_installs(run: Run, tool: str) -> list[pk.Invocation]:
    return [c for c in run.calls("rpm", tool) if c.sub in _INSTALL_SUBS]


_YUM = frozenset({"yum"})
_DNF_TOOLS = frozenset({"dnf", "microdnf"})
_ZYPPER = frozenset({"zypper"})
_RPM_YES_TOOLS = frozenset({"yum", "dnf", "zypper"})


def yum_no_clean(ctx: Context) -> Iterator[Hit]:
    for run in ctx.runs_naming(_YUM):
        if not _rpm_clean(run, "yum", _rpm_installs(run, "yum"), "/var/cache/yum"):
            yield hit(run.inst, run.stage, "yum install without yum clean all")


def dnf_no_clean(ctx: Context) -> Iterator[Hit]:
    for run in ctx.runs_naming(_DNF_TOOLS):
        for tool in ("dnf", "microdnf"):
            if not _rpm_clean(run, tool, _rpm_installs(run, tool), "/var/cache/dnf"):
                yield hit(run.inst, run.stage, f"{tool} install without {tool} clean all")
                break


def zypper_no_clean(ctx: Context) -> Iterator[Hit]:
    for run in ctx.runs_naming(_ZYPPER):
        if not _rpm_clean(run, "zypper", _rpm_installs(run, "zypper"), "/var/cache/zypp"):
            yield hit(run.inst, run.stage, "zypper install without zypper clean")


def rpm_no_yes(ctx: Context) -> Iterator[Hit]:
    for run in ctx.runs_naming(_RPM_YES_TOOLS):
        for tool, yes in (
            ("yum", {"-y", "--assumeyes"}),
            ("dnf", {"-y", "--assumeyes"}),
            ("zypper", {"-n", "--non-interactive", "-y", "--no-confirm"}),
        ):
            if tool not in run.names:
                continue
            calls = [
                c
                for c in run.calls("rpm", tool)
                if c.sub
                in {"install", "in", "groupinstall", "localinstall", "update", "upgrade", "remove", "rm", "erase"}
            ]
            bad = [c for c in calls if not (c.options & yes)]
            if bad:
                yield hit(run.inst, run.stage, f"{tool} {bad[0].sub} without a non-interactive switch")
                break


# ---------------------------------------------------------------- parser warnings


def syntax(ctx: Context) -> Iterator[Hit]:
    for warning in ctx.df.warnings:
        yield Hit(max(warning.line, 1), max(warning.line, 1), "", "", warning.message)


# ---------------------------------------------------------------- helpers


def _each(ctx: Context, *cmds: str) -> list[tuple[Stage, Instruction]]:
    """(stage, instruction) for the stages' instructions of the kinds `cmds`, in file order."""
    return ctx.instructions(cmds)
