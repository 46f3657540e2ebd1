"""``report.json``: the doctor's findings and figures in a documented schema (docs/report.md)."""

from __future__ import annotations

import datetime
import json
from pathlib import Path
from typing import Any

from headroom import __version__
from headroom.doctor.discover import Target
from headroom.doctor.findings import KINDS, Finding

SCHEMA = "headroom-report/1"


def build(
    *,
    headline: dict[str, Any],
    steps: list[dict[str, Any]],
    routes: list[dict[str, Any]],
    targets: list[Target],
    findings: list[Finding],
    meta: dict[str, Any],
) -> dict[str, Any]:
    return {
        "schema": SCHEMA,
        "generator": f"django-headroom {__version__}",
        "generated_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "headroom": headline,
        "findings": [f.to_dict() for f in findings],
        "steps": steps,
        "routes": sorted(routes, key=lambda r: r["url_pattern"]),
        "targets": [
            {
                "name": t.name,
                "method": t.method,
                "url_pattern": t.url_pattern,
                "paths": t.paths,
                "weight": t.weight,
                "user": t.user,
                "view": t.view,
            }
            for t in targets
        ],
        "kinds": KINDS,
        "meta": meta,
    }


def write(report: dict[str, Any], directory: Path) -> tuple[Path, Path]:
    """Write ``report.json`` and ``index.html`` into ``directory``; return both paths."""
    from headroom.report.html import render

    directory.mkdir(parents=True, exist_ok=True)
    json_path = directory / "report.json"
    json_path.write_text(json.dumps(report, indent=2, default=str) + "\n")
    html_path = directory / "index.html"
    html_path.write_text(render(report))
    return json_path, html_path
