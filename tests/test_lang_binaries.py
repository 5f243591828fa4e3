"""Go and Rust binary catalogers on real executables.

Go: Debian's Go programs (GOPATH builds: stdlib and path only), a module program built here with
`go build` from a file:// module proxy (a dependency, a module replacement and a directory
replacement; plain, `-s -w` stripped, section headers removed, and a Windows PE), and esbuild
binaries from npm built by Go 1.16 (the old pointer format) and Go 1.19 (inline). The oracle is
`go version -m`.

Rust: cargo-auditable is not installable here (not in Debian bookworm, crates.io unreachable), so
the test links its `.dep-v0` section the way cargo-auditable does (a `#[used]` static in that
section, zlib-compressed JSON in its documented schema) into a real rustc-built path-dependency
workspace, and compares with `cargo metadata`'s resolve graph.
"""

from __future__ import annotations

import json
import os
import shutil
import tarfile
import zipfile
import zlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lashing.analyzers.inventory._binary import elf_section, elf_section_names, open_elf
from lashing.analyzers.inventory.golang import GoBinaryAnalyzer
from lashing.analyzers.inventory.rust import SECTION, RustAuditableAnalyzer, decompress
from lashing.model import PackageType
from test_lang_catalogers import analyze, catalog, run

# Debian's Go programs, and the go command itself (it holds the build-info magic as a constant too).
DEBIAN_GO = ("/usr/bin/skopeo", "/usr/bin/umoci", "/usr/bin/docker-registry", "/usr/lib/go/bin/go")
ESBUILD = ("esbuild-linux-64@0.8.57", "esbuild-linux-64@0.14.54")
GO_MAIN = """package main

import (
\t"fmt"

\t"example.com/lib1"
\t"example.net/lib3"
\t"example.org/lib2"
)

func main() { fmt.Println(lib1.Hello(), lib2.Hi(), lib3.Three()) }
"""
GO_MOD = """module example.com/app

go 1.19

require (
\texample.com/lib1 v1.2.3
\texample.org/lib2 v0.4.0
\texample.net/lib3 v0.1.0
)

replace example.com/lib1 v1.2.3 => ../lib1

replace example.net/lib3 => example.net/lib3fork v0.2.0
"""


def _proxy_module(proxy: Path, path: str, version: str, package: str, source: str) -> None:
    """Publish a module in the GOPROXY file layout (.info, .mod, .zip)."""
    where = proxy / path / "@v"
    where.mkdir(parents=True, exist_ok=True)
    mod = f"module {path}\n\ngo 1.19\n"
    (where / f"{version}.mod").write_text(mod)
    (where / f"{version}.info").write_text(json.dumps({"Version": version}))
    (where / "list").write_text(version + "\n")
    with zipfile.ZipFile(where / f"{version}.zip", "w") as archive:
        archive.writestr(f"{path}@{version}/go.mod", mod)
        archive.writestr(f"{path}@{version}/{package}.go", source)


def _go_env(base: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GO")}
    env.update(
        GOPATH=str(base / "gopath"),
        GOCACHE=str(base / "gocache"),
        GOPROXY=f"file://{base / 'proxy'}",
        GOSUMDB="off",
        GOFLAGS="-mod=mod",
        GOENV="off",
        GOTOOLCHAIN="local",
    )
    return env


@pytest.fixture(scope="session")
def go_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("go")
    root = base / "root"
    bin_dir = root / "usr/local/bin"
    bin_dir.mkdir(parents=True)
    lib2 = 'package lib2\n\nfunc Hi() string { return "2" }\n'
    _proxy_module(base / "proxy", "example.org/lib2", "v0.4.0", "lib2", lib2)
    lib3 = "package lib3\n\nfunc Three() int { return 3 }\n"
    _proxy_module(base / "proxy", "example.net/lib3fork", "v0.2.0", "lib3", lib3)
    (base / "proxy/example.net/lib3/@v").mkdir(parents=True)
    (base / "proxy/example.net/lib3/@v/v0.1.0.mod").write_text("module example.net/lib3\n\ngo 1.19\n")
    (base / "lib1").mkdir()
    (base / "lib1/go.mod").write_text("module example.com/lib1\n\ngo 1.19\n")
    (base / "lib1/lib1.go").write_text('package lib1\n\nfunc Hello() string { return "1" }\n')
    app = base / "app"
    app.mkdir()
    (app / "go.mod").write_text(GO_MOD)
    (app / "main.go").write_text(GO_MAIN)
    env = _go_env(base)
    run(["go", "build", "-o", bin_dir / "app", "."], cwd=app, env=env)
    run(["go", "build", "-ldflags=-s -w", "-o", bin_dir / "app-stripped", "."], cwd=app, env=env)
    run(["go", "build", "-o", root / "opt/win/app.exe", "."], cwd=app, env={**env, "GOOS": "windows"})
    # No section headers at all (as sstrip leaves a file): found by scanning, decoded the same. The
    # go command also holds the magic as a constant, which the scan must not take for the header.
    for source, target in (
        (bin_dir / "app", "app-nosections"),
        (Path(DEBIAN_GO[-1]).resolve(), "go-nosections"),
    ):
        data = bytearray(source.read_bytes())
        data[0x28:0x30] = bytes(8)  # e_shoff
        data[0x3C:0x40] = bytes(4)  # e_shnum, e_shstrndx
        (bin_dir / target).write_bytes(bytes(data))
        (bin_dir / target).chmod(0o755)
    packs = base / "packs"
    packs.mkdir()
    run(["npm", "pack", "--silent", "--pack-destination", packs, *ESBUILD], cwd=packs)
    for tgz in sorted(packs.glob("*.tgz")):
        with tarfile.open(tgz) as archive:
            archive.extractall(root / "srv/node" / tgz.stem, filter="tar")
    return root


def _go_version_m(path: Path) -> set[tuple[PackageType, str, str]]:
    """Expected packages from `go version -m`: replacements win unless they are directories."""
    lines = run(["go", "version", "-m", path]).splitlines()
    version = lines[0].rsplit(": ", 1)[1].split()[0]
    expected = {(PackageType.GO_STDLIB, "stdlib", version.removeprefix("go"))}
    modules: list[list[str]] = []
    for line in lines[1:]:
        fields = line.strip("\t").split("\t")
        if (fields[0] == "mod" and fields[2] != "(devel)") or fields[0] == "dep":
            modules.append(fields[1:3])
        elif fields[0] == "=>" and not fields[1].startswith((".", "/")):
            modules[-1] = fields[1:3]
    return expected | {(PackageType.GOLANG, path_, version_) for path_, version_ in modules}


def test_go_binaries_match_go_version_m(go_root: Path) -> None:
    packages, warnings = catalog(go_root, GoBinaryAnalyzer())
    assert warnings == ()
    by_file: dict[str, set] = {}
    for pkg in packages:
        by_file.setdefault(pkg.locations[0].path, set()).add((pkg.type, pkg.name, pkg.version))
    binaries = [p for p in go_root.rglob("*") if p.is_file() and os.access(p, os.X_OK)]
    assert len(binaries) == 7
    for binary in binaries:
        rel = str(binary.relative_to(go_root))
        assert by_file.get(rel) == _go_version_m(binary), rel
    app = by_file["usr/local/bin/app"]
    assert (PackageType.GOLANG, "example.net/lib3fork", "v0.2.0") in app  # module replacement wins
    assert (
        PackageType.GOLANG,
        "example.com/lib1",
        "v1.2.3",
    ) in app  # directory replacement keeps the require
    old = by_file["srv/node/esbuild-linux-64-0.8.57/package/bin/esbuild"]
    assert (PackageType.GO_STDLIB, "stdlib", "1.16") in old  # Go 1.16 pointer format


def test_go_package_details(go_root: Path) -> None:
    packages, _ = catalog(go_root, GoBinaryAnalyzer())
    app = {p.name: p for p in packages if p.locations[0].path == "usr/local/bin/app"}
    assert app["stdlib"].purl.startswith("pkg:golang/stdlib@v1.")
    assert app["example.org/lib2"].purl == "pkg:golang/example.org/lib2@v0.4.0"
    assert app["example.org/lib2"].extra["h1"].startswith("h1:")
    assert app["example.net/lib3fork"].extra["replaces"] == "example.net/lib3@v0.1.0"
    assert app["example.com/lib1"].extra["replaced_by"] == "../lib1"
    assert all(p.extra["main_module"] == "example.com/app" for p in app.values())
    assert "example.com/app" not in app  # "(devel)" main module is not a package


@pytest.mark.parametrize("binary", DEBIAN_GO)
def test_debian_go_programs(binary: str) -> None:
    path = Path(binary).resolve()
    result = analyze(GoBinaryAnalyzer(), binary.lstrip("/"), path.read_bytes(), mode=0o755)
    assert result is not None
    assert {(p.type, p.name, p.version) for p in result.packages} == _go_version_m(path)
    main_path = next(
        line for line in run(["go", "version", "-m", path]).splitlines() if line.startswith("\tpath")
    )
    assert all(p.extra["main_module"] == main_path.split("\t")[2] for p in result.packages)


# ---------------------------------------------------------------- Rust

LIBS = {"liba": ("0.3.1", ["libb"]), "libb": ("0.1.0", []), "buildhelper": ("0.1.0", [])}


def _crate(base: Path, name: str, version: str, deps: list[str], body: str) -> None:
    (base / name / "src").mkdir(parents=True)
    lines = [f'[package]\nname = "{name}"\nversion = "{version}"\nedition = "2021"\n\n[dependencies]']
    lines += [f'{dep} = {{ path = "../{dep}" }}' for dep in deps]
    (base / name / "Cargo.toml").write_text("\n".join(lines) + "\n")
    (base / name / "src/lib.rs").write_text(body)


def _auditable_json(metadata: dict) -> dict:
    """cargo-auditable's schema from `cargo metadata`: build-only packages get kind "build"."""
    resolve = metadata["resolve"]
    nodes = {n["id"]: n for n in resolve["nodes"]}
    names = {p["id"]: (p["name"], p["version"]) for p in metadata["packages"]}
    runtime, stack = set(), [resolve["root"]]
    while stack:
        node = stack.pop()
        if node not in runtime:
            runtime.add(node)
            stack += [d["pkg"] for d in nodes[node]["deps"] if any(k["kind"] is None for k in d["dep_kinds"])]
    order = sorted(nodes, key=lambda i: names[i])
    packages = []
    for node_id in order:
        entry = {"name": names[node_id][0], "version": names[node_id][1], "source": "local"}
        if node_id not in runtime:
            entry["kind"] = "build"
        deps = sorted(order.index(d) for d in nodes[node_id]["dependencies"])
        if deps:
            entry["dependencies"] = deps
        if node_id == resolve["root"]:
            entry["root"] = True
        packages.append(entry)
    return {"packages": packages}


@pytest.fixture(scope="session")
def rust_app(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    if shutil.which("cargo") is None:
        pytest.fail("cargo is required (rustup toolchain of the machine)")
    base = tmp_path_factory.mktemp("rust")
    for name, (version, deps) in LIBS.items():
        body = "pub fn add(a: u64, b: u64) -> u64 { a + b }\n" if name != "liba" else ""
        _crate(base, name, version, deps, body or "pub fn add(a: u64, b: u64) -> u64 { libb::add(a, b) }\n")
    app = base / "app"
    (app / "src").mkdir(parents=True)
    (app / "Cargo.toml").write_text(
        '[package]\nname = "app"\nversion = "1.4.0"\nedition = "2021"\n\n[dependencies]\n'
        'liba = { path = "../liba" }\n\n[build-dependencies]\nbuildhelper = { path = "../buildhelper" }\n'
    )
    (app / "build.rs").write_text(
        'fn main() { println!("cargo:rustc-env=SUM={}", buildhelper::add(1, 2)); }\n'
    )
    (app / "src/main.rs").write_text("fn main() {}\n")  # replaced once the section data is known
    env = {**os.environ, "CARGO_TARGET_DIR": str(base / "target")}
    metadata = json.loads(run(["cargo", "metadata", "--format-version", "1", "--offline"], cwd=app, env=env))
    blob = zlib.compress(json.dumps(_auditable_json(metadata)).encode(), 9)
    (app / "src/main.rs").write_text(
        '#[used]\n#[no_mangle]\n#[link_section = ".dep-v0"]\n'
        f"pub static AUDITABLE_VERSION_INFO: [u8; {len(blob)}] = {list(blob)};\n\n"
        "fn main() {\n    let info = std::hint::black_box(&AUDITABLE_VERSION_INFO);\n"
        '    println!("{} {} {}", liba::add(1, 2), env!("SUM"), info.len());\n}\n'
    )
    run(["cargo", "build", "--release", "--offline", "--quiet"], cwd=app, env=env)
    root = base / "root"
    (root / "usr/bin").mkdir(parents=True)
    shutil.copy2(base / "target/release/app", root / "usr/bin/app")
    shutil.copy2(base / "target/release/app", root / "usr/bin/app-stripped")
    run(["strip", root / "usr/bin/app-stripped"])
    return root, metadata


def test_rust_auditable_matches_cargo_metadata(rust_app: tuple[Path, dict]) -> None:
    root, metadata = rust_app
    runtime = {
        (p["name"], p["version"]) for p in metadata["packages"] if p["name"] != "buildhelper"
    }  # buildhelper is a build-dependency only: compiled into build.rs, not linked into the program
    packages, warnings = catalog(root, RustAuditableAnalyzer())
    assert warnings == ()
    for path in ("usr/bin/app", "usr/bin/app-stripped"):
        found = [p for p in packages if p.locations[0].path == path]
        assert {(p.name, p.version) for p in found} == runtime
        assert len(found) == len(runtime)
        app = next(p for p in found if p.name == "app")
        assert (app.extra["root"], app.purl, app.type) == ("true", "pkg:cargo/app@1.4.0", PackageType.CARGO)


def test_rust_corrupt_section_is_a_warning(rust_app: tuple[Path, dict]) -> None:
    root, _ = rust_app
    content = bytearray((root / "usr/bin/app").read_bytes())
    elf = open_elf(bytes(content))
    assert elf is not None
    section = elf.get_section_by_name(".dep-v0")
    start, size = section["sh_offset"], section["sh_size"]
    assert elf_section(elf, bytes(content), ".dep-v0") == bytes(content[start : start + size])
    content[start : start + size] = b"\x78\x9c" + b"\xee" * (size - 2)
    result = analyze(RustAuditableAnalyzer(), "usr/bin/app", bytes(content), mode=0o755)
    assert result is not None and not result.packages and result.warnings


# -- the section-name table read from the ELF headers (the rust cataloger's cheap test) ---------------


def section_names_by_pyelftools(content: bytes) -> set[str] | None:
    elf = open_elf(content)
    if elf is None:
        return None
    try:
        return {section.name for section in elf.iter_sections()}
    except Exception:  # malformed headers: pyelftools gives up, and so the cataloger
        return None


def real_elf_files() -> list[Path]:
    """Executables and shared libraries of this machine, 32/64-bit as installed, plus the Go programs."""
    found = [Path(p) for p in DEBIAN_GO if Path(p).is_file()]
    for folder in ("/usr/bin", "/usr/lib/x86_64-linux-gnu", "/usr/libexec"):
        for path in sorted(Path(folder).glob("*"))[:400]:
            if path.is_file() and not path.is_symlink() and path.stat().st_size < 64 * 1024 * 1024:
                with open(path, "rb") as handle:
                    if handle.read(4) == b"\x7fELF":
                        found.append(path)
    return found


def test_section_names_agree_with_pyelftools(rust_app: tuple[Path, dict]) -> None:
    """Every section pyelftools names is in the table (so a name missing from it is truly absent)."""
    root, _ = rust_app
    files = [root / "usr/bin/app", root / "usr/bin/app-stripped", *real_elf_files()]
    assert len(files) > 100
    read = 0
    for path in files:
        content = path.read_bytes()
        names, reference = elf_section_names(content), section_names_by_pyelftools(content)
        if names is None:
            continue
        read += 1
        assert reference is not None, path
        assert all(name.encode() + b"\0" in names for name in reference if name), path
        assert (b".dep-v0\0" in names) == (".dep-v0" in reference), path
    assert read > 0.9 * len(files)  # plain headers are the rule, the fallback the exception
    assert b".dep-v0\0" in elf_section_names((root / "usr/bin/app").read_bytes())


@pytest.mark.parametrize(
    "content",
    [b"", b"\x7fELF", b"MZ" + bytes(200), b"\x7fELF\x03\x01" + bytes(100), b"\x7fELF\x02\x03" + bytes(100)],
    ids=["empty", "magic-only", "pe", "bad-class", "bad-order"],
)
def test_section_names_refuse_what_is_not_plain_elf(content: bytes) -> None:
    assert elf_section_names(content) is None


def outcome(answer):  # type: ignore[no-untyped-def]
    """What a cataloger call gives, or the class of what it raises (pyelftools lets some errors through on
    damaged headers, such as OverflowError; the walk turns them into warnings)."""

    def call(content: bytes) -> tuple | None:
        try:
            return answer(content)
        except Exception as exc:
            return ("raised", type(exc).__name__)

    return call


@outcome
def old_rust_verdict(content: bytes) -> tuple | None:
    """The cataloger's answer before the header shortcut: scan for the name, then pyelftools."""
    if SECTION.encode() not in content:
        return None
    elf = open_elf(content)
    blob = elf_section(elf, content, SECTION) if elf is not None else None
    return None if blob is None else ("section", decompress(blob))


@outcome
def verdict(content: bytes) -> tuple | None:
    result = analyze(RustAuditableAnalyzer(), "usr/bin/app", content, mode=0o755)
    if result is None:
        return None
    elf = open_elf(content)
    return ("section", decompress(elf_section(elf, content, SECTION)))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_rust_shortcut_answers_as_before_on_damaged_headers(rust_app: tuple[Path, dict], data) -> None:
    """Bytes of the ELF header, the section header table and the name table overwritten at random: the
    cataloger finds the section exactly when the old scan-then-parse path did."""
    root, _ = rust_app
    original = (root / "usr/bin/app").read_bytes()
    elf = open_elf(original)
    shoff, entsize, shnum = elf["e_shoff"], elf["e_shentsize"], elf["e_shnum"]
    table = elf.get_section(elf["e_shstrndx"])
    regions = [(0, 64), (shoff, shoff + entsize * shnum), (table["sh_offset"], table["sh_offset"] + table["sh_size"])]
    content = bytearray(original)
    for _ in range(data.draw(st.integers(1, 4))):
        start, end = data.draw(st.sampled_from(regions))
        at = data.draw(st.integers(start, end - 1))
        content[at] = data.draw(st.integers(0, 255))
    damaged = bytes(content[: data.draw(st.sampled_from([len(content), shoff + entsize * shnum - 1, 4096]))])
    assert verdict(damaged) == old_rust_verdict(damaged)


def test_rust_shortcut_answers_as_before_on_a_cut_name_table(rust_app: tuple[Path, dict]) -> None:
    """The name table declared shorter, so that `.dep-v0` is cut or left after its end: pyelftools still reads
    the name from the bytes that follow, and the shortcut must not claim the section is absent."""
    root, _ = rust_app
    original = (root / "usr/bin/app").read_bytes()
    elf = open_elf(original)
    header = elf["e_shoff"] + elf["e_shstrndx"] * elf["e_shentsize"]
    table = elf.get_section(elf["e_shstrndx"])
    name_at = original.index(b".dep-v0\0", table["sh_offset"]) - table["sh_offset"]
    assert elf["e_ident"]["EI_CLASS"] == "ELFCLASS64" and elf.little_endian
    for size in range(name_at - 2, name_at + 10):
        content = bytearray(original)
        content[header + 0x20 : header + 0x28] = size.to_bytes(8, "little")
        assert verdict(bytes(content)) == old_rust_verdict(bytes(content)) == ("section", decompress(
            elf_section(elf, original, SECTION)
        )), size
