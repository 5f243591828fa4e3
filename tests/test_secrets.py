"""Secret scanning: the rule book's own examples, redaction, every layer (deleted files too), the config.

Secret-shaped test data is generated here (random characters, keys made with `cryptography`), so
neither this file nor rules.yaml holds anything a scanner would flag.
"""

from __future__ import annotations

import base64
import io
import json
import random
import sqlite3
import string
from pathlib import Path

import pytest
import zstandard
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed25519, rsa

from craft import LayerSpec, Member, build_oci_layout, sha256, write_blob
from lashing.analyzers.image import analyze_image
from lashing.analyzers.interface import FileInfo
from lashing.analyzers.inventory import default_catalogers
from lashing.analyzers.secrets import (
    CONFIG_PATH,
    HISTORY_PATH,
    RuleError,
    SecretAnalyzer,
    SecretScanner,
    builtin_catalog,
    parse_catalog,
    redact,
    scan_image_config,
    scan_secrets_in_directory,
    shannon_entropy,
)
from lashing.analyzers.walker import walk_entries
from lashing.cache.layer_cache import LayerCache
from lashing.model import ArtifactInfo, FindingKind, Report, Severity
from lashing.report import write_report
from lashing.sources.image.detect import open_target
from lashing.sources.image.tarwalk import TarEntry

# -- generated secrets ---------------------------------------------------------------------------

_ALPHABETS = {
    "alnum": string.ascii_letters + string.digits,
    "alpha": string.ascii_letters,
    "upper": string.ascii_uppercase,
    "lower": string.ascii_lowercase,
    "hex": "0123456789abcdef",
    "digits": string.digits,
    "b64": string.ascii_letters + string.digits + "+/",
    "b64url": string.ascii_letters + string.digits + "-_",
    "base32": string.ascii_uppercase + "234567",
    "bech32": "QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L",
}
_KEYS: dict[str, str] = {}


def _pem(kind: str) -> str:
    if kind in _KEYS:
        return _KEYS[kind]
    pem = serialization.Encoding.PEM
    trad, pkcs8 = serialization.PrivateFormat.TraditionalOpenSSL, serialization.PrivateFormat.PKCS8
    plain = serialization.NoEncryption()
    if kind == "rsa":
        text = rsa.generate_private_key(65537, 2048).private_bytes(pem, trad, plain)
    elif kind == "ec":
        text = ec.generate_private_key(ec.SECP256R1()).private_bytes(pem, trad, plain)
    elif kind == "dsa":
        text = dsa.generate_private_key(1024).private_bytes(pem, trad, plain)
    elif kind == "pkcs8":
        text = ec.generate_private_key(ec.SECP384R1()).private_bytes(pem, pkcs8, plain)
    elif kind == "openssh":
        text = ed25519.Ed25519PrivateKey.generate().private_bytes(pem, serialization.PrivateFormat.OpenSSH, plain)
    elif kind == "encrypted":
        text = ec.generate_private_key(ec.SECP256R1()).private_bytes(
            pem, pkcs8, serialization.BestAvailableEncryption(b"correct horse")
        )
    elif kind == "public":
        text = (
            ec.generate_private_key(ec.SECP256R1())
            .public_key()
            .public_bytes(pem, serialization.PublicFormat.SubjectPublicKeyInfo)
        )
    elif kind == "json-rsa":
        key = rsa.generate_private_key(65537, 2048).private_bytes(pem, pkcs8, plain)
        text = key.decode().replace("\n", "\\n").encode()
    else:
        raise ValueError(kind)
    _KEYS[kind] = text.decode()
    return _KEYS[kind]


def expand(template: str, rng: random.Random) -> str:
    """Replace `@@kind:n@@`, `@@pem:kind@@`, `@@jwt@@` and `@@userpass@@` with generated values."""
    parts = template.split("@@")
    out = []
    for i, part in enumerate(parts):
        if i % 2 == 0:
            out.append(part)
            continue
        kind, _, arg = part.partition(":")
        if kind == "pem":
            out.append(_pem(arg))
        elif kind == "jwt":
            b64 = lambda d: base64.urlsafe_b64encode(json.dumps(d).encode()).rstrip(b"=").decode()  # noqa: E731
            sig = "".join(rng.choice(_ALPHABETS["b64url"]) for _ in range(43))
            out.append(f"{b64({'alg': 'HS256', 'typ': 'JWT'})}.{b64({'sub': rng.random(), 'admin': True})}.{sig}")
        elif kind == "userpass":
            password = "".join(rng.choice(_ALPHABETS["alnum"]) for _ in range(20))
            out.append(base64.b64encode(f"deploy:{password}".encode()).decode())
        else:
            out.append("".join(rng.choice(_ALPHABETS[kind]) for _ in range(int(arg))))
    return "".join(out)


def token(kind: str, n: int, seed: int = 7) -> str:
    return expand(f"@@{kind}:{n}@@", random.Random(seed))


CATALOG = builtin_catalog()
SCANNER = SecretScanner()
EXAMPLES = [
    pytest.param(rule, verdict, i, template, id=f"{rule.id}-{verdict}-{i}")
    for rule in CATALOG.rules
    for verdict in ("bad", "good")
    for i, template in enumerate(rule.examples.get(verdict, ()))
]


# -- the rule book -------------------------------------------------------------------------------


@pytest.mark.parametrize(("rule", "verdict", "index", "template"), EXAMPLES)
def test_rule_examples(rule, verdict: str, index: int, template: str) -> None:
    text = expand(template, random.Random(f"{rule.id}{index}"))
    path = rule.example_path or "srv/app/settings.conf"
    found = [f for f in SCANNER.scan(path, text.encode()) if f.id == rule.id]
    if verdict == "bad":
        assert found, f"{rule.id} missed its bad example {index}"
        finding = found[0]
        assert finding.kind is FindingKind.SECRET and finding.severity == rule.severity
        assert finding.location.path == path and finding.location.line >= 1
        assert finding.aliases == rule.aliases and finding.extra["category"] == rule.category
        assert "*" in finding.extra["match"]
    else:
        assert not found, f"{rule.id} flagged its good example {index}: {found[0].extra['match']}"


def test_catalog_is_complete_and_consistent() -> None:
    ids = [r.id for r in CATALOG.rules]
    assert len(ids) == len(set(ids)) >= 40
    for rule in CATALOG.rules:
        assert rule.id.startswith("LSH-SECRET-") and rule.title and rule.remediation
        assert rule.examples.get("bad") and rule.examples.get("good"), rule.id
    aliases = {a for r in CATALOG.rules for a in r.aliases}
    trivy = {
        "aws-access-key-id",
        "aws-secret-access-key",
        "gcp-service-account",
        "github-pat",
        "github-oauth",
        "github-app-token",
        "github-refresh-token",
        "github-fine-grained-pat",
        "gitlab-pat",
        "private-key",
        "slack-access-token",
        "slack-web-hook",
        "stripe-secret-token",
        "pypi-upload-token",
        "npm-access-token",
        "jwt-token",
        "dockerconfig-secret",
        "hugging-face-access-token",
        "shopify-token",
        "age-secret-key",
    }
    assert trivy <= aliases
    # the catalog itself holds nothing secret-shaped: scanning rules.yaml finds nothing
    text = (Path(__file__).parents[1] / "src/lashing/analyzers/secrets/rules.yaml").read_bytes()
    assert SCANNER.scan("srv/rules.yaml", text) == []


def test_bad_catalogs_are_rejected() -> None:
    base = "rules:\n  - {id: X, title: t, severity: HIGH, keywords: [abc], regex: '%s'}\n"
    with pytest.raises(RuleError, match="bad regex"):
        parse_catalog(base % "(unclosed")
    with pytest.raises(RuleError, match="group named secret"):
        parse_catalog(base % "abc[0-9]+")
    with pytest.raises(RuleError):
        parse_catalog("rules: {}")


def test_prefilter_rejects_without_regex() -> None:
    """No keyword, no regex: a rule whose keyword is absent is never run, even when its regex would match."""
    catalog = parse_catalog(
        "rules:\n  - {id: X, title: t, severity: HIGH, keywords: [zzkey], regex: '(?P<secret>[0-9]{12})'}\n"
    )
    scanner = SecretScanner(catalog)
    assert scanner.scan("a", b"id 938475610293\n") == []
    assert [f.location.line for f in scanner.scan("a", b"x\nzzkey 938475610293\n")] == [2]


# -- detection details ----------------------------------------------------------------------------


def test_aws_credentials_file_lines_and_redaction() -> None:
    key_id, secret = "AKIA" + token("base32", 16), token("b64", 40)
    data = f"[default]\naws_access_key_id = {key_id}\naws_secret_access_key = {secret}\n".encode()
    found = {f.id: f for f in SCANNER.scan("root/.aws/credentials", data)}
    assert set(found) == {"LSH-SECRET-AWS-ACCESS-KEY", "LSH-SECRET-AWS-SECRET-KEY"}
    assert found["LSH-SECRET-AWS-ACCESS-KEY"].location.line == 2
    assert found["LSH-SECRET-AWS-SECRET-KEY"].location.line == 3
    assert found["LSH-SECRET-AWS-ACCESS-KEY"].extra["match"] == redact(key_id)
    assert found["LSH-SECRET-AWS-SECRET-KEY"].extra["match"].startswith("aws_secret_access_key = ")
    for f in found.values():
        assert key_id not in repr(f) and secret not in repr(f)


def test_private_key_spans_lines_and_hides_its_body() -> None:
    pem = _pem("rsa")
    data = ("# deploy key\n" + pem).encode()
    [finding] = SCANNER.scan("root/.ssh/id_rsa", data)
    assert finding.id == "LSH-SECRET-PRIVATE-KEY" and finding.severity is Severity.HIGH
    assert finding.location.line == 2 and finding.location.end_line == pem.count("\n") + 1
    body = "".join(pem.splitlines()[1:-1])
    assert not any(chunk in finding.extra["match"] for chunk in (body[:8], body[100:108], body[-8:]))


def test_binary_files_only_see_binary_rules() -> None:
    password = f"DB_PASSWORD={token('alnum', 16)}\n"
    pem = _pem("ec")
    blob = b"\x7fELF\0\0\0" + password.encode() + b"\0" + pem.encode() + b"\0"
    assert [f.id for f in SCANNER.scan("opt/app/bin/server", blob)] == ["LSH-SECRET-PRIVATE-KEY"]
    # the self-test keys a distro library embeds are reported, but not as a gate-failing severity
    [lib] = SCANNER.scan("usr/lib/x86_64-linux-gnu/libfoo.so.1", blob)
    assert lib.severity is Severity.LOW and lib.extra["context"] == "third-party-binary"


def test_fixture_paths_cap_severity_but_still_report() -> None:
    data = _pem("rsa").encode()
    [doc] = SCANNER.scan("usr/share/doc/openssl/examples/key.pem", data)
    assert doc.severity is Severity.LOW and doc.extra["context"] == "fixture"
    [real] = SCANNER.scan("usr/share/app/key.pem", data)  # a real key in /usr/share is still a secret
    assert real.severity is Severity.HIGH


def test_generic_rules_skip_third_party_trees() -> None:
    line = f"password = '{token('alnum', 14)}'\n".encode()
    assert [f.id for f in SCANNER.scan("srv/app/settings.py", line)] == ["LSH-SECRET-GENERIC-PASSWORD"]
    assert SCANNER.scan("usr/lib/python3/dist-packages/lib/defaults.py", line) == []
    assert SCANNER.scan("app/node_modules/x/index.js", line) == []


def test_entropy_and_redaction_helpers() -> None:
    assert shannon_entropy("aaaa") == 0 and shannon_entropy("abcd") == 2
    value = token("alnum", 40)
    shown = redact(value)
    assert shown.startswith(value[:4]) and shown.endswith(value[-4:]) and value[4:-4] not in shown
    assert redact("hunter22") == "hu******" and redact("abc") == "***"


def test_analyzer_wants_every_file_under_the_bound() -> None:
    analyzer = SecretAnalyzer()
    assert analyzer.required("any/file", FileInfo("any/file", 1))
    assert not analyzer.required("empty", FileInfo("empty", 0))
    assert not analyzer.required("big", FileInfo("big", analyzer.max_size + 1))


def test_walker_reads_each_file_once_for_all_analyzers() -> None:
    reads: list[str] = []

    def entry(path: str, data: bytes):
        def read(limit: int) -> bytes:
            reads.append(path)
            return data[:limit]

        return TarEntry(path, "file", len(data), 0o644), read

    status = b"Package: zlib1g\nStatus: install ok installed\nVersion: 1\nArchitecture: amd64\n\n"
    gh = "ghp_" + token("alnum", 36)
    entries = [entry("var/lib/dpkg/status", status), entry("srv/.env", f"GITHUB_TOKEN={gh}\n".encode())]
    analysis = walk_entries("sha256:" + "0" * 64, entries, [*default_catalogers(), SecretAnalyzer()], [])
    assert sorted(reads) == ["srv/.env", "var/lib/dpkg/status"]
    [finding] = [f for r in analysis.results for f in r.result.findings]
    assert finding.location.layer_diff_id == "sha256:" + "0" * 64 and finding.location.path == "srv/.env"


# -- every layer of an image, its config and history ----------------------------------------------

GH_ENV = "ghp_" + token("alnum", 36, seed=11)
AWS_ID, AWS_SECRET = "AKIA" + token("base32", 16, seed=12), token("b64", 40, seed=13)
APP_PASSWORD = token("alnum", 18, seed=14)
OPAQUE_TOKEN = "glpat-" + token("b64url", 20, seed=15)
ENV_PASSWORD = "Zq7" + token("alnum", 15, seed=16)
URL_PASSWORD = token("alnum", 20, seed=17)
BUILD_TOKEN = "ghp_" + token("alnum", 36, seed=18)
LABEL_TOKEN = "xoxb-" + token("digits", 12, seed=19) + "-" + token("digits", 12, seed=20) + "-" + token("alnum", 24)
SECRETS = [GH_ENV, AWS_ID, AWS_SECRET, APP_PASSWORD, OPAQUE_TOKEN, ENV_PASSWORD, URL_PASSWORD, BUILD_TOKEN, LABEL_TOKEN]


def _layers() -> list[LayerSpec]:
    rsa_key = _pem("rsa").encode()
    return [
        LayerSpec(
            [
                Member("root/.ssh", kind="dir"),
                Member("root/.ssh/id_rsa", rsa_key, mode=0o600),
                Member("root/.ssh/id_rsa.bak", kind="hardlink", link="root/.ssh/id_rsa"),
                Member(
                    "root/.aws/credentials",
                    f"[default]\naws_access_key_id = {AWS_ID}\naws_secret_access_key = {AWS_SECRET}\n".encode(),
                ),
                Member("srv/app/.env", f"NODE_ENV=production\nGITHUB_TOKEN={GH_ENV}\n".encode()),
                Member("etc/app/app.conf", f"[db]\nhost = db\npassword = {APP_PASSWORD}\n".encode()),
                Member("opt/conf/deploy.yml", f"gitlab:\n  token: {OPAQUE_TOKEN}\n".encode()),
                Member("srv/app/main.py", b"print('hello')\n"),
            ],
            created_by="COPY . /",
        ),
        LayerSpec(
            [
                Member("root/.ssh/.wh.id_rsa"),
                Member("root/.ssh/.wh.id_rsa.bak"),
                Member("root/.aws/.wh.credentials"),
                Member("srv/app/.wh..env"),
                Member("etc/app/app.conf", b"[db]\nhost = db\npassword_file = /run/secrets/db\n"),
                Member("opt/conf/.wh..wh..opq"),
                Member("opt/conf/deploy.yml", b"gitlab: {}\n"),
            ],
            created_by="RUN rm -rf /root/.ssh/id_rsa* /root/.aws/credentials /srv/app/.env",
        ),
    ]


def _set_config(root: Path, update: dict) -> None:
    """Rewrite the crafted layout's image config (craft.py writes an empty one)."""
    index = json.loads((root / "index.json").read_text())
    desc = index["manifests"][0]
    manifest = json.loads((root / "blobs/sha256" / desc["digest"][7:]).read_text())
    config = json.loads((root / "blobs/sha256" / manifest["config"]["digest"][7:]).read_text())
    config.update(update)
    data = json.dumps(config).encode()
    manifest["config"].update(digest=write_blob(root, data), size=len(data))
    mdata = json.dumps(manifest).encode()
    desc.update(digest=write_blob(root, mdata), size=len(mdata))
    (root / "index.json").write_text(json.dumps(index))


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("secrets") / "layout"
    built = build_oci_layout(root, _layers())
    _set_config(
        root,
        {
            "config": {
                "Env": [
                    "PATH=/usr/bin",
                    f"DB_PASSWORD={ENV_PASSWORD}",
                    f"DATABASE_URL=postgres://app:{URL_PASSWORD}@db.internal:5432/app",
                ],
                "Labels": {"org.opencontainers.image.title": "demo", "ci.slack": LABEL_TOKEN},
                "Cmd": ["python", "/srv/app/main.py"],
            },
            "history": [
                {"created_by": "COPY . /"},
                {"created_by": "ARG TOKEN", "empty_layer": True},
                {"created_by": f"|1 TOKEN={BUILD_TOKEN} /bin/sh -c rm -rf /root/.ssh/id_rsa*"},
            ],
        },
    )
    assert built.diff_ids[0] == sha256(__import__("craft").make_tar(_layers()[0].members))
    return root


def _by_path(findings) -> dict[tuple[str, str], object]:
    return {(f.location.path, f.id): f for f in findings}


def test_secrets_in_deleted_files_carry_both_layers(image: Path) -> None:
    with open_target(str(image)) as source:
        analysis = analyze_image(source, [SecretAnalyzer()])
        layer0, layer1 = (layer.diff_id for layer in source.layers)
    found = _by_path(analysis.findings)
    expected = {
        ("root/.ssh/id_rsa", "LSH-SECRET-PRIVATE-KEY"): "deleted",
        ("root/.ssh/id_rsa.bak", "LSH-SECRET-PRIVATE-KEY"): "deleted",  # hardlink: its own finding
        ("root/.aws/credentials", "LSH-SECRET-AWS-ACCESS-KEY"): "deleted",
        ("root/.aws/credentials", "LSH-SECRET-AWS-SECRET-KEY"): "deleted",
        ("srv/app/.env", "LSH-SECRET-GITHUB-PAT"): "deleted",
        ("opt/conf/deploy.yml", "LSH-SECRET-GITLAB-PAT"): "deleted",  # opaque directory in layer 1
        ("etc/app/app.conf", "LSH-SECRET-GENERIC-PASSWORD"): "replaced",
    }
    for key, how in expected.items():
        finding = found[key]
        assert finding.location.layer_diff_id == layer0, key
        assert finding.extra["added_by_layer"] == layer0
        assert finding.extra["deleted_by_layer"] == layer1
        assert finding.extra["removed_how"] == how
    assert found[("srv/app/.env", "LSH-SECRET-GITHUB-PAT")].location.line == 2
    config = {(f.location.path, f.id): f for f in analysis.findings if f.location.path.startswith("<")}
    env_pw = config[(f"{CONFIG_PATH}/Env", "LSH-SECRET-GENERIC-PASSWORD")]
    assert env_pw.location.line == 2 and env_pw.extra["field"] == "Env[1]"
    assert config[(f"{CONFIG_PATH}/Env", "LSH-SECRET-DATABASE-URL")].extra["field"] == "Env[2]"
    assert config[(f"{CONFIG_PATH}/Labels", "LSH-SECRET-SLACK-TOKEN")].extra["field"] == "Labels[ci.slack]"
    build_arg = config[(HISTORY_PATH, "LSH-SECRET-GITHUB-PAT")]
    assert build_arg.extra["field"] == "history[2].created_by" and build_arg.location.layer_diff_id == layer1
    assert len(analysis.findings) == len(expected) + len(config)


def test_findings_survive_the_cache_without_the_secrets(image: Path, tmp_path: Path) -> None:
    cache = LayerCache(tmp_path / "layers.sqlite")
    analyzers = [*default_catalogers(), SecretAnalyzer()]
    with open_target(str(image)) as source:
        cold = analyze_image(source, analyzers, cache)
    with open_target(str(image)) as source:
        warm = analyze_image(source, analyzers, cache)
    assert warm.cached_layers == 2 and cold.cached_layers == 0
    assert [(f.id, f.location, dict(f.extra)) for f in warm.findings] == [
        (f.id, f.location, dict(f.extra)) for f in cold.findings
    ]
    cache.close()
    raw = (tmp_path / "layers.sqlite").read_bytes()
    rows = sqlite3.connect(tmp_path / "layers.sqlite").execute("SELECT data FROM layers").fetchall()
    stored = b"".join(zstandard.ZstdDecompressor().decompress(r[0]) for r in rows)
    assert b"LSH-SECRET-PRIVATE-KEY" in stored
    body = "".join(_pem("rsa").splitlines()[1:-1])
    for secret in [*SECRETS, body[:16], body[-16:]]:
        assert secret.encode() not in stored and secret.encode() not in raw


def test_reports_never_show_a_secret_in_full(image: Path) -> None:
    with open_target(str(image)) as source:
        analysis = analyze_image(source, [SecretAnalyzer()])
    report = Report(
        artifact=ArtifactInfo(name="demo", kind="oci-layout"), layers=analysis.layers, findings=analysis.findings
    )
    for fmt in ("json", "table"):
        out = io.StringIO()
        write_report(report, fmt, out)
        text = out.getvalue()
        assert "LSH-SECRET" in text or fmt == "table"
        for secret in SECRETS:
            assert secret not in text, (fmt, secret[:4])
    doc = json.loads(_json(report))
    assert any("****" in json.dumps(f) for f in doc.get("findings", doc.get("Findings", [])))


def _json(report: Report) -> str:
    out = io.StringIO()
    write_report(report, "json", out)
    return out.getvalue()


def test_config_scanner_alone() -> None:
    config = {
        "config": {
            "Env": [f"API_KEY={token('alnum', 32)}"],
            "Entrypoint": ["/bin/app", "--token", "ghp_" + token("alnum", 36)],
        }
    }
    found = {(f.location.path, f.id) for f in scan_image_config(config, [])}
    assert found == {
        (f"{CONFIG_PATH}/Env", "LSH-SECRET-GENERIC-API-KEY"),
        (f"{CONFIG_PATH}/Entrypoint", "LSH-SECRET-GITHUB-PAT"),
    }
    assert (
        scan_image_config(
            {
                "config": {
                    "Env": [
                        "PATH=/usr/bin",
                        "HOME=/root",
                        "PYTHON_VERSION=3.12.1",
                        "GPG_KEY=7169605F62C751356D054A26A821E680E5FA6305",
                    ]
                }
            },
            [],
        )
        == []
    )


def test_directory_scan(tmp_path: Path) -> None:
    (tmp_path / "app").mkdir()
    (tmp_path / "app/.env").write_text(f"STRIPE_KEY=sk_live_{token('alnum', 24)}\n")
    (tmp_path / "app/readme.txt").write_text("nothing to see\n")
    [finding] = scan_secrets_in_directory(tmp_path)
    assert finding.id == "LSH-SECRET-STRIPE-LIVE-KEY" and finding.location.path == "app/.env"
    assert finding.location.layer_diff_id is None and finding.extra["deleted_by_layer"] == ""


def test_credential_named_env_values_are_findings_whatever_their_entropy() -> None:
    """A literal in a credential-named Env variable is readable by anyone who pulls the image."""
    from lashing.analyzers.secrets import scan_image_config
    from lashing.model import Layer

    env = ["PATH=/usr/local/bin:/usr/bin", "DB_PASSWORD=hunter2", "POSTGRES_PASSWORD=postgres", "API_TOKEN=abc123",
           "APP_PASSWORD=${PASSWORD}", "PASSWORD_FILE=/run/secrets/db", "TOKEN_TTL=3600", "NODE_AUTH_TOKEN=",
           "GPG_KEY=A4A9406876FCBD3C456770C88C718D3B5072E1F5", "PYTHON_SHA256=9f1f0c1e", "DEBUG_PASSWORD=false"]
    found = {f.extra["field"]: f for f in scan_image_config({"config": {"Env": env}}, (Layer(0, "sha256:aa"),))}
    assert set(found) == {"Env[1]", "Env[2]", "Env[3]"}
    assert found["Env[1]"].severity.name == "HIGH" and found["Env[2]"].severity.name == "MEDIUM"  # a default
    assert all("hunter2" not in repr(f) and "abc123" not in repr(f) for f in found.values())
    assert found["Env[1]"].location.path == "<image config>/Env" and found["Env[1]"].location.line == 2
