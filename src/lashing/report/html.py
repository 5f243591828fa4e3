"""A self-contained HTML report: inline CSS, no scripts, no external assets; every value escaped.

Sections: the artifact, a summary by severity, findings grouped by kind then resource (or package / file),
the compliance view when the writer is given one (`HtmlFormat(compliance=..., framework=...)`), the image
references of a cluster scan when given (`images=`), and the warnings. Works for any Report.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from html import escape
from typing import IO, Any

from lashing.model import Finding, Report, Severity
from lashing.report.interface import ReportFormat

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem;color:#1f2328;background:#fff}
h1{font-size:1.5rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #d0d7de}h3{font-size:1rem}
table{border-collapse:collapse;width:100%;margin:.5rem 0 1rem}
th,td{border:1px solid #d0d7de;padding:.3rem .5rem;text-align:left;vertical-align:top;font-size:.9rem}
th{background:#f6f8fa}code{font-family:ui-monospace,monospace;font-size:.85rem;word-break:break-all}
.sev{font-weight:600;padding:0 .3rem;border-radius:3px;white-space:nowrap}
.CRITICAL{background:#8b0000;color:#fff}.HIGH{background:#d1242f;color:#fff}.MEDIUM{background:#bf8700;color:#fff}
.LOW{background:#0969da;color:#fff}.UNKNOWN{background:#6e7781;color:#fff}
.pass{color:#1a7f37;font-weight:600}.fail{color:#d1242f;font-weight:600}.manual{color:#6e7781;font-weight:600}
.muted{color:#6e7781}ul.warnings li{margin:.2rem 0}
"""


def esc(value: Any) -> str:
    """Text as HTML: `<`, `>`, `&` and both quotes escaped (safe in element content and attribute values)."""
    return escape("" if value is None else str(value), quote=True)


def _where(finding: Finding) -> str:
    loc = finding.location
    if loc is None:
        return ""
    text = loc.path + (f":{loc.line}" if loc.line else "")
    return text + (f" (layer {loc.layer_diff_id[:19]})" if loc.layer_diff_id else "")


def _group(finding: Finding) -> str:
    if finding.extra.get("resource"):
        return str(finding.extra["resource"])
    if finding.package is not None:
        return f"{finding.package.name} {finding.package.version}".strip()
    return finding.location.path if finding.location else "(no resource)"


def _sev(severity: Severity) -> str:
    return f'<span class="sev {esc(severity.name)}">{esc(severity.name)}</span>'


class HtmlFormat(ReportFormat):
    name = "html"
    description = "Self-contained HTML report (inline CSS, no JavaScript)"

    def __init__(self, compliance: Sequence[Any] | None = None, framework: str = "",
                 images: Mapping[str, Iterable[str]] | None = None) -> None:
        self.compliance = compliance
        self.framework = framework
        self.images = images

    def write(self, report: Report, stream: IO[str]) -> None:
        stream.write("".join(self.render(report)))

    def render(self, report: Report) -> Iterable[str]:
        art = report.artifact
        title = f"lashing report: {art.name}"
        yield ('<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
               '<meta name="viewport" content="width=device-width, initial-scale=1">'
               f"<title>{esc(title)}</title><style>{CSS}</style></head><body>\n")
        yield f"<h1>{esc(title)}</h1>\n"
        yield '<table class="artifact"><tbody>'
        rows = [("Artifact", art.name), ("Kind", art.kind), ("Digest", art.digest or ""),
                ("Operating system", f"{report.os.family} {report.os.version}".strip() if report.os else ""),
                ("Packages", str(len(report.packages)) if report.packages else ""),
                ("Generated", report.generated_at), ("lashing", report.tool_version)]
        for label, value in rows:
            if value:
                yield f"<tr><th>{esc(label)}</th><td><code>{esc(value)}</code></td></tr>"
        yield "</tbody></table>\n"
        yield from self._summary(report.findings)
        yield from self._findings(report.findings)
        if self.compliance is not None:
            yield from self._compliance(self.compliance)
        if self.images:
            yield from self._images(self.images)
        yield from self._warnings(report.warnings)
        yield "</body></html>\n"

    @staticmethod
    def _summary(findings: Sequence[Finding]) -> Iterable[str]:
        counts = {s: 0 for s in sorted(Severity, reverse=True)}
        for f in findings:
            counts[f.severity] += 1
        yield '<h2 id="summary">Summary</h2>\n<table class="summary"><thead><tr>'
        yield "".join(f"<th>{_sev(s)}</th>" for s in counts) + "<th>Total</th></tr></thead><tbody><tr>"
        yield "".join(f"<td>{n}</td>" for n in counts.values()) + f"<td>{len(findings)}</td></tr></tbody></table>\n"

    @staticmethod
    def _findings(findings: Sequence[Finding]) -> Iterable[str]:
        yield '<h2 id="findings">Findings</h2>\n'
        if not findings:
            yield '<p class="muted">No findings.</p>\n'
            return
        groups: dict[str, dict[str, list[Finding]]] = {}
        for f in findings:
            groups.setdefault(str(f.kind), {}).setdefault(_group(f), []).append(f)
        for kind in sorted(groups):
            yield f'<h3 class="kind">{esc(kind)} ({sum(len(v) for v in groups[kind].values())})</h3>\n'
            yield ('<table class="findings"><thead><tr><th>Resource</th><th>Severity</th><th>ID</th><th>Title</th>'
                   "<th>Location</th><th>Fix</th></tr></thead><tbody>\n")
            for resource in sorted(groups[kind]):
                items = sorted(groups[kind][resource], key=lambda f: (-f.severity, f.id))
                for index, f in enumerate(items):
                    head = (f'<td rowspan="{len(items)}"><code>{esc(resource)}</code></td>' if index == 0 else "")
                    fix = ", ".join(f.fixed_versions) or f.remediation
                    aliases = f'<br><span class="muted">{esc(", ".join(f.aliases[:8]))}</span>' if f.aliases else ""
                    yield (f"<tr>{head}<td>{_sev(f.severity)}</td><td><code>{esc(f.id)}</code>{aliases}</td>"
                           f"<td>{esc(f.title)}</td><td><code>{esc(_where(f))}</code></td><td>{esc(fix)}</td></tr>\n")
            yield "</tbody></table>\n"

    def _compliance(self, results: Sequence[Any]) -> Iterable[str]:
        counts: dict[str, int] = {}
        for r in results:
            counts[r.status] = counts.get(r.status, 0) + 1
        label = f" ({self.framework})" if self.framework else ""
        yield f'<h2 id="compliance">Compliance{esc(label)}</h2>\n<p>'
        yield ", ".join(f'<span class="{esc(k)}">{esc(k)}</span>: {v}' for k, v in sorted(counts.items()))
        yield ('</p>\n<table class="compliance"><thead><tr><th>Control</th><th>Status</th><th>Title</th>'
               "<th>Findings</th></tr></thead><tbody>\n")
        for r in results:
            ids = ", ".join(dict.fromkeys(f.id for f in r.findings)) or getattr(r, "reason", "")
            yield (f"<tr><td><code>{esc(r.id)}</code></td><td class=\"{esc(r.status)}\">{esc(r.status)}</td>"
                   f"<td>{esc(r.title)}</td><td>{esc(ids)}</td></tr>\n")
        yield "</tbody></table>\n"

    @staticmethod
    def _images(images: Mapping[str, Iterable[str]]) -> Iterable[str]:
        yield ('<h2 id="images">Images</h2>\n<table class="images"><thead><tr><th>Image</th><th>Workloads</th>'
               "</tr></thead><tbody>\n")
        for image, refs in sorted(images.items()):
            yield f"<tr><td><code>{esc(image)}</code></td><td>{esc(', '.join(refs))}</td></tr>\n"
        yield "</tbody></table>\n"

    @staticmethod
    def _warnings(warnings: Sequence[str]) -> Iterable[str]:
        if not warnings:
            return
        yield f'<h2 id="warnings">Warnings ({len(warnings)})</h2>\n<ul class="warnings">\n'
        yield "".join(f"<li>{esc(w)}</li>\n" for w in warnings)
        yield "</ul>\n"
