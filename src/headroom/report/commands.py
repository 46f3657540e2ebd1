"""``headroom compare OLD.json NEW.json``: fail CI when the site lost headroom."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from headroom.cli import EXIT_FOUND, EXIT_OK, UsageError, Verb, verb

DESCRIPTION = """\
Compare two reports written by `headroom doctor` (report.json) for the same project:
requests/s sustained within the SLO, what breaks first, each target's p95 at the largest
concurrency both runs reached, and the findings that are new or gone.

Exit codes: 0 no regression, 1 a regression (requests/s within the SLO fell by more
than --max-rps-drop, or a new error-level finding), 2 bad usage."""


def _load(path: Path) -> dict[str, Any]:
    try:
        data: dict[str, Any] = json.loads(path.read_text())
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from exc
    except ValueError as exc:
        raise UsageError(f"{path} is not JSON: {exc}") from exc
    if not str(data.get("schema", "")).startswith("headroom-report/"):
        raise UsageError(f"{path} is not a headroom doctor report (no 'schema' key).")
    return data


@verb
class CompareVerb(Verb):
    name = "compare"
    help = "Compare two doctor reports; exit 1 on a regression (a CI gate)."
    description = DESCRIPTION
    needs_django = False

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("old", type=Path, help="the baseline report.json")
        parser.add_argument("new", type=Path, help="the report.json to judge")
        parser.add_argument(
            "--max-rps-drop",
            type=float,
            default=10.0,
            help="percent of requests/s within the SLO the new run may lose (default 10).",
        )
        parser.add_argument("--json", action="store_true", help="print the comparison as JSON.")

    def run(self, args: argparse.Namespace) -> int:
        from headroom.report.compare import compare, render_text

        if not 0 <= args.max_rps_drop <= 100:
            raise UsageError("--max-rps-drop is a percentage between 0 and 100.")
        allowed = args.max_rps_drop / 100.0
        result = compare(_load(args.old), _load(args.new))
        if args.json:
            print(json.dumps(result.to_dict(allowed), indent=2, default=str))
        else:
            print(render_text(result, allowed))
        return EXIT_FOUND if result.regressed(allowed) else EXIT_OK
