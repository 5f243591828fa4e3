"""Pulling from a real registry (Debian's docker-registry): platforms, compression, auth, hostile content.

One session fixture builds small real OCI images with umoci (a tiny rootfs with a fake os-release),
pushes them with skopeo (gzip, zstd, schema 1) or through the push API (uncompressed layers, indexes),
and runs three registries over the same storage: anonymous, htpasswd (bcrypt) and token auth (JWTs
from a token server in this process, verified by the registry). What skopeo and hashlib say about the
images is the expected result; nothing is mocked.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import logging
import secrets
import subprocess
import tarfile
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from lashing.errors import (
    AuthenticationError,
    DigestMismatchError,
    InvalidImageError,
    LimitExceededError,
    RegistryError,
    UsageError,
)
from lashing.sources.image.blobs import LayerStream
from lashing.sources.image.detect import RegistryOptions, open_target
from lashing.sources.image.interface import Limits
from lashing.sources.image.manifest import OCI_INDEX, OCI_MANIFEST, Platform
from lashing.sources.image.registry import (
    Credentials,
    RegistryImageSource,
    looks_like_registry_reference,
    open_registry_image,
    parse_reference,
    resolve_credentials,
)
from lashing.sources.image.registry.auth import parse_challenge
from lashing.sources.image.registry.transport import registry_scheme
from registry_server import (
    FrontServer,
    RegistryServer,
    TokenServer,
    make_htpasswd,
    push_blob,
    put_manifest,
    sha256_digest,
    start_registry,
)

USER, PASSWORD = "alice", "correct-horse-battery"
REFRESH_TOKEN = "refresh-" + "x" * 24
AMD64, ARM64 = Platform("linux", "amd64"), Platform("linux", "arm64")


def run(*cmd: str | Path) -> str:
    proc = subprocess.run([str(c) for c in cmd], capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, cmd))} failed: {proc.stderr[-2000:]}")
    return proc.stdout


# -- building and pushing real images ------------------------------------------------------------


def umoci_image(layout: Path, tag: str, layers: list[dict[str, str]], arch: str) -> None:
    """An image `layout:tag` with one umoci-made layer per dict of files, for `linux/arch`."""
    if not layout.exists():
        run("umoci", "init", "--layout", layout)
    run("umoci", "new", "--image", f"{layout}:{tag}")
    bundle = layout.parent / f"bundle-{tag}"
    run("umoci", "unpack", "--rootless", "--image", f"{layout}:{tag}", bundle)
    for i, files in enumerate(layers):
        for rel, text in files.items():
            path = bundle / "rootfs" / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        run("umoci", "repack", "--refresh-bundle", "--history.created_by", f"{tag} layer {i}",
            "--image", f"{layout}:{tag}", bundle)  # fmt: skip
    run("umoci", "config", "--image", f"{layout}:{tag}", "--architecture", arch, "--os", "linux")


def skopeo_push(layout: Path, tag: str, dest: str, *extra: str) -> None:
    run("skopeo", "copy", "--quiet", "--dest-tls-verify=false", *extra, f"oci:{layout}:{tag}", f"docker://{dest}")


def skopeo_config(layout: Path, tag: str) -> dict:
    return json.loads(run("skopeo", "inspect", "--config", f"oci:{layout}:{tag}"))


def raw_manifest(host: str, ref: str) -> bytes:
    """The manifest bytes as the registry serves them, fetched by skopeo."""
    return subprocess.run(
        ["skopeo", "inspect", "--raw", "--tls-verify=false", f"docker://{host}/{ref}"],
        capture_output=True, check=True,
    ).stdout  # fmt: skip


def os_release(name: str, token: str) -> dict[str, str]:
    return {"etc/os-release": f'ID=lashingtest\nNAME="{name}"\nVERSION_ID="1.{token}"\n'}


REPOS = {"amd64": "test/app", "arm64": "test/app", "tamper": "test/tamper", "missing": "test/missing"}


@dataclass
class World:
    anon: RegistryServer
    basic: RegistryServer
    token: RegistryServer
    tokens: TokenServer
    layout: Path
    files: dict[str, list[str]]  # tag -> every file path the image holds
    digests: dict[str, str]  # name -> manifest digest


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory):
    base = tmp_path_factory.mktemp("registry")
    storage = base / "storage"
    servers: list = []
    try:
        anon = start_registry(base / "anon", storage)
        servers.append(anon)
        basic = start_registry(base / "basic", storage, htpasswd=make_htpasswd(base / "htpasswd", USER, PASSWORD))
        servers.append(basic)
        tokens = TokenServer(base / "tokens", {USER: PASSWORD}, refresh_tokens={REFRESH_TOKEN: USER})
        servers.append(tokens)
        token = start_registry(base / "token", storage, token=tokens)
        servers.append(token)
        world = World(anon, basic, token, tokens, base / "build" / "layout", {}, {})
        _build(world)
        yield world
    finally:
        for server in reversed(servers):
            server.stop()


def _build(world: World) -> None:
    layout, host = world.layout, world.anon.host
    layout.parent.mkdir(parents=True)
    token = secrets.token_hex(6)  # fresh content each session: no blob reuse from earlier runs
    specs = {
        "amd64": ([os_release("amd64", token) | {"bin/hello": "amd64 " + token}, {"usr/share/doc/note": "x"}], "amd64"),
        "arm64": ([os_release("arm64", token) | {"bin/hello": "arm64 " + token}], "arm64"),
        "zstd": ([os_release("zstd", token) | {"srv/zstd.txt": "zstd " + token * 50}], "amd64"),
        "tamper": ([{"srv/tamper.txt": "tamper " + token * 50}], "amd64"),
        "missing": ([{"srv/missing.txt": "missing " + token}], "amd64"),
    }
    for tag, (layers, arch) in specs.items():
        umoci_image(layout, tag, layers, arch)
        world.files[tag] = sorted({rel for files in layers for rel in files})
    for tag, repo in REPOS.items():
        skopeo_push(layout, tag, f"{host}/{repo}:{tag}")
        world.digests[tag] = sha256_digest(raw_manifest(host, f"{repo}:{tag}"))
    skopeo_push(layout, "zstd", f"{host}/test/zstd:1", "--dest-compress-format", "zstd")
    skopeo_push(layout, "amd64", f"{host}/test/schema1:1", "--format", "v2s1")
    _push_index(world, "multi", [(world.digests["amd64"], AMD64), (world.digests["arm64"], ARM64)])
    _push_index(world, "nest1", [(world.digests["amd64"], AMD64)])
    _push_index(world, "nest2", [(world.digests["nest1"], AMD64)], OCI_INDEX)
    _push_index(world, "nest3", [(world.digests["nest2"], AMD64)], OCI_INDEX)
    _push_uncompressed(world)
    _push_foreign(world)


def index_doc(entries: list[tuple[str, str, int, Platform]]) -> dict:
    """An OCI index of (mediaType, digest, size, platform) entries."""
    manifests = [
        {"mediaType": mt, "digest": d, "size": n, "platform": {"os": p.os, "architecture": p.architecture}}
        for mt, d, n, p in entries
    ]
    return {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests}


def _push_index(world: World, tag: str, entries: list[tuple[str, Platform]], child_type: str = OCI_MANIFEST) -> None:
    host = world.anon.host
    sized = [(child_type, d, len(raw_manifest(host, f"test/app@{d}")), p) for d, p in entries]
    world.digests[tag] = put_manifest(world.anon.url, "test/app", tag, index_doc(sized), OCI_INDEX)


def _push_uncompressed(world: World) -> None:
    """The amd64 image again with uncompressed layers (blob digest == diff_id), via the push API."""
    url = world.anon.url
    manifest = json.loads(raw_manifest(world.anon.host, "test/app:amd64"))
    config = httpx.get(f"{url}/v2/test/app/blobs/{manifest['config']['digest']}").content
    layers = []
    for desc in manifest["layers"]:
        tar = gzip.decompress(httpx.get(f"{url}/v2/test/app/blobs/{desc['digest']}").content)
        digest = push_blob(url, "test/plain", tar)
        layers.append({"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": digest, "size": len(tar)})
    push_blob(url, "test/plain", config)
    doc = {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": manifest["config"], "layers": layers}
    world.digests["plain"] = put_manifest(url, "test/plain", "1", doc, OCI_MANIFEST)


class HashingTee:
    """Hashes what the tar reader (and the drain after it) read from a layer stream."""

    def __init__(self, stream: LayerStream):
        self.stream = stream
        self.hash = hashlib.sha256()

    def read(self, n: int = -1) -> bytes:
        data = self.stream.read(n)
        self.hash.update(data)
        return data


def _push_foreign(world: World) -> None:
    """The amd64 image plus a non-distributable layer the registry does not hold (only its URL)."""
    url = world.anon.url
    manifest = json.loads(raw_manifest(world.anon.host, "test/app:amd64"))
    config = json.loads(httpx.get(f"{url}/v2/test/app/blobs/{manifest['config']['digest']}").content)
    foreign_tar = b"not on this registry " + secrets.token_bytes(8)
    config["rootfs"]["diff_ids"].append(sha256_digest(foreign_tar))
    config_bytes = json.dumps(config).encode()
    push_blob(url, "test/app", config_bytes)
    foreign = {
        "mediaType": "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
        "digest": sha256_digest(gzip.compress(foreign_tar)),
        "size": 77,
        "urls": ["https://foreign.invalid/layer.tar.gz"],
    }
    config_desc = {**manifest["config"], "digest": sha256_digest(config_bytes), "size": len(config_bytes)}
    doc = {**manifest, "config": config_desc, "layers": [*manifest["layers"], foreign]}
    world.digests["foreign"] = put_manifest(url, "test/app", "foreign", doc, OCI_MANIFEST)


def read_layers(source: RegistryImageSource) -> tuple[list[set[str]], list[str], list[str]]:
    """Member names, sha256 of the decompressed bytes and compression of every layer, each verified."""
    names, hashes, compressions = [], [], []
    for layer in source.layers:
        stream = source.open_layer(layer)
        try:
            tee = HashingTee(stream)
            with tarfile.open(fileobj=tee, mode="r|") as tar:  # type: ignore[call-overload]
                names.append({m.name.removeprefix("./") for m in tar if m.isfile()})
            while tee.read(1 << 16):
                pass
            stream.finish()
            hashes.append("sha256:" + tee.hash.hexdigest())
            compressions.append(stream.compression)
        finally:
            stream.close()
    return names, hashes, compressions


def all_files(names: list[set[str]]) -> list[str]:
    return sorted(set().union(*names))


# -- references, challenges, schemes (pure functions) --------------------------------------------

DIGEST = "sha256:" + "ab" * 32


@pytest.mark.parametrize(
    ("text", "registry", "repository", "tag", "digest"),
    [
        ("alpine", "registry-1.docker.io", "library/alpine", "latest", None),
        ("docker.io/alpine:3.19", "registry-1.docker.io", "library/alpine", "3.19", None),
        ("index.docker.io/team/app", "registry-1.docker.io", "team/app", "latest", None),
        ("bitnami/redis:7.2", "registry-1.docker.io", "bitnami/redis", "7.2", None),
        ("ghcr.io/org/sub/app:v1.0_rc-1", "ghcr.io", "org/sub/app", "v1.0_rc-1", None),
        ("localhost/app", "localhost", "app", "latest", None),
        ("localhost:5000/a/b:t", "localhost:5000", "a/b", "t", None),
        ("127.0.0.1:5000/app@" + DIGEST, "127.0.0.1:5000", "app", None, DIGEST),
        ("registry.example.com:443/app:1@" + DIGEST, "registry.example.com:443", "app", "1", DIGEST),
        ("[::1]:5000/app:1", "[::1]:5000", "app", "1", None),
        ("docker://quay.io/a__b/c-d.e:x", "quay.io", "a__b/c-d.e", "x", None),
    ],
)
def test_parse_reference(text: str, registry: str, repository: str, tag: str | None, digest: str | None) -> None:
    ref = parse_reference(text)
    assert (ref.registry, ref.repository, ref.tag, ref.digest) == (registry, repository, tag, digest)
    assert parse_reference(str(ref)) == ref


@pytest.mark.parametrize(
    "text",
    ["", "team/UPPER", "app:", "app:bad/tag", "app@sha256:abc", "a//b", "-app", "app:" + "t" * 129,
     "a b", "registry:99999/app", "reg_istry.io/app", "app@md5:" + "a" * 32, "x" * 300, "ünï/app", "app:t\n"],
)  # fmt: skip
def test_parse_reference_rejects_junk(text: str) -> None:
    with pytest.raises(UsageError) as info:
        parse_reference(text)
    assert "\n" not in str(info.value)


def test_looks_like_registry_reference(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "alpine").mkdir()
    (tmp_path / "image.tar").write_bytes(b"")
    assert looks_like_registry_reference("ghcr.io/org/app:1")
    assert looks_like_registry_reference("nginx")
    assert not looks_like_registry_reference("alpine")  # an existing directory wins
    assert not looks_like_registry_reference("alpine:3.19")  # dir:tag of a local layout
    assert not looks_like_registry_reference("image.tar")
    assert not looks_like_registry_reference("./rel/path")
    assert not looks_like_registry_reference("/abs/path")
    assert not looks_like_registry_reference("Not A Ref")


def test_parse_challenge() -> None:
    header = 'Bearer realm="https://auth.example/token",service="reg.example",scope="repository:a/b:pull,push"'
    challenge = parse_challenge(header)
    assert challenge is not None and challenge.scheme == "bearer"
    assert challenge.params == {
        "realm": "https://auth.example/token", "service": "reg.example", "scope": "repository:a/b:pull,push"
    }  # fmt: skip
    assert parse_challenge('Basic realm="x \\"q\\""').params == {"realm": 'x "q"'}
    assert parse_challenge("") is None
    assert parse_challenge("Bearer") == parse_challenge("bearer")


def test_scheme_choice() -> None:
    assert registry_scheme("127.0.0.1:5000") == "http"
    assert registry_scheme("localhost") == "http"
    assert registry_scheme("registry.example.com", env={}) == "https"
    assert registry_scheme("registry.example.com", insecure=True, env={}) == "http"
    env = {"LASHING_INSECURE_REGISTRIES": "reg.lan:5000, other.lan"}
    assert registry_scheme("reg.lan:5000", env=env) == "http"
    assert registry_scheme("reg.lan:6000", env=env) == "https"
    assert registry_scheme("other.lan:6000", env=env) == "http"


# -- pulling -------------------------------------------------------------------------------------


def test_pull_single_arch_verifies_every_layer(world: World) -> None:
    ref = f"{world.anon.host}/test/app:amd64"
    received: list[int] = []
    with RegistryImageSource(ref, on_bytes=received.append) as source:
        expected = skopeo_config(world.layout, "amd64")
        assert source.config["rootfs"]["diff_ids"] == expected["rootfs"]["diff_ids"]
        assert [layer.diff_id for layer in source.layers] == expected["rootfs"]["diff_ids"]
        assert [layer.created_by for layer in source.layers] == ["amd64 layer 0", "amd64 layer 1"]
        art = source.artifact
        assert (art.name, art.kind, art.architecture, art.os) == (ref, "registry", "amd64", "linux")
        assert art.digest == world.digests["amd64"]
        assert art.config_digest == json.loads(raw_manifest(world.anon.host, "test/app:amd64"))["config"]["digest"]
        assert art.repo_tags == (ref,)
        names, hashes, compressions = read_layers(source)
        assert hashes == expected["rootfs"]["diff_ids"]
        assert compressions == ["gzip", "gzip"]
        assert all_files(names) == world.files["amd64"]
        assert sum(received) == sum(layer.size or 0 for layer in source.layers)


def test_pull_by_digest(world: World) -> None:
    digest = world.digests["arm64"]
    for ref in (f"{world.anon.host}/test/app@{digest}", f"{world.anon.host}/test/app:amd64@{digest}"):
        with RegistryImageSource(ref) as source:
            assert source.artifact.digest == digest
            assert source.artifact.architecture == "arm64"


@pytest.mark.parametrize("platform", [AMD64, ARM64])
def test_index_resolves_the_requested_platform(world: World, platform: Platform) -> None:
    arch = platform.architecture
    with RegistryImageSource(f"{world.anon.host}/test/app:multi", platform=platform) as source:
        assert source.index_digest == world.digests["multi"]
        assert source.artifact.digest == world.digests[arch]
        assert source.config["architecture"] == arch
        expected = skopeo_config(world.layout, arch)["rootfs"]["diff_ids"]
        assert [layer.diff_id for layer in source.layers] == expected
        names, hashes, _ = read_layers(source)
        assert hashes == expected
        assert all_files(names) == world.files[arch]


def test_index_without_the_platform(world: World) -> None:
    with pytest.raises(UsageError, match=r"no image for platform linux/s390x.*linux/amd64, linux/arm64"):
        RegistryImageSource(f"{world.anon.host}/test/app:multi", platform=Platform("linux", "s390x"))


def test_zstd_layers(world: World) -> None:
    served = json.loads(raw_manifest(world.anon.host, "test/zstd:1"))
    assert [d["mediaType"] for d in served["layers"]] == ["application/vnd.oci.image.layer.v1.tar+zstd"]
    with RegistryImageSource(f"{world.anon.host}/test/zstd:1") as source:
        assert source.layers[0].media_type == "application/vnd.oci.image.layer.v1.tar+zstd"
        names, hashes, compressions = read_layers(source)
        assert compressions == ["zstd"]
        assert hashes == skopeo_config(world.layout, "zstd")["rootfs"]["diff_ids"]
        assert all_files(names) == world.files["zstd"]


def test_uncompressed_layers(world: World) -> None:
    with RegistryImageSource(f"{world.anon.host}/test/plain:1") as source:
        assert [layer.digest for layer in source.layers] == [layer.diff_id for layer in source.layers]
        names, hashes, compressions = read_layers(source)
        assert compressions == ["none", "none"]
        assert hashes == skopeo_config(world.layout, "amd64")["rootfs"]["diff_ids"]
        assert all_files(names) == world.files["amd64"]


def test_foreign_layer_is_not_fetched_from_its_urls(world: World) -> None:
    with RegistryImageSource(f"{world.anon.host}/test/app:foreign") as source:
        assert source.artifact.digest == world.digests["foreign"]
        *ours, foreign = source.layers
        for layer in ours:
            stream = source.open_layer(layer)
            stream.finish()
            stream.close()
        with pytest.raises(InvalidImageError, match=r"foreign \(non-distributable\) layer the registry does not serve"):
            source.open_layer(foreign)


def test_open_target_detects_a_registry_reference(world: World) -> None:
    opened = open_target(f"{world.anon.host}/test/app:multi", ARM64)
    assert isinstance(opened, RegistryImageSource)
    with opened:
        assert opened.artifact.architecture == "arm64"


def test_blob_redirects_are_followed(world: World) -> None:
    front = FrontServer(world.anon.url)
    try:
        with RegistryImageSource(f"{front.host}/test/app:amd64") as source:
            _, hashes, _ = read_layers(source)
            assert hashes == [layer.diff_id for layer in source.layers]
        blob_hits = [hit for hit in front.hits if "/blobs/" in hit]
        assert {hit.rsplit("/", 1)[1] for hit in blob_hits} >= {layer.digest for layer in source.layers}
    finally:
        front.stop()


# -- tampered, missing and hostile content -------------------------------------------------------


def test_tampered_layer_blob(world: World) -> None:
    """A blob changed in the registry's storage: same size, still valid gzip, so only the digest tells."""
    with RegistryImageSource(f"{world.anon.host}/test/tamper:tamper") as source:
        layer = source.layers[0]
        data = world.anon.blob_data(layer.digest)
        original = data.read_bytes()
        assert original[:2] == b"\x1f\x8b"
        data.write_bytes(original[:4] + bytes(b ^ 0x5A for b in original[4:8]) + original[8:])  # gzip MTIME
        stream = source.open_layer(layer)
        try:
            with pytest.raises(DigestMismatchError, match=f"expected {layer.digest}"):
                stream.finish()
        finally:
            stream.close()
        middle = len(original) // 2  # now damage the deflate stream itself
        data.write_bytes(original[:middle] + bytes([original[middle] ^ 0xFF]) + original[middle + 1 :])
        stream = source.open_layer(layer)
        try:
            with pytest.raises(InvalidImageError):  # corrupt gzip data or a digest mismatch
                stream.finish()
        finally:
            stream.close()


def test_tampered_config(world: World) -> None:
    ref = f"{world.anon.host}/test/tamper:tamper"
    with RegistryImageSource(ref) as source:
        config_digest = source.artifact.config_digest
    assert config_digest is not None
    data = world.anon.blob_data(config_digest)
    original = data.read_bytes()
    assert b'"linux"' in original
    data.write_bytes(original.replace(b'"linux"', b'"linuy"'))  # same size
    try:
        with pytest.raises(DigestMismatchError, match=f"image config digest mismatch: expected {config_digest}"):
            RegistryImageSource(ref)
    finally:
        data.write_bytes(original)


def test_missing_blob(world: World) -> None:
    with RegistryImageSource(f"{world.anon.host}/test/missing:missing") as source:
        layer = source.layers[0]
        world.anon.blob_data(layer.digest).unlink()
        with pytest.raises(RegistryError, match=f"blob unknown: {layer.digest}"):
            source.open_layer(layer)


def test_unknown_manifest(world: World) -> None:
    with pytest.raises(RegistryError, match="manifest unknown: test/app:nope"):
        RegistryImageSource(f"{world.anon.host}/test/app:nope")
    with pytest.raises(RegistryError, match="manifest unknown: nothing/here:latest"):
        RegistryImageSource(f"{world.anon.host}/nothing/here")


def test_schema1_is_rejected(world: World) -> None:
    assert json.loads(raw_manifest(world.anon.host, "test/schema1:1"))["schemaVersion"] == 1
    with pytest.raises(InvalidImageError, match="schema 1"):
        RegistryImageSource(f"{world.anon.host}/test/schema1:1")


def test_nested_indexes_are_bounded(world: World) -> None:
    host = world.anon.host
    with RegistryImageSource(f"{host}/test/app:nest2", limits=Limits(max_index_depth=2)) as source:
        assert source.artifact.digest == world.digests["amd64"]
    with pytest.raises(InvalidImageError, match="nest deeper than 2"):
        RegistryImageSource(f"{host}/test/app:nest3", limits=Limits(max_index_depth=2))
    with RegistryImageSource(f"{host}/test/app:nest3") as source:  # default depth 4
        assert source.artifact.digest == world.digests["amd64"]


def test_cyclic_index_fails_verification(world: World) -> None:
    """An index that names itself can only be served by lying about its digest: refused, no loop."""
    registry = world.anon
    amd64 = world.digests["amd64"]
    first = index_doc([(OCI_MANIFEST, amd64, len(raw_manifest(registry.host, f"test/app@{amd64}")), AMD64)])
    digest = put_manifest(registry.url, "test/app", "cycle", first, OCI_INDEX)
    cyclic = index_doc([(OCI_INDEX, digest, 999, AMD64)])
    registry.blob_data(digest).write_bytes(json.dumps(cyclic).encode())
    for ref in (f"{registry.host}/test/app:cycle", f"{registry.host}/test/app@{digest}"):
        with pytest.raises(DigestMismatchError, match=f"expected {digest}"):
            RegistryImageSource(ref)


def test_non_json_and_oversized_manifests(world: World) -> None:
    front = FrontServer(world.anon.url)
    front.overrides["/v2/test/junk/manifests/1"] = (200, {"Content-Type": OCI_MANIFEST}, b"<html>not json</html>")
    front.overrides["/v2/test/list/manifests/1"] = (200, {"Content-Type": OCI_MANIFEST}, b"[1, 2, 3]")
    front.overrides["/v2/test/html/manifests/1"] = (200, {"Content-Type": "text/html"}, b'{"hello": 1}')
    try:
        with pytest.raises(InvalidImageError, match="is not valid JSON"):
            RegistryImageSource(f"{front.host}/test/junk:1")
        with pytest.raises(InvalidImageError, match="is not a JSON object"):
            RegistryImageSource(f"{front.host}/test/list:1")
        with pytest.raises(InvalidImageError, match="neither an image index nor an image manifest"):
            RegistryImageSource(f"{front.host}/test/html:1")
    finally:
        front.stop()
    with pytest.raises(LimitExceededError, match="over the 100-byte limit"):
        RegistryImageSource(f"{world.anon.host}/test/app:amd64", limits=Limits(max_manifest_bytes=100))


def test_connection_refused() -> None:
    with pytest.raises(RegistryError, match=r"cannot connect to 127\.0\.0\.1:9"):
        RegistryImageSource("127.0.0.1:9/test/app:1", timeout=2)


# -- htpasswd (basic) auth -----------------------------------------------------------------------


def _pull_ok(source: RegistryImageSource) -> None:
    with source:
        _, hashes, _ = read_layers(source)
        assert hashes == [layer.diff_id for layer in source.layers]


def test_basic_auth_from_flags_env_and_docker_config(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    ref = f"{world.basic.host}/test/app:amd64"
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "empty"))
    for var in ("LASHING_USERNAME", "LASHING_PASSWORD", "LASHING_REGISTRY_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    _pull_ok(open_registry_image(ref, options=RegistryOptions(username=USER, password=PASSWORD)))

    monkeypatch.setenv("LASHING_USERNAME", USER)
    monkeypatch.setenv("LASHING_PASSWORD", PASSWORD)
    _pull_ok(open_registry_image(ref))
    monkeypatch.delenv("LASHING_USERNAME")
    monkeypatch.delenv("LASHING_PASSWORD")

    auth = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    for entry in ({"auth": auth}, {"username": USER, "password": PASSWORD}):
        for key in (world.basic.host, f"http://{world.basic.host}/v2/"):
            config_dir = tmp_path / secrets.token_hex(4)
            config_dir.mkdir()
            (config_dir / "config.json").write_text(json.dumps({"auths": {key: entry}, "credsStore": "absent-xyz"}))
            monkeypatch.setenv("DOCKER_CONFIG", str(config_dir))
            _pull_ok(open_registry_image(ref))
    assert not [r for r in caplog.records if PASSWORD in r.getMessage() or auth in r.getMessage()]


def test_docker_config_keys_and_precedence(tmp_path: Path) -> None:
    hub_auth = base64.b64encode(b"hubuser:hubpass").decode()
    config = {
        "auths": {
            "https://index.docker.io/v1/": {"auth": hub_auth},
            "https://reg.example:5000/v2/": {"username": "u", "password": "p"},
            "broken.example": {"auth": "%%%not-base64"},
            "tok.example": {"registrytoken": "abc"},
        }
    }
    (tmp_path / "config.json").write_text(json.dumps(config))
    env = {"DOCKER_CONFIG": str(tmp_path)}
    hub = resolve_credentials(parse_reference("alpine").registry, env=env)
    assert (hub.username, hub.password) == ("hubuser", "hubpass")
    assert resolve_credentials("reg.example:5000", env=env).username == "u"
    assert resolve_credentials("reg.example", env=env) == Credentials()  # the port is part of the key
    assert resolve_credentials("broken.example", env=env) == Credentials()
    assert resolve_credentials("tok.example", env=env).token == "abc"
    flagged = resolve_credentials("reg.example:5000", username="flag", password="pw", env=env)
    assert (flagged.username, flagged.source) == ("flag", "flags")
    from_env = resolve_credentials("reg.example:5000", env={**env, "LASHING_USERNAME": "e", "LASHING_PASSWORD": "q"})
    assert (from_env.username, from_env.source) == ("e", "environment")
    assert "pw" not in repr(flagged) and "hubpass" not in repr(hub)
    (tmp_path / "config.json").write_text("{not json")
    assert resolve_credentials("reg.example:5000", env=env) == Credentials()


def test_docker_credential_helper(world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    helper = bin_dir / "docker-credential-lashingtest"
    helper.write_text(
        "#!/bin/sh\nread server\n"
        f'if [ "$server" = "{world.basic.host}" ]; then\n'
        f'  printf \'{{"ServerURL":"%s","Username":"{USER}","Secret":"{PASSWORD}"}}\' "$server"\n'
        "else echo 'credentials not found in native keychain' >&2; exit 1; fi\n"
    )
    helper.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{__import__('os').environ['PATH']}")
    (tmp_path / "config.json").write_text(json.dumps({"credHelpers": {world.basic.host: "lashingtest"}}))
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))
    for var in ("LASHING_USERNAME", "LASHING_PASSWORD", "LASHING_REGISTRY_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    _pull_ok(open_registry_image(f"{world.basic.host}/test/app:amd64"))


def test_basic_auth_failures(world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))
    ref = f"{world.basic.host}/test/app:amd64"
    with pytest.raises(AuthenticationError, match=f"{world.basic.host} rejected the credentials") as info:
        RegistryImageSource(ref, credentials=Credentials(username=USER, password="wrong", source="flags"))
    assert "wrong" not in str(info.value)
    with pytest.raises(AuthenticationError, match=f"{world.basic.host} requires a username and password"):
        RegistryImageSource(ref, credentials=Credentials())


# -- token auth ----------------------------------------------------------------------------------


def test_bearer_token_auth(world: World) -> None:
    ref = f"{world.token.host}/test/app:amd64"
    before = len(world.tokens.requests)
    source = RegistryImageSource(ref, credentials=Credentials(username=USER, password=PASSWORD, source="flags"))
    _pull_ok(source)
    requests = world.tokens.requests[before:]
    assert len(requests) == 1  # one token for the scope, reused for the manifest, config and both layers
    assert requests[0]["user"] == USER and requests[0]["scopes"] == ["repository:test/app:pull"]
    assert source.client.auth.token_requests == 1


def test_bearer_token_failures(world: World) -> None:
    ref = f"{world.token.host}/test/app:amd64"
    with pytest.raises(AuthenticationError, match=f"{world.token.host}: the token server .* rejected the credentials"):
        RegistryImageSource(ref, credentials=Credentials(username=USER, password="nope", source="flags"))
    with pytest.raises(AuthenticationError, match="rejected anonymous access"):
        RegistryImageSource(ref, credentials=Credentials())


def test_no_credentials_to_a_plain_http_token_server(world: World, tmp_path: Path) -> None:
    remote_realm = "http://token.lashing.invalid/token"
    registry = start_registry(tmp_path, tmp_path / "storage", token=world.tokens, realm=remote_realm)
    try:
        with pytest.raises(AuthenticationError, match=r"plain-HTTP token server \(token\.lashing\.invalid\)"):
            RegistryImageSource(
                f"{registry.host}/test/app:amd64", credentials=Credentials(username=USER, password=PASSWORD)
            )
    finally:
        registry.stop()


def test_identity_token_from_docker_config(world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = {"auths": {world.token.host: {"auth": "", "identitytoken": REFRESH_TOKEN}}}
    (tmp_path / "config.json").write_text(json.dumps(config))
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))
    for var in ("LASHING_USERNAME", "LASHING_PASSWORD", "LASHING_REGISTRY_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    before = len(world.tokens.requests)
    _pull_ok(open_registry_image(f"{world.token.host}/test/app:arm64"))
    posts = [r for r in world.tokens.requests[before:] if r["method"] == "POST"]
    assert len(posts) == 1 and posts[0]["user"] == USER  # access_token from the OAuth2 refresh grant


def test_static_registry_token(world: World) -> None:
    ref = f"{world.token.host}/test/app:amd64"
    jwt = world.tokens.issue(USER, ["repository:test/app:pull"])
    before = len(world.tokens.requests)
    _pull_ok(open_registry_image(ref, options=RegistryOptions(token=jwt)))
    assert len(world.tokens.requests) == before  # sent as is, no token round trip
    other = world.tokens.issue(USER, ["repository:other/repo:pull"])
    with pytest.raises(AuthenticationError, match="rejected the registry token"):
        open_registry_image(ref, options=RegistryOptions(token=other))
