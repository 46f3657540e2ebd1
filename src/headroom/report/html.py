"""``index.html``: one self-contained file (inline CSS and SVG, no script, no network)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.template import Context, Engine
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

TEMPLATES = Path(__file__).with_name("templates")
WIDTH, HEIGHT = 380, 210
LEFT, RIGHT, TOP, BOTTOM = 48, 12, 14, 30


def _scale(values: list[float], lo: float, hi: float, size: float, flip: bool) -> list[float]:
    span = (hi - lo) or 1.0
    if flip:
        return [TOP + size - (v - lo) / span * size for v in values]
    return [LEFT + (v - lo) / span * size for v in values]


def line_chart(
    xs: list[int],
    series: list[tuple[str, str, list[float]]],
    *,
    y_label: str,
    threshold: float | None = None,
) -> SafeString:
    """An SVG line chart; x is concurrency (evenly spaced steps), y starts at 0."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    top_value = max([v for _, _, values in series for v in values] + [threshold or 0.0, 1.0])
    y_max = top_value * 1.1
    positions = list(range(len(xs)))
    px = _scale([float(p) for p in positions], 0, max(len(xs) - 1, 1), plot_w, flip=False)
    parts: list[str] = []
    for tick in range(5):
        value = y_max * tick / 4
        y = _scale([value], 0, y_max, plot_h, flip=True)[0]
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>'
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" class="axis" text-anchor="end">'
            f"{value:.0f}</text>"
        )
    for x, users in zip(px, xs, strict=True):
        parts.append(
            f'<text x="{x:.1f}" y="{HEIGHT - BOTTOM + 16}" class="axis" '
            f'text-anchor="middle">{users}</text>'
        )
    if threshold is not None:
        y = _scale([threshold], 0, y_max, plot_h, flip=True)[0]
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" class="slo"/>'
            f'<text x="{WIDTH - RIGHT}" y="{y - 4:.1f}" class="slo-label" text-anchor="end">'
            f"SLO {threshold:.0f} ms</text>"
        )
    for label, css, values in series:
        ys = _scale(values, 0, y_max, plot_h, flip=True)
        points = " ".join(f"{x:.1f},{y:.1f}" for x, y in zip(px, ys, strict=False))
        parts.append(f'<polyline points="{points}" class="{css}"><title>{label}</title></polyline>')
        parts += [
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" class="{css}-dot">'
            f"<title>{label}: {v:.1f}</title></circle>"
            for x, y, v in zip(px, ys, values, strict=False)
        ]
    parts.append(
        f'<text x="{LEFT + plot_w / 2:.1f}" y="{HEIGHT - 2}" class="axis" '
        f'text-anchor="middle">concurrent users</text>'
        f'<text x="12" y="{TOP + plot_h / 2:.1f}" class="axis" text-anchor="middle" '
        f'transform="rotate(-90 12 {TOP + plot_h / 2:.1f})">{y_label}</text>'
    )
    legend = "".join(
        f'<tspan class="{css}-text" dx="10">&#9632; {label}</tspan>' for label, css, _ in series
    )
    parts.append(f'<text x="{LEFT}" y="{TOP - 2}" class="legend">{legend}</text>')
    svg = (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="{WIDTH}" height="{HEIGHT}" role="img">{"".join(parts)}</svg>'
    )
    return mark_safe(svg)


def charts(report: dict[str, Any]) -> list[dict[str, Any]]:
    """A latency-vs-concurrency chart per load target (URL pattern and method)."""
    steps = report["steps"]
    users = [s["users"] for s in steps]
    slo = report["headroom"]["slo_p95_ms"]
    out = [
        {
            "title": "All requests",
            "svg": line_chart(
                users,
                [("requests/s", "rps", [s["rps"] for s in steps])],
                y_label="requests / s",
            ),
            "note": "throughput",
        }
    ]
    names = sorted({name for s in steps for name in s["targets"]})
    for name in names:
        rows = [s["targets"].get(name) for s in steps]
        p50 = [r["p50_ms"] if r else 0.0 for r in rows]
        p95 = [r["p95_ms"] if r else 0.0 for r in rows]
        broken = [s["users"] for s in steps if name in (s.get("broken_targets") or [])]
        out.append(
            {
                "title": name,
                "svg": line_chart(
                    users,
                    [("p50", "p50", p50), ("p95", "p95", p95)],
                    y_label="ms",
                    threshold=slo,
                ),
                "note": f"broke the SLO at {broken[0]} users" if broken else "",
            }
        )
    return out


def _evidence_rows(evidence: dict[str, Any]) -> SafeString:
    def show(value: Any) -> str:
        if isinstance(value, (dict, list)):
            return json.dumps(value, indent=2, default=str)
        return str(value)

    skip = {"plan", "plan_with_index", "sql"}
    return format_html_join(
        "",
        "<tr><th>{}</th><td><pre>{}</pre></td></tr>",
        ((key, show(value)) for key, value in evidence.items() if key not in skip),
    )


def render(report: dict[str, Any]) -> str:
    engine = Engine(dirs=[str(TEMPLATES)], autoescape=True)
    template = engine.get_template("headroom/report.html")
    findings = []
    for finding in report["findings"]:
        evidence = finding.get("evidence") or {}
        findings.append(
            {
                **finding,
                "evidence_rows": _evidence_rows(evidence),
                "sql": evidence.get("sql"),
                "plan": "\n".join(evidence.get("plan") or []),
                "plan_with_index": "\n".join(evidence.get("plan_with_index") or []),
                "where": _where(finding),
            }
        )
    css = (TEMPLATES / "headroom" / "report.css").read_text()
    return template.render(
        Context(
            {
                "report": report,
                "head": report["headroom"],
                "findings": findings,
                "charts": charts(report),
                "css": mark_safe(css),
            }
        )
    )


def _where(finding: dict[str, Any]) -> SafeString:
    loc = finding.get("location")
    if not loc:
        return format_html("")
    text = f"{loc['file']}:{loc['line']}"
    if loc.get("template"):
        return format_html(
            "<code>{}:{}</code> (rendered from <code>{}</code>)",
            loc["template"],
            loc["template_line"],
            text,
        )
    return format_html("<code>{}</code>", text)
