"""RHEL-family module streams: advisories for `.module_el8` builds judge only packages installed from a module
stream (rpm's MODULARITYLABEL), the others only non-modular packages."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

from lashing.analyzers.vulns.matcher import Matcher
from lashing.db import AdvisoryStore
from lashing.db.store import DB_NAME
from lashing.db.update import update
from lashing.model import OSInfo, Package, PackageType


def _record(rid: str, fixed: str) -> dict:
    return {
        "id": rid, "modified": "2024-01-01T00:00:00Z", "upstream": [f"CVE-2099-{rid[-4:]}"],
        "affected": [{"package": {"ecosystem": "AlmaLinux:8", "name": "perl-IO"},
                      "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": fixed}]}]}],
    }  # fmt: skip


def test_module_builds_and_plain_builds_are_judged_apart(tmp_path: Path) -> None:
    mirror = tmp_path / "mirror" / "AlmaLinux"
    mirror.mkdir(parents=True)
    with zipfile.ZipFile(mirror / "all.zip", "w") as zf:
        zf.writestr("a.json", json.dumps(_record("ALSA-2099:0001", "1.38-2.el8_9")))
        zf.writestr("b.json", json.dumps(_record("ALSA-2099:0002", "1.38-3.module_el8.9.0+3701+5e3f2a14")))
    update(mirror=str(tmp_path / "mirror"), cache=tmp_path / "cache")
    plain = Package(name="perl-IO", version="1.38-1.el8", type=PackageType.RPM)
    modular = Package(name="perl-IO", version="1.38-1.module_el8.9.0+3700+aaaa", type=PackageType.RPM,
                      extra={"modularitylabel": "perl:5.32:8090020231012:9fe1d287"})
    with AdvisoryStore.open(tmp_path / "cache" / DB_NAME) as store:
        matcher = Matcher(store, OSInfo(family="almalinux", version="8.9"))
        records = {pkg.extra.get("modularitylabel", "plain"): {f.extra["records"] for f in matcher.findings([pkg])}
                   for pkg in (plain, modular)}
    assert records == {"plain": {"ALSA-2099:0001"}, "perl:5.32:8090020231012:9fe1d287": {"ALSA-2099:0002"}}
