"""The world outside the cluster as IP address ranges (IPv4 and IPv6).

An ipBlock (`cidr` minus `except`) becomes an `IPSet`; the outside world is split into the disjoint ranges
that every ipBlock of every policy either contains whole or misses whole (`partition`), so each range is one
peer of the reachability matrix.
"""

from __future__ import annotations

import bisect
import ipaddress
import itertools
from collections.abc import Iterable
from dataclasses import dataclass

from lashing.analyzers.cluster.netpol.ports import intersect, merge

TOP = {4: (1 << 32) - 1, 6: (1 << 128) - 1}
# Private, loopback, link-local, shared and reserved IPv4 space: what "the internet" is not.
NON_PUBLIC_V4 = ("0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
                 "192.168.0.0/16", "224.0.0.0/3")


@dataclass(frozen=True, order=True)
class IPRange:
    """An inclusive range of addresses of one IP version."""

    version: int
    lo: int
    hi: int

    def __str__(self) -> str:
        cls = ipaddress.IPv4Address if self.version == 4 else ipaddress.IPv6Address
        return f"{cls(self.lo)}-{cls(self.hi)}"

    @classmethod
    def parse(cls, text: str) -> IPRange:
        """`a.b.c.d-e.f.g.h` (netpol-analyzer's form), a CIDR or one address; ValueError if malformed."""
        if "-" in text:
            first, last = (ipaddress.ip_address(p.strip()) for p in text.split("-", 1))
            if first.version != last.version:
                raise ValueError(f"mixed IP versions: {text}")
            return cls(first.version, int(first), int(last))
        net = ipaddress.ip_network(text.strip(), strict=False)
        return cls(net.version, int(net.network_address), int(net.broadcast_address))

    def contains(self, address: int, version: int) -> bool:
        return version == self.version and self.lo <= address <= self.hi


@dataclass(frozen=True)
class IPSet:
    """A set of addresses: merged ranges per IP version."""

    v4: tuple[tuple[int, int], ...] = ()
    v6: tuple[tuple[int, int], ...] = ()

    @classmethod
    def universe(cls, versions: Iterable[int] = (4, 6)) -> IPSet:
        vs = set(versions)
        return cls(((0, TOP[4]),) if 4 in vs else (), ((0, TOP[6]),) if 6 in vs else ())

    @classmethod
    def from_cidrs(cls, cidrs: Iterable[str]) -> IPSet:
        out = cls()
        for cidr in cidrs:
            out = out | cls.of(IPRange.parse(cidr))
        return out

    @classmethod
    def of(cls, r: IPRange) -> IPSet:
        return cls(((r.lo, r.hi),), ()) if r.version == 4 else cls((), ((r.lo, r.hi),))

    @classmethod
    def block(cls, cidr: str, excepts: Iterable[str] = ()) -> IPSet:
        """An ipBlock; raises ValueError on a malformed CIDR."""
        return cls.of(IPRange.parse(cidr)) - cls.from_cidrs(excepts)

    def ranges(self, version: int) -> tuple[tuple[int, int], ...]:
        return self.v4 if version == 4 else self.v6

    def __bool__(self) -> bool:
        return bool(self.v4 or self.v6)

    def __or__(self, other: IPSet) -> IPSet:
        return IPSet(merge((*self.v4, *other.v4)), merge((*self.v6, *other.v6)))

    def __and__(self, other: IPSet) -> IPSet:
        return IPSet(intersect(self.v4, other.v4), intersect(self.v6, other.v6))

    def __sub__(self, other: IPSet) -> IPSet:
        return self & other.complement()

    def complement(self) -> IPSet:
        def comp(ranges: tuple[tuple[int, int], ...], top: int) -> tuple[tuple[int, int], ...]:
            out, start = [], 0
            for lo, hi in ranges:
                if lo > start:
                    out.append((start, lo - 1))
                start = hi + 1
            if start <= top:
                out.append((start, top))
            return tuple(out)

        return IPSet(comp(self.v4, TOP[4]), comp(self.v6, TOP[6]))

    def covers(self, r: IPRange) -> bool:
        """Whether the whole range is in the set."""
        ranges = self.ranges(r.version)
        index = bisect.bisect_right(ranges, (r.lo, TOP[6] + 1)) - 1
        return index >= 0 and ranges[index][0] <= r.lo and r.hi <= ranges[index][1]

    def overlaps(self, r: IPRange) -> bool:
        return any(lo <= r.hi and r.lo <= hi for lo, hi in self.ranges(r.version))

    def iter_ranges(self) -> list[IPRange]:
        return [IPRange(4, lo, hi) for lo, hi in self.v4] + [IPRange(6, lo, hi) for lo, hi in self.v6]

    def __str__(self) -> str:
        return ",".join(str(r) for r in self.iter_ranges()) or "no addresses"


def partition(blocks: Iterable[IPSet], versions: Iterable[int]) -> list[IPRange]:
    """Split the universe of `versions` at every boundary of `blocks`: each block covers a range whole or not at all."""
    cuts: dict[int, set[int]] = {v: {0, TOP[v] + 1} for v in versions}
    for block in blocks:
        for version, cut in cuts.items():
            for lo, hi in block.ranges(version):
                cut.update((lo, hi + 1))
    out = []
    for version, cut in sorted(cuts.items()):
        points = sorted(c for c in cut if 0 <= c <= TOP[version] + 1)
        out.extend(IPRange(version, a, b - 1) for a, b in itertools.pairwise(points))
    return out


PUBLIC_V4 = IPSet.universe((4,)) - IPSet.from_cidrs(NON_PUBLIC_V4)
