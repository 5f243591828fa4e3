"""End of security support per distro release: a release past its date gets no more fixes.

Dates are the end of the vendor's free security support (Debian: LTS end; Ubuntu: standard support,
not Pro/ESM; Alpine: end of the release branch; AlmaLinux/Rocky: end of security updates).
"""

from __future__ import annotations

import re
from datetime import date

from lashing.model import OSInfo

EOL: dict[str, dict[str, date]] = {
    "debian": {
        "6": date(2016, 2, 29), "7": date(2018, 5, 31), "8": date(2020, 6, 30), "9": date(2022, 6, 30),
        "10": date(2024, 6, 30), "11": date(2026, 8, 31), "12": date(2028, 6, 30), "13": date(2030, 6, 30),
    },
    "ubuntu": {
        "14.04": date(2019, 4, 30), "16.04": date(2021, 4, 30), "18.04": date(2023, 5, 31),
        "19.10": date(2020, 7, 17), "20.04": date(2025, 5, 31), "22.04": date(2027, 6, 1),
        "23.10": date(2024, 7, 11), "24.04": date(2029, 5, 31), "24.10": date(2025, 7, 10),
        "25.04": date(2026, 1, 15), "25.10": date(2026, 7, 9),
    },
    "alpine": {
        "3.3": date(2017, 11, 1), "3.4": date(2018, 5, 1), "3.5": date(2018, 11, 1), "3.6": date(2019, 5, 1),
        "3.7": date(2019, 11, 1), "3.8": date(2020, 5, 1), "3.9": date(2020, 11, 1), "3.10": date(2021, 5, 1),
        "3.11": date(2021, 11, 1), "3.12": date(2022, 5, 1), "3.13": date(2022, 11, 1), "3.14": date(2023, 5, 1),
        "3.15": date(2023, 11, 1), "3.16": date(2024, 5, 23), "3.17": date(2024, 11, 22),
        "3.18": date(2025, 5, 9), "3.19": date(2025, 11, 1), "3.20": date(2026, 4, 1), "3.21": date(2026, 11, 1),
        "3.22": date(2027, 5, 1), "3.23": date(2027, 11, 1),
    },
    "almalinux": {"8": date(2029, 3, 1), "9": date(2032, 5, 31), "10": date(2035, 5, 31)},
    "rocky": {"8": date(2029, 5, 31), "9": date(2032, 5, 31), "10": date(2035, 5, 31)},
}  # fmt: skip


def release_key(os_info: OSInfo) -> str:
    """The release as the table keys it: Debian major, Ubuntu YY.MM, Alpine X.Y, RHEL-family major."""
    version = os_info.version.strip().removeprefix("v")
    if os_info.family == "debian":
        from lashing.analyzers.vulns.ecosystems import DEBIAN_RELEASES

        named = DEBIAN_RELEASES.get(version.lower()) or DEBIAN_RELEASES.get(os_info.codename.lower())
        return named or version.split(".")[0]
    if os_info.family in ("ubuntu", "alpine"):
        match = re.match(r"(\d+\.\d+)", version)
        return match.group(1) if match else version
    return version.split(".")[0]


def end_of_life(os_info: OSInfo | None) -> date | None:
    if os_info is None:
        return None
    return EOL.get(os_info.family, {}).get(release_key(os_info))


def eol_warning(os_info: OSInfo | None, today: date | None = None) -> str:
    """A warning when the release is past its end of security support, else ""."""
    ended = end_of_life(os_info)
    today = today or date.today()
    if os_info is None or ended is None or ended >= today:
        return ""
    return (
        f"{os_info.family} {os_info.version} reached end of security support on {ended.isoformat()}: "
        "it receives no more fixes and unfixed vulnerabilities may be missing from its advisories"
    )
