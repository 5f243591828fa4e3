"""Sets of connections: port ranges per protocol, printed as netpol-analyzer prints them.

A `Ports` value is immutable and canonical (sorted, merged ranges), so two equal sets compare equal.
`Ports.all()` is "All Connections": every port of TCP, UDP and SCTP.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

PROTOCOLS = ("SCTP", "TCP", "UDP")  # netpol-analyzer's print order (alphabetical)
MIN_PORT, MAX_PORT = 1, 65535
Ranges = tuple[tuple[int, int], ...]
_ALL = tuple((p, ((MIN_PORT, MAX_PORT),)) for p in PROTOCOLS)


def merge(ranges: Iterable[tuple[int, int]]) -> Ranges:
    """Sorted, merged, non-overlapping ranges (adjacent ranges are joined)."""
    out: list[list[int]] = []
    for lo, hi in sorted(r for r in ranges if r[0] <= r[1]):
        if out and lo <= out[-1][1] + 1:
            out[-1][1] = max(out[-1][1], hi)
        else:
            out.append([lo, hi])
    return tuple((lo, hi) for lo, hi in out)


def intersect(a: Ranges, b: Ranges) -> Ranges:
    out = []
    i = j = 0
    while i < len(a) and j < len(b):
        lo, hi = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if lo <= hi:
            out.append((lo, hi))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return tuple(out)


@dataclass(frozen=True)
class Ports:
    """Allowed ports per protocol: `by_protocol` holds only protocols with at least one port."""

    by_protocol: tuple[tuple[str, Ranges], ...] = ()

    @classmethod
    def none(cls) -> Ports:
        return cls()

    @classmethod
    def all(cls) -> Ports:
        return cls(_ALL)

    @classmethod
    def of(cls, protocol: str, lo: int = MIN_PORT, hi: int | None = None) -> Ports:
        """One protocol's port range (`hi` defaults to `lo`; no port at all means every port)."""
        hi = lo if hi is None else hi
        return cls.from_dict({protocol.upper(): ((max(lo, MIN_PORT), min(hi, MAX_PORT)),)})

    @classmethod
    def from_dict(cls, ranges: dict[str, Iterable[tuple[int, int]]]) -> Ports:
        items = []
        for proto in sorted(ranges):
            merged = merge(ranges[proto])
            if merged:
                items.append((proto, merged))
        return cls(tuple(items))

    def as_dict(self) -> dict[str, Ranges]:
        return dict(self.by_protocol)

    def __bool__(self) -> bool:
        return bool(self.by_protocol)

    def __or__(self, other: Ports) -> Ports:
        if not other:
            return self
        if not self:
            return other
        joined: dict[str, list[tuple[int, int]]] = {}
        for proto, ranges in (*self.by_protocol, *other.by_protocol):
            joined.setdefault(proto, []).extend(ranges)
        return Ports.from_dict(joined)

    def __and__(self, other: Ports) -> Ports:
        if self is other or other.is_all:
            return self
        if self.is_all:
            return other
        mine, theirs = self.as_dict(), other.as_dict()
        return Ports.from_dict({p: intersect(mine[p], theirs[p]) for p in mine.keys() & theirs.keys()})

    @property
    def is_all(self) -> bool:
        return self.by_protocol == _ALL

    def allows(self, port: int | None, protocol: str = "TCP") -> bool:
        """Whether `port` (any port when None) of `protocol` is in the set."""
        ranges = self.as_dict().get(protocol.upper(), ())
        if port is None:
            return bool(ranges)
        return any(lo <= port <= hi for lo, hi in ranges)

    def __str__(self) -> str:
        if self.is_all:
            return "All Connections"
        if not self:
            return "No Connections"
        parts = []
        for proto, ranges in self.by_protocol:
            parts.append(proto + " " + ",".join(str(lo) if lo == hi else f"{lo}-{hi}" for lo, hi in ranges))
        return ",".join(parts)

    def to_json(self) -> dict[str, list[str]] | str:
        if self.is_all:
            return "All Connections"
        return {proto: [str(lo) if lo == hi else f"{lo}-{hi}" for lo, hi in ranges]
                for proto, ranges in self.by_protocol}

    @classmethod
    def parse(cls, text: str) -> Ports:
        """Read netpol-analyzer's text ("All Connections", "TCP 80,8080-8090,UDP 53"); ValueError if malformed."""
        text = text.strip()
        if text == "All Connections":
            return cls.all()
        if text in ("", "No Connections"):
            return cls.none()
        ranges: dict[str, list[tuple[int, int]]] = {}
        proto = None
        for token in text.split(","):
            token = token.strip()
            if " " in token:
                proto, token = token.split(None, 1)
                proto = proto.upper()
            if proto is None:
                raise ValueError(f"port without protocol: {text!r}")
            lo, _, hi = token.partition("-")
            ranges.setdefault(proto, []).append((int(lo), int(hi or lo)))
        return cls.from_dict(ranges)
