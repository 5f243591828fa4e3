"""Which VEX statement governs a vulnerability finding.

A statement applies when its vulnerability name or an alias equals the finding id or an alias
(case-insensitive) and one of its products applies:
- a product without subcomponents applies to the scanned image (a `pkg:oci` purl, image reference or hash
  whose digest is the report's manifest or config digest): then to every package; otherwise when one of its
  purls matches the finding's package purl;
- a product with subcomponents applies when one subcomponent purl matches the finding's package and the
  product itself is the scanned image or a package of the report.
Among applicable statements the latest timestamp wins; on a tie, the later one in the policy's list.
"""

from __future__ import annotations

from lashing.model import Finding, FindingKind, Report
from lashing.policy.interface import VexComponent, VexProduct, VexStatement
from lashing.policy.purl import PurlPattern, parse_purl


class VexMatcher:
    """Indexes statements by vulnerability name for one report."""

    def __init__(self, statements: tuple[VexStatement, ...], report: Report) -> None:
        self._by_name: dict[str, list[int]] = {}
        self._statements = statements
        for index, statement in enumerate(statements):
            for name in statement.names:
                self._by_name.setdefault(name, []).append(index)
        self._in_report: dict[VexComponent, bool] = {}
        if not statements:  # nothing to decide: skip reading every package's purl
            self._image_digests: set[str] = set()
            self._report_purls: list[PurlPattern] = []
            return
        artifact = report.artifact
        self._image_digests = {d.lower() for d in (artifact.digest, artifact.config_digest) if d}
        packages = [*report.packages, *(f.package for f in report.findings if f.package is not None)]
        self._report_purls = [p for p in {parse_purl(pkg.purl) for pkg in packages if pkg.purl} if p is not None]

    def decide(self, finding: Finding) -> VexStatement | None:
        """The governing statement for this finding, or None when no statement applies."""
        if finding.kind is not FindingKind.VULNERABILITY or not self._statements:
            return None
        indexes = {i for name in (finding.id, *finding.aliases) for i in self._by_name.get(name.upper(), ())}
        purl = parse_purl(finding.package.purl) if finding.package is not None and finding.package.purl else None
        applicable = [i for i in indexes if any(self._applies(p, purl) for p in self._statements[i].products)]
        if not applicable:
            return None
        return self._statements[max(applicable, key=lambda i: (self._statements[i].timestamp, i))]

    def _applies(self, product: VexProduct, purl: PurlPattern | None) -> bool:
        if product.subcomponents:
            if purl is None or not any(_covers(sub, purl) for sub in product.subcomponents):
                return False
            return self._is_image(product.component) or self._is_in_report(product.component)
        return self._is_image(product.component) or (purl is not None and _covers(product.component, purl))

    def _is_image(self, component: VexComponent) -> bool:
        return any(digest in self._image_digests for digest in component.digests)

    def _is_in_report(self, component: VexComponent) -> bool:
        if component not in self._in_report:
            self._in_report[component] = any(_covers(component, p) for p in self._report_purls)
        return self._in_report[component]


def _covers(component: VexComponent, purl: PurlPattern) -> bool:
    return any(pattern.matches(purl) for pattern in component.purls)
