"""``headroom dbconfig``: the database server's settings against its host and deployment."""

from __future__ import annotations

import argparse
import json

from headroom.cli import EXIT_FAILED, EXIT_FOUND, EXIT_OK, UsageError, Verb, verb

DESCRIPTION = """\
Read the live settings of the database server behind a DATABASES alias and say which to
change, each with its current value, the recommended one, why, and the line to run:
ALTER SYSTEM for PostgreSQL (shared_buffers, effective_cache_size, work_mem,
maintenance_work_mem, max_connections against the deployment's connection demand,
random_page_cost on SSD, WAL and checkpoints, autovacuum, JIT, log_min_duration_statement
from the latency objective, pg_stat_statements); SET GLOBAL / SET PERSIST for MySQL and
MariaDB (InnoDB buffer pool against the data, slow query log, max_connections); the
DATABASES option for SQLite (WAL, synchronous, busy timeout, transaction mode).

Memory figures use --ram (the database host's RAM), else HEADROOM["DB_HOST_RAM"], else this
machine's. The same audit runs as system checks: manage.py check --database default.

Exit codes: 0 nothing to change, 1 settings to change, 2 bad usage, 3 could not read them."""


@verb
class DbconfigVerb(Verb):
    name = "dbconfig"
    help = "Audit the database server's settings (memory, connections, logging, WAL)."
    description = DESCRIPTION

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--database", action="append", default=[], help="alias (default: every alias)."
        )
        parser.add_argument("--ram", help="the database host's RAM, e.g. 16GB.")
        parser.add_argument("--storage", choices=["ssd", "hdd"], help="the database's disks.")
        parser.add_argument("--workers", type=int, help="gunicorn workers per web server.")
        parser.add_argument("--threads", type=int, help="threads per gunicorn worker.")
        parser.add_argument("--web-servers", type=int, help="machines running web workers.")
        parser.add_argument("--celery", type=int, help="Celery worker processes in all.")
        parser.add_argument("--json", action="store_true", help="print JSON.")

    def run(self, args: argparse.Namespace) -> int:
        from django.conf import settings

        from headroom.dbconfig import audit
        from headroom.dbconfig.host import parse_size

        aliases = args.database or list(settings.DATABASES)
        for alias in aliases:
            if alias not in settings.DATABASES:
                raise UsageError(f"no database {alias!r} in DATABASES.")
        if args.ram:
            try:
                parse_size(args.ram)
            except ValueError as exc:
                raise UsageError(f"--ram: {exc}.") from exc
        audits = [
            audit(
                alias,
                ram=args.ram,
                storage=args.storage,
                workers=args.workers,
                threads=args.threads,
                web_servers=args.web_servers,
                celery=args.celery,
            )
            for alias in aliases
        ]
        if args.json:
            print(json.dumps([a.to_dict() for a in audits], indent=2, default=str))
        else:
            print("\n\n".join(render(a) for a in audits))
        items = [r for a in audits for r in a.recommendations]
        if any(r.category == "unreadable" for r in items):
            return EXIT_FAILED
        return EXIT_FOUND if items else EXIT_OK


def render(audit: object) -> str:
    from headroom.dbconfig.findings import Audit

    assert isinstance(audit, Audit)
    ram = f", host RAM {audit.ram / (1 << 30):.1f} GB ({audit.ram_source})" if audit.ram else ""
    lines = [f"DATABASES[{audit.alias!r}] ({audit.vendor}){ram}:"]
    demand = audit.facts.get("connection_demand_from")
    if demand:
        lines.append(
            f"  connections: the deployment can open {demand}; max_connections is "
            f"{audit.facts.get('max_connections')}"
        )
    if not audit.recommendations:
        lines.append("  Nothing to change.")
    for item in audit.recommendations:
        lines += [
            f"  {item.check_id}  {item.setting}: {item.current} -> {item.recommended}",
            f"      why: {item.why}",
            *(f"      {line}" for line in item.fix.splitlines()),
        ]
    lines += [f"  note: {note}" for note in audit.notes]
    return "\n".join(lines)
