"""``headroom doctor``: the main job."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from headroom.cli import EXIT_FAILED, EXIT_FOUND, EXIT_OK, UsageError, Verb, verb

DESCRIPTION = """\
Serve the project with gunicorn (the probe in capture mode), load it with Locust at
1, 2, 4, ... concurrent users until the p95 SLO breaks, errors rise or throughput stops
growing, then join what the client saw with what the server recorded and report where
the site will fall over, and why: N+1 queries, missing indexes, blocking outbound calls,
synchronous email, tiny streaming chunks, and the settings and migrations that hurt.

What to load comes from HEADROOM["SCENARIOS"], else /sitemap.xml, else a crawl from /.
Options default to the HEADROOM setting (SLO_P95_MS, MAX_USERS, STEP_SECONDS, ...).

Writes headroom-report/index.html and headroom-report/report.json.

Exit codes: 0 no error-level findings, 1 error-level findings, 2 bad usage,
3 the doctor could not run (the server did not start, Locust failed)."""


def add_doctor_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--slo-ms", type=float, help="p95 latency objective in ms (default 500).")
    parser.add_argument("--max-users", type=int, help="largest concurrency step (default 64).")
    parser.add_argument("--step-seconds", type=float, help="length of each step (default 10).")
    parser.add_argument("--workers", type=int, help="gunicorn workers (default 2 x cores + 1).")
    parser.add_argument("--threads", type=int, help="threads per gunicorn worker (default 1).")
    parser.add_argument("--report-dir", type=Path, help="where to write the report.")
    parser.add_argument(
        "--load-processes",
        type=int,
        help="Locust processes generating the load, one core each (default 1).",
    )
    parser.add_argument(
        "--no-index-proof",
        action="store_true",
        help="do not build candidate indexes in a rolled-back transaction to prove them.",
    )
    parser.add_argument(
        "--json", action="store_true", help="print report.json to stdout instead of a summary."
    )


def options_from_args(args: argparse.Namespace, **extra: Any) -> Any:
    from headroom.doctor.run import DoctorOptions

    for name in ("slo_ms", "max_users", "step_seconds", "workers", "threads", "load_processes"):
        value = getattr(args, name, None)
        if value is not None and value <= 0:
            raise UsageError(f"--{name.replace('_', '-')} must be greater than 0, got {value}.")
    return DoctorOptions.from_conf(
        slo_p95_ms=args.slo_ms,
        max_users=args.max_users,
        step_seconds=args.step_seconds,
        workers=args.workers,
        threads=args.threads,
        load_processes=args.load_processes,
        report_dir=args.report_dir,
        prove_indexes=not args.no_index_proof,
        show_progress=not args.json and sys.stderr.isatty(),
        **extra,
    )


def run_and_print(options: Any, *, as_json: bool) -> dict[str, Any] | None:
    """Run the doctor and print its summary; None when it could not run (already reported)."""
    from rich.console import Console

    from headroom.doctor.load import LoadError
    from headroom.doctor.run import run_doctor
    from headroom.doctor.serve import ServerError
    from headroom.report import terminal

    try:
        report = run_doctor(options)
    except (ServerError, LoadError) as exc:
        print(f"headroom doctor: could not run: {exc}", file=sys.stderr)
        return None
    if as_json:
        print(json.dumps(report, indent=2, default=str))
    else:
        console = Console()
        terminal.render(report, console)
        console.print(
            f"\nReport: [bold]{options.report_dir / 'index.html'}[/] (and report.json beside it)"
        )
    return report


@verb
class DoctorVerb(Verb):
    name = "doctor"
    help = "Load the site step by step and report where it falls over, and why."
    description = DESCRIPTION

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        add_doctor_arguments(parser)

    def run(self, args: argparse.Namespace) -> int:
        report = run_and_print(options_from_args(args), as_json=args.json)
        if report is None:
            return EXIT_FAILED
        errors = [f for f in report["findings"] if f["severity"] == "error"]
        return EXIT_FOUND if errors else EXIT_OK
