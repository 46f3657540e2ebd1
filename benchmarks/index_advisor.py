"""The index advisor's whole-workload choice against exhaustive search, on PostgreSQL.

Anchor: for each statement of the workload, the best single index picked by exhaustive
search over the same candidates (every candidate tried alone with hypopg, the cheapest
kept); the set is the union of those. Both sets are then added together (hypothetically)
and the workload's planner cost (executions x cost, summed) is measured with each. Also
printed: how many indexes each set has, the write cost each set adds (rows written to
the indexed tables x the advisor's per-row cost of one more index), and how long the
advisor took.

The workload: the test suite's generated one (tests/indexes: five known missing indexes,
captured by the probe), plus statements where the two choices part ways:

- three statements on one customer's orders (by status; newest first; since a date): each
  has its own best two-column index, but one (customer_id, created_at) serves all three
  almost as well;
- a lookup on a table written 100,000 times for every 5 reads (an event log): an index
  would cost more in writes than it saves;
- a filter on a column with 20 values: an index trims its cost by less than half.

Target: the advisor's workload cost within 5% of the exhaustive choice. The last line is
the ratio advisor / exhaustive of the whole workload's cost, reads and index writes (1.00
means as cheap); the ratio of the read cost alone is printed above it.

Run (PostgreSQL on 127.0.0.1:5432 with hypopg installed; uses a scratch database):

    python benchmarks/index_advisor.py [--rows 200000]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]
SCRATCH = "headroom_bench_indexes" + (
    f"_{os.environ['HEADROOM_TEST_DB_SUFFIX']}" if os.environ.get("HEADROOM_TEST_DB_SUFFIX") else ""
)

#: Tables where whole-workload choice and per-statement choice differ.
EXTRA_TABLES = """
CREATE TABLE bench_order (
    id bigserial PRIMARY KEY, customer_id int NOT NULL, status varchar(20) NOT NULL,
    region int NOT NULL, created_at timestamptz NOT NULL, total numeric(10, 2) NOT NULL
);
INSERT INTO bench_order (customer_id, status, region, created_at, total)
SELECT 1 + (i * 7919) %% 30000,
       (ARRAY['new', 'paid', 'shipped', 'delivered', 'refunded'])[1 + (i * 13) %% 5],
       i %% 20,
       timestamptz '2024-01-01' + (i || ' minutes')::interval,
       (i %% 500) + 0.99
FROM generate_series(1, %(rows)s) i;
CREATE TABLE bench_event (
    id bigserial PRIMARY KEY, account_id int NOT NULL, kind varchar(20) NOT NULL,
    created_at timestamptz NOT NULL, payload text NOT NULL
);
INSERT INTO bench_event (account_id, kind, created_at, payload)
SELECT 1 + i %% 5000, (ARRAY['login', 'view', 'click', 'logout'])[1 + i %% 4],
       timestamptz '2024-01-01' + (i || ' seconds')::interval, 'event ' || i
FROM generate_series(1, %(rows)s) i;
ANALYZE bench_order;
ANALYZE bench_event;
"""

#: (route, SQL, parameter samples, executions per sample), in the probe's record format.
EXTRA_READS: list[tuple[str, str, list[list[object]], int]] = [
    (
        "/orders/by-status/",
        "SELECT id, total FROM bench_order WHERE customer_id = %s AND status = %s",
        [[17, "paid"], [4242, "new"], [29001, "shipped"]],
        40,
    ),
    (
        "/orders/latest/",
        "SELECT id, total FROM bench_order WHERE customer_id = %s ORDER BY created_at DESC "
        "LIMIT 10",
        [[17], [4242], [29001]],
        40,
    ),
    (
        "/orders/since/",
        "SELECT id, total FROM bench_order WHERE customer_id = %s AND created_at >= %s",
        [[17, "2024-03-01T00:00:00+00:00"], [4242, "2024-04-01T00:00:00+00:00"]],
        20,
    ),
    (
        "/orders/region/",
        "SELECT count(*) FROM bench_order WHERE region = %s",
        [[3], [11]],
        10,
    ),
    (
        "/events/",
        "SELECT id FROM bench_event WHERE account_id = %s AND kind = %s",
        [[77, "login"], [4001, "click"]],
        5,
    ),
]
#: Rows written to the event log per run of the reads above.
EVENT_WRITES = 100_000


def extra_records() -> list[dict[str, object]]:
    """The statements above as the probe records them (one record per execution batch)."""
    records: list[dict[str, object]] = []
    for route, sql, samples, executions in EXTRA_READS:
        for sample in samples:
            entry = {"sql": sql, "params": sample, "alias": "postgres", "count": executions}
            records.append({"route": route, "queries": [entry]})
    insert = (
        "INSERT INTO bench_event (account_id, kind, created_at, payload) VALUES (%s, %s, %s, %s)"
    )
    write = {"sql": insert, "alias": "postgres", "count": EVENT_WRITES, "many": True}
    records.append({"route": "/events/track/", "queries": [write]})
    return records


def cost_by_table(analysis: Any, indexes: list[Any]) -> tuple[float, dict[str, float]]:
    """The workload's read cost with ``indexes`` added, in all and by the table each statement
    reads first (executions x planner cost)."""
    for candidate in indexes:
        analysis.planner.add(candidate)
    try:
        tables: dict[str, float] = {}
        for query in analysis.queries:
            table = next(iter(analysis.shapes[query.fingerprint].tables))
            cost = query.weight * analysis.planner.cost(query).cost
            tables[table] = tables.get(table, 0.0) + cost
    finally:
        for candidate in reversed(indexes):
            analysis.planner.drop(candidate)
    return sum(tables.values()), tables


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
            cursor.execute(EXTRA_TABLES % {"rows": args.rows})
        directory = Path(f"/tmp/headroom-bench-spool-{os.getpid()}")
        directory.mkdir(exist_ok=True)
        options = {"PROBE_MODE": "capture", "SPOOL_DIR": str(directory)}
        with override_settings(ROOT_URLCONF="tests.indexes.ticketapp.urls", HEADROOM=options):
            client = Client()
            for path, params in REQUESTS:
                client.get(path, params)
            spool.close()
        work = from_records([*read_spool(directory), *extra_records()])

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
            none_cost, none_tables = cost_by_table(analysis, [])
            advisor_cost, advisor_tables = cost_by_table(analysis, chosen)
            exhaustive_cost, exhaustive_tables = cost_by_table(analysis, exhaustive)
        advisor_writes = sum(analysis.penalty.get(c, 0.0) for c in chosen)
        exhaustive_writes = sum(analysis.penalty.get(c, 0.0) for c in exhaustive)
        print(f"workload: {len(analysis.queries)} statements, {len(analysis.single)} candidates")
        print(f"no new index:            reads {none_cost:12,.1f}")
        print(
            f"advisor ({len(chosen)} indexes):     reads {advisor_cost:12,.1f}   index writes "
            f"{advisor_writes:12,.1f}   chosen in {advisor_seconds:.2f} s"
        )
        for candidate in chosen:
            print(f"    {candidate.describe()}")
        label = f"exhaustive ({len(exhaustive)} indexes):"
        print(
            f"{label:25s}reads {exhaustive_cost:12,.1f}   index writes {exhaustive_writes:12,.1f}"
        )
        for candidate in exhaustive:
            print(f"    {candidate.describe()}")
        print("read cost by table (no new index / advisor / exhaustive):")
        for table in sorted(
            {t for q in analysis.queries for t in analysis.shapes[q.fingerprint].tables}
        ):
            row = [by_table[table] for by_table in (none_tables, advisor_tables, exhaustive_tables)]
            print(f"    {table:20s} {row[0]:12,.1f} {row[1]:12,.1f} {row[2]:12,.1f}")
        reads = advisor_cost / exhaustive_cost if exhaustive_cost else float("nan")
        written = {t for (_, t), n in work.writes.items() if n}
        calm = [t for t in exhaustive_tables if t not in written]
        calm_ratio = sum(advisor_tables[t] for t in calm) / sum(exhaustive_tables[t] for t in calm)
        print(f"advisor / exhaustive read cost ratio, tables not written: {calm_ratio:.3f}")
        whole = (advisor_cost + advisor_writes) / (exhaustive_cost + exhaustive_writes)
        print(f"advisor / exhaustive read cost ratio: {reads:.3f}")
        print(f"target: within 5% of exhaustive -> {'met' if whole <= 1.05 else 'missed'}")
        print(f"advisor / exhaustive workload cost ratio (reads + index writes): {whole:.3f}")
    finally:
        connections.close_all()
        with psycopg.connect("host=127.0.0.1 user=postgres dbname=postgres", autocommit=True) as c:
            c.execute(f"DROP DATABASE IF EXISTS {SCRATCH}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
