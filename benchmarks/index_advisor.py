"""The index advisor's whole-workload choice against exhaustive search, on PostgreSQL.

Anchor: for each statement of the workload, the best single index picked by exhaustive
search over the same candidates (every candidate tried alone with hypopg, the cheapest
kept); the set is the union of those. Both sets are then added together (hypothetically)
and the workload's planner cost (executions x cost, summed) is measured with each. Also
printed: how many indexes each set has, and how long the advisor took.

Target: the advisor's workload cost within 5% of the exhaustive choice. The last line is
the ratio advisor / exhaustive (1.00 means as cheap).

Run (PostgreSQL on 127.0.0.1:5432 with hypopg installed; uses a scratch database):

    python benchmarks/index_advisor.py [--rows 200000]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]
SCRATCH = "headroom_bench_indexes"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    args = parser.parse_args()

    import psycopg

    with psycopg.connect("host=127.0.0.1 user=postgres dbname=postgres", autocommit=True) as c:
        c.execute(f"DROP DATABASE IF EXISTS {SCRATCH}")
        c.execute(f"CREATE DATABASE {SCRATCH}")
    os.environ["DJANGO_SETTINGS_MODULE"] = "tests.settings"
    os.environ["HEADROOM_TEST_PG_NAME"] = SCRATCH
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connections
    from django.test import Client, override_settings
    from tests.indexes.conftest import FILL, REQUESTS

    from headroom.indexes.advisor import analyse
    from headroom.indexes.planner import open_planner
    from headroom.indexes.select import best_single_per_query, choose
    from headroom.indexes.workload import from_records, read_spool
    from headroom.probe import spool

    try:
        call_command("migrate", "ticketapp", database="postgres", verbosity=0)
        with connections["postgres"].cursor() as cursor:
            cursor.execute("CREATE EXTENSION IF NOT EXISTS hypopg")
            cursor.execute(FILL.replace("%(rows)s", str(args.rows)))
        directory = Path(f"/tmp/headroom-bench-spool-{os.getpid()}")
        directory.mkdir(exist_ok=True)
        options = {"PROBE_MODE": "capture", "SPOOL_DIR": str(directory)}
        with override_settings(ROOT_URLCONF="tests.indexes.ticketapp.urls", HEADROOM=options):
            client = Client()
            for path, params in REQUESTS:
                client.get(path, params)
            spool.close()
        work = from_records(read_spool(directory))

        started = time.perf_counter()
        with open_planner("postgres", allow_build=False) as planner:
            assert planner is not None and planner.method == "hypopg", "needs hypopg"
            analysis = analyse(work, "postgres", planner, min_table_rows=10_000)
            chosen = choose(
                analysis.base_costs(),
                analysis.single,
                analysis.weights,
                analysis.penalty,
                min_saving=0.5,
                order=analysis.order,
            )
            advisor_seconds = time.perf_counter() - started
            best = best_single_per_query(analysis.base_costs(), analysis.single)
            exhaustive = list(dict.fromkeys(best.values()))
            none_cost = analysis.workload_cost([])
            advisor_cost = analysis.workload_cost(chosen)
            exhaustive_cost = analysis.workload_cost(exhaustive)
        print(f"workload: {len(analysis.queries)} statements, {len(analysis.single)} candidates")
        print(f"no new index:          workload planner cost {none_cost:12,.1f}")
        print(
            f"advisor ({len(chosen)} indexes):   workload planner cost {advisor_cost:12,.1f}"
            f"   chosen in {advisor_seconds:.2f} s"
        )
        for candidate in chosen:
            print(f"    {candidate.describe()}")
        label = f"exhaustive ({len(exhaustive)} indexes):"
        print(f"{label} workload planner cost {exhaustive_cost:12,.1f}")
        for candidate in exhaustive:
            print(f"    {candidate.describe()}")
        ratio = advisor_cost / exhaustive_cost if exhaustive_cost else float("nan")
        print(f"target: within 5% of exhaustive -> {'met' if ratio <= 1.05 else 'missed'}")
        print(f"advisor / exhaustive workload cost ratio: {ratio:.3f}")
    finally:
        connections.close_all()
        with psycopg.connect("host=127.0.0.1 user=postgres dbname=postgres", autocommit=True) as c:
            c.execute(f"DROP DATABASE IF EXISTS {SCRATCH}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
