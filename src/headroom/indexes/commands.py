"""``headroom indexes``: proven index advice and the index inventory."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from headroom.cli import EXIT_FAILED, EXIT_FOUND, EXIT_OK, UsageError, Verb, verb

DESCRIPTION = """\
Advise the indexes your workload is missing, proven by the database's planner, as the
Django change to make (the Meta.indexes line and an AddIndexConcurrently migration); and
list the indexes that cost writes without serving reads (unused, duplicate, invalid),
mapped to the model field or Meta.indexes entry that declares them.

Where the statements come from (all that apply are merged):
  --spool DIR        the probe's capture records (default: HEADROOM["SPOOL_DIR"] or the
                     last doctor run's headroom-report/run/spool, when present);
  pg_stat_statements on PostgreSQL, when the extension is installed;
  --slow-log FILE    a PostgreSQL log written with log_min_duration_statement.

Proof: hypopg on PostgreSQL (hypothetical indexes, nothing built); without it, with
--allow-build on a non-production database, a real index built in a transaction that is
rolled back; on SQLite, real indexes on a copy of the database file.

Exit codes: 0 nothing proven missing, 1 --fail-on-missing and an index is proven missing
(or --fail-on-unused and the inventory found one), 2 bad usage, 3 could not run."""


@verb
class IndexesVerb(Verb):
    name = "indexes"
    help = "Advise proven missing indexes and list unused / duplicate / invalid ones."
    description = DESCRIPTION

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--database", default="default", help="database alias.")
        parser.add_argument(
            "--spool", type=Path, action="append", default=[], help="capture records (dir)."
        )
        parser.add_argument(
            "--slow-log", type=Path, action="append", default=[], help="PostgreSQL log file."
        )
        parser.add_argument(
            "--no-pg-stat-statements",
            action="store_true",
            help="do not read pg_stat_statements.",
        )
        parser.add_argument(
            "--allow-build",
            action="store_true",
            help="this database is not production: without hypopg, prove by building each "
            "candidate in a transaction that is rolled back (it blocks writes meanwhile).",
        )
        parser.add_argument(
            "--min-saving",
            type=float,
            help="advise an index only when it cuts a statement's cost by this fraction "
            "(default: HEADROOM['INDEX_MIN_SAVING'], 0.5).",
        )
        parser.add_argument(
            "--min-table-rows",
            type=int,
            help="leave smaller tables alone (default: HEADROOM['INDEX_MIN_TABLE_ROWS'], 10000).",
        )
        parser.add_argument(
            "--write-migration",
            action="store_true",
            help="write the migration adding the advised indexes into each app.",
        )
        parser.add_argument(
            "--fail-on-missing", action="store_true", help="exit 1 when an index is proven missing."
        )
        parser.add_argument(
            "--fail-on-unused", action="store_true", help="exit 1 when the inventory finds one."
        )
        parser.add_argument("--no-inventory", action="store_true", help="skip the inventory.")
        parser.add_argument("--json", action="store_true", help="print JSON.")

    def run(self, args: argparse.Namespace) -> int:
        from django.db import DatabaseError, connections

        from headroom.indexes import advise, inventory
        from headroom.indexes.djangocode import write_migrations
        from headroom.indexes.render import advice_lines, inventory_lines

        if args.database not in connections:
            raise UsageError(f"no database {args.database!r} in DATABASES.")
        from headroom.conf import conf

        if args.min_saving is None:
            args.min_saving = conf.INDEX_MIN_SAVING
        if args.min_table_rows is None:
            args.min_table_rows = conf.INDEX_MIN_TABLE_ROWS
        if not 0 < args.min_saving < 1:
            raise UsageError("--min-saving must be between 0 and 1, e.g. 0.5.")
        work = load_workload(args)
        try:
            report = advise(
                work,
                args.database,
                allow_build=args.allow_build,
                min_saving=args.min_saving,
                min_table_rows=args.min_table_rows,
            )
            stock = None if args.no_inventory else inventory(args.database, workload=work)
        except DatabaseError as exc:
            print(f"headroom indexes: could not run: {exc}", file=sys.stderr)
            return EXIT_FAILED
        written: list[Path] = []
        if args.write_migration and report.advice:
            written = write_migrations([a.django for a in report.advice], report.vendor)
        if args.json:
            data: dict[str, Any] = {
                "advice": report.to_dict(),
                "inventory": stock.to_dict() if stock else None,
                "migrations_written": [str(p) for p in written],
            }
            print(json.dumps(data, indent=2, default=str))
        else:
            lines = advice_lines(report)
            if not report.analysed and not work.queries:
                lines.append(
                    "  No statements to analyse: run the doctor, or capture your test suite "
                    "with HEADROOM_PROBE_MODE=capture HEADROOM_SPOOL_DIR=DIR and pass --spool DIR."
                )
            if report.advice and not written:
                lines.append("\nWrite the migration: headroom indexes --write-migration")
            for path in written:
                lines.append(f"\nWrote {path}")
            if stock is not None:
                lines += ["", *inventory_lines(stock)]
            print("\n".join(lines))
        if args.fail_on_missing and report.advice:
            return EXIT_FOUND
        if args.fail_on_unused and stock is not None and stock.problems:
            return EXIT_FOUND
        return EXIT_OK


def load_workload(args: argparse.Namespace) -> Any:
    """Every source that applies, merged (see DESCRIPTION)."""
    from django.db import connections

    from headroom.conf import conf
    from headroom.indexes import workload

    spools = list(args.spool)
    if not spools:
        for default in (conf.SPOOL_DIR, str(Path(conf.REPORT_DIR) / "run" / "spool")):
            if default and Path(default).is_dir():
                spools.append(Path(default))
                break
    merged = workload.Workload()
    for spool in spools:
        if not spool.exists():
            raise UsageError(f"--spool {spool}: no such file or directory.")
        records = workload.read_spool(spool)
        merged.add(workload.from_records(records))
        merged.notes.append(f"{len(records)} capture record(s) read from {spool}")
    for log in args.slow_log:
        if not log.exists():
            raise UsageError(f"--slow-log {log}: no such file.")
        merged.add(workload.from_slow_log(log, args.database))
    if connections[args.database].vendor == "postgresql" and not args.no_pg_stat_statements:
        stats = workload.from_pg_stat_statements(args.database)
        if stats.queries:
            merged.add(stats)
    return merged
