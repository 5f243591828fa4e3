"""Build real container images for tests and benchmarks with the field's own tools.

mmdebstrap makes a Debian root filesystem, pip and npm install pinned old packages into it, umoci
turns each step into a real layer (`umoci repack`, history `created_by` per layer) and skopeo
converts the OCI layout into the other image forms. Every builder takes a directory, builds once
into a scratch sibling, renames it when complete and reuses it afterwards, so one pytest session
(or one benchmark work directory) pays for each image once:

    base = session_dir(tmp_path_factory)      # shared by every test module of the session
    image = build_layered_image(base)        # BuiltImage: OCI layout + its final filesystem
    tar = to_docker_archive(image, base / "main-docker.tar")

The main image's layers: 0 Debian minbase + extra packages (dpkg), 1 pip wheels, 2 npm apps,
3 deletions (`npm uninstall`, a removed dist-info: plain whiteouts), 4 a directory replaced
wholesale (opaque whiteout, a crafted layer added with `umoci raw add-layer`). `installed_*`
ask dpkg-query, importlib.metadata and npm what a filesystem holds.
"""

from __future__ import annotations

import fcntl
import gzip
import hashlib
import io
import json
import os
import shutil
import subprocess
import tarfile
from collections.abc import Callable, Iterable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING

from debian.deb822 import Deb822

if TYPE_CHECKING:
    import pytest

SUITE = "bookworm"
DEFAULT_INCLUDE = ("openssl", "curl", "ca-certificates", "python3")
SITE_PACKAGES = "usr/local/lib/python3.11/site-packages"
PIP_PINS = (
    "requests==2.19.1", "urllib3==1.24.1", "idna==2.7", "certifi==2018.8.24", "chardet==3.0.4",
    "Jinja2==2.10", "MarkupSafe==2.1.3", "PyYAML==6.0.1",
)
NPM_APPS = {"app": ("express@4.17.1", "lodash@4.17.15"), "srv/legacy": ("mkdirp@0.5.1",)}
NPM_REMOVED = ("app", "lodash")  # `npm uninstall` in layer 3
PIP_REMOVED = ("Jinja2-2.10.dist-info", "jinja2")  # deleted from site-packages in layer 3
OPAQUE_DIR = "srv/legacy"  # replaced wholesale in layer 4 ...
OPAQUE_PINS = ("mkdirp@1.0.4",)  # ... by a fresh install of these
DISTROLESS_LAYERS = (
    ("base-files", "libc6", "zlib1g", "tzdata", "media-types"),
    ("libssl3", "openssl", "ca-certificates"),
)
TAG = "latest"


@dataclass(frozen=True)
class BuiltImage:
    """An OCI layout (`layout:tag`) and its final filesystem as `umoci unpack` sees it."""

    layout: Path
    tag: str
    rootfs: Path
    created_by: tuple[str, ...]  # one per layer, in order

    @property
    def ref(self) -> str:
        return f"{self.layout}:{self.tag}"

    def config(self) -> dict:
        """The image config as skopeo reads it (diff_ids, history)."""
        out = run(["skopeo", "inspect", "--config", f"oci:{self.ref}"], capture=True)
        return json.loads(out)

    def diff_ids(self) -> list[str]:
        return list(self.config()["rootfs"]["diff_ids"])


def run(cmd: Sequence[str | Path], capture: bool = False, cwd: Path | None = None, check: bool = True) -> str:
    """Run a command; on failure raise with its stderr so a broken build explains itself."""
    proc = subprocess.run([str(c) for c in cmd], cwd=cwd, capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, cmd))} failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    return proc.stdout if capture else ""


def session_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One build directory per pytest session, shared by all modules (LASHING_IMAGEBUILD_DIR overrides)."""
    env = os.environ.get("LASHING_IMAGEBUILD_DIR")
    path = Path(env) if env else tmp_path_factory.getbasetemp() / "imagebuild"
    path.mkdir(parents=True, exist_ok=True)
    return path


@contextmanager
def _locked(dest: Path):
    dest.parent.mkdir(parents=True, exist_ok=True)
    with open(dest.with_name(dest.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def cached(dest: Path, build: Callable[[Path], None]) -> Path:
    """Build `dest` once: into `dest.partial`, renamed when complete; reuse an existing `dest`."""
    with _locked(dest):
        if not dest.exists():
            scratch = dest.with_name(dest.name + ".partial")
            _remove(scratch)
            build(scratch)
            scratch.rename(dest)
    return dest


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


# -- root filesystems ----------------------------------------------------------------------------


def debian_rootfs(base_dir: Path, suite: str = SUITE, include: Iterable[str] = DEFAULT_INCLUDE) -> Path:
    """A Debian `minbase` root filesystem with `include` added (mmdebstrap; ~35 s, ~130 packages)."""
    include = sorted(include)
    key = hashlib.sha256(f"{suite}|{','.join(include)}".encode()).hexdigest()[:10]

    def build(dest: Path) -> None:
        opts = [f"--include={','.join(include)}"] if include else []
        run(["mmdebstrap", "--quiet", "--variant=minbase", *opts, suite, dest])

    return cached(base_dir / f"debian-{suite}-{key}", build)


def installed_debs(root: Path, admindir: Path | None = None) -> dict[str, tuple[str, str, str]]:
    """dpkg-query's installed packages: name -> (version, source name, source version)."""
    fmt = "${db:Status-Status}\t${Package}\t${Version}\t${source:Package}\t${source:Version}\n"
    out = run(["dpkg-query", "--admindir", admindir or root / "var/lib/dpkg", "-W", "-f", fmt], capture=True)
    rows = (line.split("\t") for line in out.splitlines())
    return {r[1]: (r[2], r[3], r[4]) for r in rows if r[0] == "installed"}


def installed_pypi(site_packages: Path) -> set[tuple[str, str]]:
    """importlib.metadata's distributions in one directory: (name, version)."""
    from importlib.metadata import distributions

    return {(d.metadata["Name"], d.version) for d in distributions(path=[str(site_packages)])}


def installed_npm(prefix: Path) -> set[tuple[str, str]]:
    """`npm ls --all --json` flattened to (name, version); missing dependencies are left out."""
    proc = subprocess.run(["npm", "ls", "--all", "--json", "--prefix", str(prefix)], capture_output=True, text=True)
    found: set[tuple[str, str]] = set()

    def walk(deps: dict) -> None:
        for name, node in deps.items():
            if node.get("version") and not node.get("missing"):
                found.add((name, node["version"]))
            walk(node.get("dependencies", {}))

    walk(json.loads(proc.stdout).get("dependencies", {}))
    return found


# -- the main layered image ----------------------------------------------------------------------


def _npm_install(prefix: Path, specs: Sequence[str]) -> None:
    prefix.mkdir(parents=True, exist_ok=True)
    run(["npm", "install", "--prefix", prefix, "--save-exact", "--no-audit", "--no-fund",
         "--ignore-scripts", "--no-update-notifier", *specs])


def _repack(layout: Path, bundle: Path, created_by: str) -> None:
    run(["umoci", "repack", "--refresh-bundle", "--image", f"{layout}:{TAG}",
         "--history.created_by", created_by, bundle])


def _config(layout: Path, created_by: str, *args: str) -> None:
    run(["umoci", "config", "--image", f"{layout}:{TAG}", "--history.created_by", created_by, *args])


def _tar_tree(src: Path, arcroot: str, dest: Path, extra: Sequence[tarfile.TarInfo] = ()) -> None:
    """An uncompressed layer tar of `src` placed at `arcroot`, owned by root, `extra` members first."""
    with tarfile.open(dest, "w", format=tarfile.PAX_FORMAT) as tar:
        tar.add(src, arcname=arcroot, recursive=False, filter=_as_root)
        for info in extra:
            tar.addfile(info)
        for path in sorted(src.rglob("*")):
            tar.add(path, arcname=f"{arcroot}/{path.relative_to(src)}", recursive=False, filter=_as_root)


def _as_root(info: tarfile.TarInfo) -> tarfile.TarInfo:
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    return info


def build_layered_image(base_dir: Path, rootfs: Path | None = None) -> BuiltImage:
    """The main five-layer image (see the module docstring); ~60-90 s including the rootfs."""
    rootfs = rootfs or debian_rootfs(base_dir)
    created_by = (
        f"mmdebstrap --variant=minbase --include={','.join(sorted(DEFAULT_INCLUDE))} {SUITE} /",
        f"pip install --no-deps --target /{SITE_PACKAGES} {' '.join(PIP_PINS)}",
        "; ".join(f"npm install --prefix /{p} {' '.join(s)}" for p, s in NPM_APPS.items()),
        f"npm uninstall --prefix /{NPM_REMOVED[0]} {NPM_REMOVED[1]}; rm -rf "
        + " ".join(f"/{SITE_PACKAGES}/{name}" for name in PIP_REMOVED),
        f"rm -rf /{OPAQUE_DIR} && npm install --prefix /{OPAQUE_DIR} {' '.join(OPAQUE_PINS)}",
    )

    def build(dest: Path) -> None:
        layout, bundle, work = dest / "oci", dest / "bundle", dest / "work"
        work.mkdir(parents=True)
        run(["umoci", "init", "--layout", layout])
        run(["umoci", "new", "--image", f"{layout}:{TAG}"])
        # An empty-layer history entry first, so history index != layer index (config changes after
        # the unpack would be lost: repack builds on the manifest the bundle was unpacked from).
        _config(layout, "ENV NODE_ENV=production", "--config.env", "NODE_ENV=production")
        run(["umoci", "unpack", "--image", f"{layout}:{TAG}", bundle])
        root = bundle / "rootfs"
        shutil.rmtree(root)
        # cp -a keeps device nodes as nodes (copytree would read /dev/full forever and fill the disk)
        run(["cp", "-a", rootfs, root])
        _repack(layout, bundle, created_by[0])
        run(["pip", "install", "--quiet", "--disable-pip-version-check", "--no-deps", "--no-compile",
             "--only-binary=:all:", "--target", root / SITE_PACKAGES, *PIP_PINS])
        shutil.rmtree(root / SITE_PACKAGES / "bin", ignore_errors=True)
        _repack(layout, bundle, created_by[1])
        for prefix, specs in NPM_APPS.items():
            _npm_install(root / prefix, specs)
        _repack(layout, bundle, created_by[2])
        run(["npm", "uninstall", "--prefix", root / NPM_REMOVED[0], "--offline", "--no-audit", "--no-fund",
             NPM_REMOVED[1]])
        for name in PIP_REMOVED:
            shutil.rmtree(root / SITE_PACKAGES / name)
        _repack(layout, bundle, created_by[3])
        # umoci repack only writes plain whiteouts: craft the opaque one and append it verbatim.
        _npm_install(work / "opaque", OPAQUE_PINS)
        marker = _as_root(tarfile.TarInfo(f"{OPAQUE_DIR}/.wh..wh..opq"))
        _tar_tree(work / "opaque", OPAQUE_DIR, work / "opaque.tar", extra=[marker])
        run(["umoci", "raw", "add-layer", "--image", f"{layout}:{TAG}", "--history.created_by", created_by[4],
             work / "opaque.tar"])
        _config(layout, 'CMD ["node", "/app"]', "--config.cmd", "node", "--config.cmd", "/app")
        shutil.rmtree(bundle)
        shutil.rmtree(work)
        run(["umoci", "gc", "--layout", layout])  # drop the intermediate manifests and configs
        run(["umoci", "unpack", "--image", f"{layout}:{TAG}", dest / "final"])

    dest = cached(base_dir / "main-image", build)
    return BuiltImage(dest / "oci", TAG, dest / "final" / "rootfs", created_by)


# -- a distroless-style image: dpkg status.d, no status file -------------------------------------


def build_distroless_image(
    base_dir: Path, rootfs: Path | None = None, layers: Sequence[Sequence[str]] = DISTROLESS_LAYERS
) -> BuiltImage:
    """Packages copied file by file from the Debian rootfs, one `status.d/<name>` paragraph each.

    Like Google's distroless images: `var/lib/dpkg/status.d/<pkg>` (+ `<pkg>.md5sums`), no
    `var/lib/dpkg/status`, and an `etc/os-release` naming "Distroless". Each entry of `layers`
    becomes one layer.
    """
    rootfs = rootfs or debian_rootfs(base_dir)
    created_by = tuple(f"COPY debs {' '.join(names)} (distroless status.d)" for names in layers)
    paragraphs = {p["Package"]: p for p in Deb822.iter_paragraphs((rootfs / "var/lib/dpkg/status").read_bytes())}

    def build(dest: Path) -> None:
        layout, bundle = dest / "oci", dest / "bundle"
        run(["umoci", "init", "--layout", layout])
        run(["umoci", "new", "--image", f"{layout}:{TAG}"])
        run(["umoci", "unpack", "--image", f"{layout}:{TAG}", bundle])
        root = bundle / "rootfs"
        status_d = root / "var/lib/dpkg/status.d"
        status_d.mkdir(parents=True)
        for names, history in zip(layers, created_by, strict=True):
            for name in names:
                _copy_package_files(rootfs, root, name)
                if name == "base-files":
                    _distroless_os_release(rootfs, root)
                (status_d / name).write_text(paragraphs[name].dump())
                md5 = _dpkg_info(rootfs, name, "md5sums")
                if md5 is not None:
                    shutil.copy2(md5, status_d / f"{name}.md5sums")
            _repack(layout, bundle, history)
        shutil.rmtree(bundle)
        run(["umoci", "gc", "--layout", layout])
        run(["umoci", "unpack", "--image", f"{layout}:{TAG}", dest / "final"])

    key = hashlib.sha256(repr(layers).encode()).hexdigest()[:10]
    dest = cached(base_dir / f"distroless-{key}", build)
    return BuiltImage(dest / "oci", TAG, dest / "final" / "rootfs", created_by)


def _distroless_os_release(src_root: Path, dest_root: Path) -> None:
    """What distroless writes instead of base-files' os-release: Debian's IDs, its own name and URLs."""
    lines = (src_root / "usr/lib/os-release").read_text().splitlines()
    keep = [line for line in lines if line.split("=")[0] in {"NAME", "ID", "VERSION_ID", "VERSION_CODENAME"}]
    ours = ['PRETTY_NAME="Distroless"', 'HOME_URL="https://github.com/GoogleContainerTools/distroless"',
            'BUG_REPORT_URL="https://github.com/GoogleContainerTools/distroless/issues/new"']
    target = dest_root / "etc/os-release"
    target.unlink(missing_ok=True)  # base-files ships a link to usr/lib/os-release
    target.write_text("\n".join([ours[0], *keep, *ours[1:]]) + "\n")


def _dpkg_info(rootfs: Path, name: str, suffix: str) -> Path | None:
    info = rootfs / "var/lib/dpkg/info"
    for candidate in (info / f"{name}.{suffix}", *info.glob(f"{name}:*.{suffix}")):
        if candidate.exists():
            return candidate
    return None


def _copy_package_files(src_root: Path, dest_root: Path, name: str) -> None:
    """Copy what `dpkg -L name` lists; directories are created through the tree's own symlinks."""
    listing = _dpkg_info(src_root, name, "list")
    if listing is None:
        raise RuntimeError(f"{name} is not installed in {src_root}")
    for top in src_root.iterdir():  # the usrmerge links (bin -> usr/bin, lib64 -> usr/lib64, ...)
        if top.is_symlink() and not (dest_root / top.name).is_symlink():
            os.symlink(os.readlink(top), dest_root / top.name)
    for line in listing.read_text().splitlines():
        rel = line.lstrip("/")
        src, dest = src_root / rel, dest_root / rel
        if not rel or not (src.exists() or src.is_symlink()) or dest.is_symlink():
            continue
        if src.is_dir() and not src.is_symlink():
            dest.resolve().mkdir(parents=True, exist_ok=True)
        else:
            dest.parent.resolve().mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest, follow_symlinks=False)


# -- other image forms ---------------------------------------------------------------------------


def _skopeo_copy(image: BuiltImage, dest: Path, target: str, *opts: str) -> Path:
    return cached(dest, lambda out: run(["skopeo", "copy", "--quiet", *opts, f"oci:{image.ref}",
                                         target.format(out=out)]))


def to_docker_archive(image: BuiltImage, dest: Path, name: str = "lashing-test/main") -> Path:
    """`docker-archive:` as skopeo writes it (flat `<digest>.tar` layers, manifest.json)."""
    return _skopeo_copy(image, dest, f"docker-archive:{{out}}:{name}:{image.tag}")


def to_oci_archive(image: BuiltImage, dest: Path) -> Path:
    """An OCI layout tarred (`oci-archive:`)."""
    return _skopeo_copy(image, dest, f"oci-archive:{{out}}:{image.tag}")


def to_zstd_layout(image: BuiltImage, dest: Path) -> Path:
    """An OCI layout whose layers are re-compressed with zstd."""
    return _skopeo_copy(image, dest, f"oci:{{out}}:{image.tag}", "--dest-compress",
                        "--dest-compress-format", "zstd")


def to_uncompressed_layout(image: BuiltImage, dest: Path | None = None) -> Path:
    """An OCI layout with plain tar layers (`application/vnd.oci.image.layer.v1.tar`, digest = diff_id).

    skopeo keeps compression for `oci:` targets, so the gzip blobs are unpacked here. By default
    the layout lands beside the image (`oci-plain`), where the docker-save converters reuse it.
    """

    def build(out: Path) -> None:
        shutil.copytree(image.layout, out)
        index = json.loads((out / "index.json").read_text())
        desc = _tagged(index, image.tag)
        manifest = json.loads(blob_path(out, desc["digest"]).read_text())
        for layer in manifest["layers"]:
            packed = blob_path(out, layer["digest"])
            digest, size = _write_blob(out, gzip.open(packed))
            packed.unlink()
            layer.update(mediaType="application/vnd.oci.image.layer.v1.tar", digest=digest, size=size)
        blob_path(out, desc["digest"]).unlink()
        desc["digest"], desc["size"] = _write_blob(out, io.BytesIO(json.dumps(manifest).encode()))
        (out / "index.json").write_text(json.dumps(index))

    return cached(dest or image.layout.with_name("oci-plain"), build)


def _write_blob(layout: Path, stream: IO[bytes]) -> tuple[str, int]:
    tmp, digest, size = layout / "blobs" / "incoming", hashlib.sha256(), 0
    with stream, open(tmp, "wb") as out:
        while chunk := stream.read(1 << 20):
            digest.update(chunk)
            out.write(chunk)
            size += len(chunk)
    tmp.rename(layout / "blobs" / "sha256" / digest.hexdigest())
    return f"sha256:{digest.hexdigest()}", size


def manifest_of(layout: Path, tag: str = TAG) -> dict:
    """The image manifest an OCI layout tags `tag`."""
    desc = _tagged(json.loads((layout / "index.json").read_text()), tag)
    return json.loads(blob_path(layout, desc["digest"]).read_text())


def _tagged(index: dict, tag: str) -> dict:
    ref_key = "org.opencontainers.image.ref.name"
    return next(m for m in index["manifests"] if m.get("annotations", {}).get(ref_key) == tag)


def _layout_parts(layout: Path, tag: str) -> tuple[dict, dict, list[Path]]:
    desc = _tagged(json.loads((layout / "index.json").read_text()), tag)
    manifest = json.loads(blob_path(layout, desc["digest"]).read_text())
    config = json.loads(blob_path(layout, manifest["config"]["digest"]).read_text())
    return manifest, config, [blob_path(layout, layer["digest"]) for layer in manifest["layers"]]


def blob_path(layout: Path, digest: str) -> Path:
    """Where an OCI layout keeps the blob named `digest`."""
    algo, hexdigest = digest.split(":", 1)
    return layout / "blobs" / algo / hexdigest


def to_docker_save_classic(image: BuiltImage, dest: Path, name: str = "lashing-test/main") -> Path:
    """The classic `docker save` layout: `<id>/layer.tar`, `<id>/json`, `<config>.json`, repositories."""

    def build(out: Path) -> None:
        plain = to_uncompressed_layout(image)
        manifest, config, layers = _layout_parts(plain, image.tag)
        config_name = manifest["config"]["digest"].split(":")[1] + ".json"
        with tarfile.open(out, "w") as tar:
            parent, names = "", []
            for diff_id, blob in zip(config["rootfs"]["diff_ids"], layers, strict=True):
                layer_id = hashlib.sha256(f"{parent}\n{diff_id}".encode()).hexdigest()
                meta = {"id": layer_id, **({"parent": parent} if parent else {})}
                _add_bytes(tar, f"{layer_id}/VERSION", b"1.0")
                _add_bytes(tar, f"{layer_id}/json", json.dumps(meta).encode())
                tar.add(blob, arcname=f"{layer_id}/layer.tar")
                names.append(f"{layer_id}/layer.tar")
                parent = layer_id
            _add_bytes(tar, config_name, blob_path(plain, manifest["config"]["digest"]).read_bytes())
            entry = [{"Config": config_name, "RepoTags": [f"{name}:{image.tag}"], "Layers": names}]
            _add_bytes(tar, "manifest.json", json.dumps(entry).encode())
            _add_bytes(tar, "repositories", json.dumps({name: {image.tag: parent}}).encode())

    return cached(dest, build)


def to_docker_save_oci(image: BuiltImage, dest: Path, name: str = "lashing-test/main") -> Path:
    """Docker 25+'s `docker save`: an OCI layout (plain tar layers) plus manifest.json and repositories."""

    def build(out: Path) -> None:
        plain = to_uncompressed_layout(image)
        manifest, _, layers = _layout_parts(plain, image.tag)
        ref = f"docker.io/{name}:{image.tag}"
        index = json.loads((plain / "index.json").read_text())
        for desc in index["manifests"]:
            desc["annotations"] = {"io.containerd.image.name": ref, "org.opencontainers.image.ref.name": image.tag}
        entry = [{
            "Config": "blobs/sha256/" + manifest["config"]["digest"].split(":")[1],
            "RepoTags": [f"{name}:{image.tag}"],
            "Layers": [f"blobs/sha256/{blob.name}" for blob in layers],
        }]
        with tarfile.open(out, "w") as tar:
            tar.add(plain / "blobs", arcname="blobs")
            _add_bytes(tar, "index.json", json.dumps(index).encode())
            _add_bytes(tar, "manifest.json", json.dumps(entry).encode())
            _add_bytes(tar, "oci-layout", (plain / "oci-layout").read_bytes())
            _add_bytes(tar, "repositories", json.dumps({name: {image.tag: layers[-1].name}}).encode())

    return cached(dest, build)


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def scaled_image(image: BuiltImage, dest: Path, factor: int) -> Path:
    """An OCI layout whose layers are the image's layers repeated `factor` times (benchmarks).

    Each copy gets one marker file so its diff_id is new; the final filesystem is unchanged.
    """

    def build(out: Path) -> None:
        plain = to_uncompressed_layout(image)
        shutil.copytree(image.layout, out)
        _, _, layers = _layout_parts(plain, image.tag)
        tmp = out.with_name(out.name + ".layer.tar")
        for copy in range(1, factor):
            for i, blob in enumerate(layers):
                shutil.copyfile(blob, tmp)
                with tarfile.open(tmp, "a") as tar:
                    _add_bytes(tar, f".lashing-scale-{copy}-{i}", b"")
                run(["umoci", "raw", "add-layer", "--image", f"{out}:{image.tag}",
                     "--history.created_by", f"copy {copy} of layer {i}", tmp])
        tmp.unlink(missing_ok=True)

    return cached(dest, build)
