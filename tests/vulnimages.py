"""Images and root filesystems with known-vulnerable packages, for the vulnerability matching tests.

Built with the field's own tools (mmdebstrap, dpkg's status format, pip, npm, rpmbuild + rpm, umoci) and
cached like tests/imagebuild.py (one build per session directory):

* `bullseye_rootfs`: a real Debian 11 minbase with packages that have a DSA history. Its versions are
  newer than every DSA in the corpus (2023-04), so it shows the backport case: same upstream version as
  the vulnerable one, Debian's fix in the revision.
* `old_bullseye_image`: an OCI image whose first layer is that rootfs and whose second layer rewrites
  `var/lib/dpkg/status` to the versions an image built from an older Debian 11 point release holds
  (versions bullseye shipped at 11.0, or the fixed version a DSA named: all real Debian 11 versions),
  then a pip layer and an npm layer with pinned old releases.
* `alma9_root`: a root with an rpm database (tiny rpmbuild packages named like AlmaLinux 9 packages
  with old EVRs, one with an epoch) and AlmaLinux 9's os-release.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from imagebuild import TAG, BuiltImage, _config, _npm_install, _repack, cached, run

SUITE = "bullseye"
INCLUDE = ("curl", "libgnutls30", "libxml2", "openssl", "sudo")
SITE_PACKAGES = "usr/local/lib/python3.9/site-packages"

# Source package -> an older real Debian 11 version (11.0 release, or a version a DSA names as fixed).
OLD_DEBIAN_11 = {
    "openssl": "1.1.1k-1",  # bullseye 11.0
    "curl": "7.74.0-1.3+deb11u2",  # fixed version of DSA-5197-1: that record must not match
    "libxml2": "2.9.10+dfsg-6.7+deb11u2",  # fixed version of DSA-5142-1
    "gnutls28": "3.7.1-5",  # bullseye 11.0
    "zlib": "1:1.2.11.dfsg-2",  # bullseye 11.0
    "sudo": "1.9.5p2-3",  # bullseye 11.0
    "gzip": "1.10-4",  # bullseye 11.0
    "krb5": "1.18.3-6",  # bullseye 11.0
    "xz-utils": "5.2.5-2",  # bullseye 11.0
}

PIP_PINS = (
    "requests==2.19.1", "urllib3==1.24.1", "Jinja2==2.10", "idna==2.7", "certifi==2018.8.24", "Django==3.2",
    "Flask==0.12", "Werkzeug==0.15.0", "sqlparse==0.4.1", "bleach==3.1.0", "py==1.10.0", "PyYAML==6.0.1",
    "aiohttp==3.8.4",  # covered by the withdrawn PYSEC-2022-43059 (introduced 0, no fix): must not match
)  # fmt: skip

# Two npm prefixes (one version per name each). nodejs-security-wg ranges: last_affected bounds (ms 0.7.0,
# ws 1.0.0, uglify-js 2.4.23, negotiator 0.6.0 exactly on them), unsorted events (hoek), two introduced
# pairs (jquery, serve-static), a version listed in `versions` only (bl 1.0.0), boundaries (lodash 4.17.15 =
# introduced of one record and above the fix of two others, hoek 5.0.3 = fixed).
NPM_APPS = {
    "srv/app1": ("lodash@4.17.4", "jquery@1.8.3", "hoek@4.2.0", "marked@0.3.5", "moment@2.11.1",
                 "handlebars@4.0.5", "send@0.10.1", "ms@0.7.0", "qs@0.6.6", "semver@4.3.1", "ws@1.0.0",
                 "uglify-js@2.4.23", "negotiator@0.6.0"),
    "srv/app2": ("bl@1.0.0", "lodash@4.17.15", "hoek@5.0.3", "serve-static@1.7.1"),
}  # fmt: skip

# AlmaLinux 9 binary packages with old EVRs (9.0-era releases; expat and openssl-libs sit exactly on the fix of
# one advisory); tar and vim-minimal carry an epoch.
RPMS = {
    "openssl-libs": ("1", "3.0.1", "41.el9_0"),
    "curl": (None, "7.76.1", "14.el9"),
    "libcurl": (None, "7.76.1", "14.el9"),
    "sudo": (None, "1.9.5p2", "7.el9"),
    "zlib": (None, "1.2.11", "31.el9"),
    "libxml2": (None, "2.9.13", "1.el9"),
    "tar": ("2", "1.34", "3.el9"),
    "vim-minimal": ("2", "8.2.2637", "15.el9"),
    "bash": (None, "5.1.8", "4.el9"),
    "less": (None, "590", "1.el9"),
    "expat": (None, "2.2.10", "12.el9_0.2"),
    "sqlite-libs": (None, "3.34.1", "5.el9"),
    "lash-not-in-alma": (None, "1.0", "1.el9"),
}

ALMA9_OS_RELEASE = """\
NAME="AlmaLinux"
VERSION="9.0 (Emerald Puma)"
ID="almalinux"
ID_LIKE="rhel centos fedora"
VERSION_ID="9.0"
PLATFORM_ID="platform:el9"
PRETTY_NAME="AlmaLinux 9.0 (Emerald Puma)"
"""


def bullseye_rootfs(base_dir: Path) -> Path:
    """Debian 11 minbase + INCLUDE (mmdebstrap, ~15 s).

    apt's download sandbox user is root here: on a host whose /dev/null is not a device node (seen on shared
    build machines) apt-key, run as `_apt`, cannot redirect to it and reports gpgv missing.
    """

    def build(dest: Path) -> None:
        run(
            [
                "mmdebstrap",
                "--quiet",
                "--variant=minbase",
                '--aptopt=APT::Sandbox::User "root"',
                f"--include={','.join(INCLUDE)}",
                SUITE,
                dest,
            ]
        )

    return cached(base_dir / f"vuln-debian-{SUITE}", build)


def _paragraphs(text: str) -> list[str]:
    return [p for p in re.split(r"\n\s*\n", text.strip("\n")) if p.strip()]


def _field(paragraph: str, name: str) -> str | None:
    match = re.search(rf"^{name}:[ \t]*(.*)$", paragraph, re.MULTILINE)
    return match.group(1).strip() if match else None


def downgrade_status(status: str, versions: dict[str, str]) -> tuple[str, dict[str, str]]:
    """`status` with every binary of a source in `versions` at the older version; (text, binary -> version).

    Only binaries built at their source's version are rewritten (a binNMU would need its own number);
    a chosen source without any such binary is an error.
    """
    out, changed = [], {}
    for para in _paragraphs(status):
        name, version, source = _field(para, "Package"), _field(para, "Version"), _field(para, "Source")
        src = (source or name or "").split(" (")[0]
        if src in versions and source is not None and "(" in source:
            raise ValueError(f"{name}: binNMU {source}, pick another package")
        if src in versions:
            para = re.sub(r"^Version:.*$", f"Version: {versions[src]}", para, count=1, flags=re.MULTILINE)
            changed[name] = versions[src]
            assert version != versions[src], name
        out.append(para)
    missing = set(versions) - {
        (_field(p, "Source") or _field(p, "Package") or "").split(" (")[0] for p in _paragraphs(status)
    }
    if missing:
        raise ValueError(f"not installed: {sorted(missing)}")
    return "\n\n".join(out) + "\n", changed


def pip_install(target: Path, pins: tuple[str, ...] = PIP_PINS) -> None:
    run(
        [
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--no-deps",
            "--no-compile",
            "--only-binary=:all:",
            "--target",
            target,
            *pins,
        ]
    )
    shutil.rmtree(target / "bin", ignore_errors=True)


def old_bullseye_image(base_dir: Path) -> BuiltImage:
    """Layers: 0 bullseye minbase, 1 older dpkg status, 2 pip pins, 3 npm apps (see the module docstring)."""
    rootfs = bullseye_rootfs(base_dir)
    created_by = (
        f"mmdebstrap --variant=minbase --include={','.join(INCLUDE)} {SUITE} /",
        "dpkg status of an older Debian 11 point release: "
        + " ".join(f"{k}={v}" for k, v in sorted(OLD_DEBIAN_11.items())),
        f"pip install --no-deps --target /{SITE_PACKAGES} {' '.join(PIP_PINS)}",
        "; ".join(f"npm install --prefix /{p} {' '.join(s)}" for p, s in NPM_APPS.items()),
    )

    def build(dest: Path) -> None:
        layout, bundle = dest / "oci", dest / "bundle"
        run(["umoci", "init", "--layout", layout])
        run(["umoci", "new", "--image", f"{layout}:{TAG}"])
        run(["umoci", "unpack", "--image", f"{layout}:{TAG}", bundle])
        root = bundle / "rootfs"
        shutil.rmtree(root)
        run(["cp", "-a", rootfs, root])
        _repack(layout, bundle, created_by[0])
        status = root / "var/lib/dpkg/status"
        status.write_text(downgrade_status(status.read_text(), OLD_DEBIAN_11)[0])
        _repack(layout, bundle, created_by[1])
        pip_install(root / SITE_PACKAGES)
        _repack(layout, bundle, created_by[2])
        for prefix, specs in NPM_APPS.items():
            _npm_install(root / prefix, specs)
        _repack(layout, bundle, created_by[3])
        _config(layout, 'CMD ["bash"]', "--config.cmd", "bash")
        run(["umoci", "gc", "--layout", layout])
        bundle.rename(dest / "final")  # repack --refresh-bundle kept it equal to the image's filesystem

    dest = cached(base_dir / "vuln-old-bullseye", build)
    return BuiltImage(dest / "oci", TAG, dest / "final" / "rootfs", created_by)


def _spec(name: str, epoch: str | None, version: str, release: str) -> str:
    return "\n".join([
        f"Name: {name}", f"Version: {version}", f"Release: {release}", *([f"Epoch: {epoch}"] if epoch else []),
        "Summary: stand-in named like an AlmaLinux 9 package", "License: MIT", "BuildArch: noarch",
        "%description", "test", "%files", "",
    ])  # fmt: skip


def alma9_root(base_dir: Path) -> Path:
    """A root filesystem with AlmaLinux 9's os-release and an rpm SQLite database holding RPMS."""

    def build(dest: Path) -> None:
        work = dest / "work"
        top = work / "top"
        work.mkdir(parents=True)
        for name, evr in RPMS.items():
            (work / f"{name}.spec").write_text(_spec(name, *evr))
            run(
                [
                    "rpmbuild",
                    "-bb",
                    "--quiet",
                    "--define",
                    f"_topdir {top}",
                    "--define",
                    "debug_package %{nil}",
                    work / f"{name}.spec",
                ]
            )
        rpms = sorted(top.glob("RPMS/*/*.rpm"))
        root = dest / "root"
        db = ["--root", root, "--dbpath", "/var/lib/rpm"]
        run(["rpm", *db, "--initdb"])
        run(["rpm", *db, "-i", "--nodeps", "--noscripts", "--justdb", "--ignorearch", "--ignoreos", *rpms])
        (root / "etc").mkdir(exist_ok=True)
        (root / "etc/os-release").write_text(ALMA9_OS_RELEASE)
        shutil.rmtree(work)

    return cached(base_dir / "vuln-alma9", build) / "root"
