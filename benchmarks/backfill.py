"""Backfill 1,000,000 rows on PostgreSQL four ways, with a concurrent client measuring itself.

    python benchmarks/backfill.py [--rows 1000000] [--naive-rows 100000] [--idle 4]

Anchor: one set-based ``UPDATE`` of the whole table (fast, but it holds every row lock for
its whole duration and writes the table's WAL in one transaction). Against it, in the same
run: a naive loop of ``Model.save()`` (autocommit, one row per transaction; timed over the
first ``--naive-rows`` rows), ``headroom.backfill`` inline, and ``headroom.backfill`` on
Celery with two workers (Redis broker).

Before each phase the table is rebuilt (1,000,000 rows with ``total`` NULL, then VACUUM
ANALYZE and CHECKPOINT), and a client process that reads one row by primary key and updates
another (``note``) in a loop measures its p95 latency idle for ``--idle`` seconds, then
during the phase. A sampler reads ``pg_locks`` every 10 ms and records how long each
transaction holding the table's write lock had been open: the longest lock held.

Prints, per phase: rows/s and the ratio to the single UPDATE, the longest lock held, the
reader's and writer's p95 during the phase and the ratio to their idle p95. The last line is
the backfill's throughput ratio to the single UPDATE, inline and on Celery.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import signal
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "src")]
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchmarks.backfill_site.settings")
QUEUE = f"headroom-bench-{uuid.uuid4().hex[:8]}"
os.environ.setdefault("HEADROOM_BENCH_QUEUE", QUEUE)
DB = os.environ.setdefault("HEADROOM_BENCH_DB", "headroom_bench_backfill")
TABLE = "backfill_site_order"


def pg(dbname: str = DB, autocommit: bool = True) -> Any:
    import psycopg

    return psycopg.connect(
        host=os.environ.get("HEADROOM_TEST_PG_HOST", "127.0.0.1"),
        port=int(os.environ.get("HEADROOM_TEST_PG_PORT", "5432")),
        user=os.environ.get("HEADROOM_TEST_PG_USER", "postgres"),
        dbname=dbname,
        autocommit=autocommit,
    )


def create_database() -> None:
    with pg("test") as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DB}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{DB}"')
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", run_syncdb=True, verbosity=0)


def rebuild(rows: int) -> None:
    from django.db import connection

    connection.close()
    with pg() as conn:
        conn.execute(f"TRUNCATE {TABLE} RESTART IDENTITY")
        conn.execute("TRUNCATE headroom_backfillrun RESTART IDENTITY CASCADE")
        conn.execute(
            f"INSERT INTO {TABLE} (id, customer, quantity, unit_price, note, total) "
            "SELECT g, g %% 5000, g %% 7 + 1, 100 + g %% 900, 'order ' || g, NULL "
            "FROM generate_series(1, %s) g",
            [rows],
        )
        conn.execute(f"SELECT setval(pg_get_serial_sequence('{TABLE}', 'id'), %s)", [rows])
        conn.execute(f"VACUUM ANALYZE {TABLE}")
        conn.execute("CHECKPOINT")


# --- the concurrent client and the lock sampler (another process) ------------------------


def client(rows: int, out: Any, stop: Any) -> None:
    """A reader, a writer and a lock sampler, each on its own connection and thread.

    The reader and the writer each note (start, kind, seconds) per statement; the sampler
    reads pg_locks every 10 ms and keeps, per transaction holding the table's write lock,
    how long it had been open when last seen.
    """
    import threading

    samples: list[tuple[float, str, float]] = []
    longest: dict[tuple[int, str], tuple[float, float]] = {}
    writer_pid: list[int] = []

    def loop(kind: str, sql: str, seed: int) -> None:
        chance = random.Random(seed)
        with pg() as conn:
            if kind == "write":
                writer_pid.append(conn.info.backend_pid)
            while not stop.is_set():
                # Noted at its start: a write blocked through a whole phase belongs to it.
                started = time.monotonic()
                began = time.perf_counter()
                conn.execute(sql, [chance.randint(1, rows)]).fetchall() if kind == "read" else (
                    conn.execute(sql, [chance.randint(1, rows)])
                )
                samples.append((started, kind, time.perf_counter() - began))
                time.sleep(0.002)

    def sample() -> None:
        with pg() as conn:
            while not stop.is_set():
                held = conn.execute(
                    "SELECT a.pid, a.xact_start::text, extract(epoch FROM clock_timestamp() - "
                    "a.xact_start) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
                    "WHERE l.relation = %s::regclass AND l.mode = 'RowExclusiveLock' "
                    "AND a.pid <> pg_backend_pid() AND NOT (a.pid = ANY(%s)) "
                    "AND a.xact_start IS NOT NULL",
                    [TABLE, writer_pid],
                ).fetchall()
                now = time.monotonic()
                for pid, start, seconds in held:
                    before = longest.get((pid, start), (now, 0.0))[1]
                    longest[(pid, start)] = (now, max(float(seconds), before))
                time.sleep(0.01)

    threads = [
        threading.Thread(target=loop, args=("read", f"SELECT * FROM {TABLE} WHERE id = %s", 7)),
        threading.Thread(
            target=loop, args=("write", f"UPDATE {TABLE} SET note = note WHERE id = %s", 8)
        ),
        threading.Thread(target=sample),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    out.send({"samples": samples, "locks": [(t, s) for t, s in longest.values()]})
    out.close()


class Client:
    def __init__(self, rows: int) -> None:
        self.parent, child = multiprocessing.Pipe()
        self.stop = multiprocessing.Event()
        self.process = multiprocessing.Process(target=client, args=(rows, child, self.stop))
        self.process.start()

    def finish(self) -> dict[str, Any]:
        self.stop.set()
        data: dict[str, Any] = self.parent.recv()
        self.process.join(30)
        return data


def p95(values: list[float]) -> float:
    if len(values) < 20:
        return float("nan")
    return statistics.quantiles(values, n=20)[18]


def window(data: dict[str, Any], kind: str, start: float, end: float) -> list[float]:
    return [s for t, k, s in data["samples"] if k == kind and start <= t < end]


# --- the phases -------------------------------------------------------------------------


def single_update() -> tuple[int, float]:
    with pg(autocommit=False) as conn:
        began = time.perf_counter()
        cursor = conn.execute(
            f"UPDATE {TABLE} SET total = quantity * unit_price WHERE total IS NULL"
        )
        conn.commit()
        return cursor.rowcount, time.perf_counter() - began


def naive_loop(limit: int) -> tuple[int, float]:
    from benchmarks.backfill_site.models import Order

    done = 0
    began = time.perf_counter()
    for order in Order.objects.filter(total__isnull=True).order_by("id").iterator(2000):
        order.total = order.quantity * order.unit_price
        order.save(update_fields=["total"])
        done += 1
        if done >= limit:
            break
    return done, time.perf_counter() - began


def backfill(executor: str) -> tuple[int, float, Any]:
    from django.db import connection

    from headroom.backfill import run_backfill

    connection.close()
    began = time.perf_counter()
    run = run_backfill("backfill_site.FillOrderTotals", executor=executor)
    return run.rows_done, time.perf_counter() - began, run


def start_workers(count: int) -> list[subprocess.Popen[str]]:
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'src'}"}
    workers = []
    for n in range(count):
        command = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "benchmarks.backfill_site.celery_app",
            "worker",
            "--pool",
            "prefork",
            "--concurrency",
            "1",
            "--loglevel",
            "WARNING",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "--queues",
            QUEUE,
            "--hostname",
            f"bench{n}-{QUEUE}@%h",
        ]
        workers.append(
            subprocess.Popen(
                command,
                cwd=ROOT,
                env=env,
                text=True,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                start_new_session=True,
            )
        )
    time.sleep(6)  # let them connect and import Django before the clock starts
    for worker in workers:
        if worker.poll() is not None:
            raise SystemExit(
                "a Celery worker did not start:\n" + (worker.stderr.read() if worker.stderr else "")
            )
    return workers


def stop_workers(workers: list[subprocess.Popen[str]]) -> None:
    for worker in workers:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGTERM)
    for worker in workers:
        try:
            worker.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--naive-rows", type=int, default=100_000)
    parser.add_argument("--idle", type=float, default=4.0, help="idle seconds before each phase")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args(argv)

    create_database()
    from django.conf import settings

    target = settings.HEADROOM.get("BACKFILL_TARGET_BATCH_SECONDS", 0.5)
    print(
        f"{args.rows:,} rows on PostgreSQL; target batch time {target} s; {os.cpu_count()} CPU(s)",
        flush=True,
    )
    results: dict[str, dict[str, Any]] = {}
    workers: list[subprocess.Popen[str]] = []
    phases = ["single UPDATE", "naive save() loop", "backfill inline", "backfill celery x2"]
    try:
        for phase in phases:
            rebuild(args.rows)
            if phase == "backfill celery x2":
                workers = start_workers(2)
            load = Client(args.rows)
            time.sleep(0.5)
            idle_start = time.monotonic()
            time.sleep(args.idle)
            start = time.monotonic()
            extra: dict[str, Any] = {}
            if phase == "single UPDATE":
                rows, seconds = single_update()
            elif phase == "naive save() loop":
                rows, seconds = naive_loop(args.naive_rows)
            else:
                rows, seconds, run = backfill("inline" if "inline" in phase else "celery")
                extra = {
                    "batches": run.batches_done,
                    "final_batch_size": run.batch_size,
                    "longest_batch_seconds_reported": run.longest_batch_seconds,
                }
            end = time.monotonic()
            data = load.finish()
            if workers:
                stop_workers(workers)
                workers = []
            locks = [s for t, s in data["locks"] if start <= t <= end + 0.05]
            results[phase] = {
                "rows": rows,
                "seconds": seconds,
                "rows_per_second": rows / seconds,
                "longest_lock_seconds": max(locks, default=0.0),
                "read_p95_idle_ms": 1000 * p95(window(data, "read", idle_start, start)),
                "read_p95_ms": 1000 * p95(window(data, "read", start, end)),
                "write_p95_idle_ms": 1000 * p95(window(data, "write", idle_start, start)),
                "write_p95_ms": 1000 * p95(window(data, "write", start, end)),
                "write_max_ms": 1000 * max(window(data, "write", start, end), default=0.0),
                **extra,
            }
            r = results[phase]
            print(
                f"  {phase:<20} {r['rows']:>9,} rows in {r['seconds']:7.2f} s = "
                f"{r['rows_per_second']:>9,.0f} rows/s",
                flush=True,
            )
    finally:
        stop_workers(workers)

    anchor = results["single UPDATE"]["rows_per_second"]
    print()
    print(
        f"{'phase':<20} {'rows/s':>9} {'x UPDATE':>8} {'longest lock':>12} "
        f"{'read p95 idle->during':>22} {'write p95 idle->during':>23}"
    )
    for phase, r in results.items():
        r["ratio"] = r["rows_per_second"] / anchor
        r["read_p95_ratio"] = r["read_p95_ms"] / r["read_p95_idle_ms"]
        r["write_p95_ratio"] = r["write_p95_ms"] / r["write_p95_idle_ms"]
        read = f"{r['read_p95_idle_ms']:.2f}->{r['read_p95_ms']:.2f} ms {r['read_p95_ratio']:.2f}x"
        write = (
            f"{r['write_p95_idle_ms']:.2f}->{r['write_p95_ms']:.1f} ms {r['write_p95_ratio']:.1f}x"
        )
        print(
            f"{phase:<20} {r['rows_per_second']:>9,.0f} {r['ratio']:>7.2f}x "
            f"{r['longest_lock_seconds']:>11.2f}s {read:>22} {write:>23}"
        )
    naive = results["naive save() loop"]
    print(
        f"(the naive loop was timed over its first {naive['rows']:,} rows; "
        f"target: backfill >= 0.90x, lock <= {2 * target:.1f} s, read p95 <= 1.25x idle)"
    )
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    inline = results["backfill inline"]["ratio"]
    celery = results["backfill celery x2"]["ratio"]
    print(f"backfill throughput / single UPDATE: inline {inline:.2f}x, celery x2 {celery:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
