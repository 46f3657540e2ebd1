"""Backfill 1,000,000 rows on PostgreSQL four ways, with concurrent clients measuring themselves.

    python benchmarks/backfill.py [--rows 1000000] [--naive-rows 100000] [--idle 6]
                                  [--read-rate 300] [--write-rate 50]
                                  [--server machine|tuned|both] [--phases ...] [--repeat 3]

Anchor: one set-based ``UPDATE`` of the whole table (fast, but it holds every row lock for
its whole duration and writes the table's WAL in one transaction). Against it, in the same
run: a naive loop of ``Model.save()`` (autocommit, one row per transaction; timed over the
first ``--naive-rows`` rows), ``headroom.backfill`` inline, and ``headroom.backfill`` on
Celery with two workers (Redis broker). The workers start, and the coordinator's Celery app
is imported and connected to the broker, before the clock starts (the start-up is printed).

Before each phase the table is rebuilt (1,000,000 rows with ``total`` NULL, then VACUUM
ANALYZE and CHECKPOINT). The site's traffic, two pgbench clients on a fixed schedule, measures
its p95 latency idle for ``--idle`` seconds, then during the phase: a reader reading one row by
primary key (``--read-rate``, 300 a second) and a writer updating a random row
(``--write-rate``, 50 a second). A control phase (``hog``) spins one process on one core for
as long as the UPDATE took, with no database work: what a busy core alone costs the reader.
Another (``rest``) does nothing for that long: how far the reader's p95 moves from one window
to the next with no work at all, the floor under every ratio to its idle value.
``inline-disk`` runs the inline backfill while another process stalls the disk (2 GB put
in the page cache beforehand and flushed with ``fdatasync`` 1 s into the run, then again
until the end), and ``inline-disk-5s`` the same with a
fixed 5 s statement time-out instead of the default, twice the target batch time
(``inline-disk-async``: the default, with ``synchronous_commit`` off): what each does to the
longest lock when batches suddenly slow down.
A sampler reads ``pg_stat_activity`` every 10 ms and records, for each transaction of the
phase holding row locks (one with an xid), the span between the sample before the first
that saw its xid and the sample after the last: the longest lock held. Each phase runs
``--repeat`` times (3) in rounds. Each round begins and ends with the single UPDATE, and
each ratio is taken against the mean rows/s of those two, so that the machine drifting
during a round favours no phase; the figures printed are medians over the rounds.

``--server both`` (the default) runs everything on the machine's PostgreSQL as it is, then
on a private cluster configured as ``headroom dbconfig`` advises (benchmarks/pgserver.py).

Prints, per phase: rows/s and the ratio to the single UPDATE, the longest lock held, the
reader's and the writer's p95 during the phase and the ratio to their idle p95. The last line is
the backfill's throughput ratio to the single UPDATE, inline and on Celery.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "src")]
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchmarks.backfill_site.settings")
QUEUE = os.environ.setdefault("HEADROOM_BENCH_QUEUE", f"headroom-bench-{uuid.uuid4().hex[:8]}")
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
    with pg("postgres") as conn:
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


# --- the concurrent reader and writer (pgbench), and the sampler ----------------------------

#: application_name of the two pgbench clients, so that the sampler can tell their backends
#: from the backfill's.
READER_NAME = "headroom-bench-reader"
WRITER_NAME = "headroom-bench-writer"

#: Backends of the benchmark's database at work, and background processes not idle. A
#: transaction with an xid has written (or locked) rows: it holds row locks until it ends.
#: (pg_stat_activity only: pg_locks takes every lock-manager partition lock, and read 100
#: times a second it slows the very clients measured.)
ACTIVITY = (
    "SELECT a.pid, a.backend_type, coalesce(a.application_name, ''), coalesce(a.state, ''), "
    "coalesce(a.wait_event_type, ''), coalesce(a.wait_event, ''), a.xact_start::text, "
    "a.backend_xid IS NOT NULL "
    "FROM pg_stat_activity a WHERE a.pid <> pg_backend_pid() AND ("
    "(a.datname = current_database() AND (a.state = 'active' OR a.xact_start IS NOT NULL)) "
    "OR (a.backend_type <> 'client backend' AND a.wait_event_type IS DISTINCT FROM 'Activity'))"
)


def sampler(out: Any, stop: Any) -> None:
    """Every 10 ms, reads pg_stat_activity.

    Per transaction of the backfill (or UPDATE) that has an xid (it has written or locked
    rows), the sample before the first that saw the xid and the first sample after the last
    one: between them it held its row locks. (Not since ``xact_start``: a Celery batch's
    transaction begins by waiting for its write slot, and holds no lock while it waits.)
    Also the wait event of every active backend, by role (the reader, the writer, the
    backfill or UPDATE, background processes).
    """
    held: dict[tuple[int, str], list[float]] = {}  # [seen before, first seen, last seen]
    waits: list[tuple[float, str, str]] = []
    before = time.monotonic()
    with pg() as conn:
        while not stop.is_set():
            found = conn.execute(ACTIVITY).fetchall()
            now = time.monotonic()
            seen = set()
            for pid, kind, app, state, wtype, wevent, start, locking in found:
                if app == READER_NAME:
                    role = "reader"
                elif app == WRITER_NAME:
                    role = "writer"
                elif kind == "client backend":
                    role = "backfill"
                else:
                    role = f"bg:{kind}"
                if state == "active" or role.startswith("bg:"):
                    event = f"{wtype}:{wevent}" if wtype else "CPU"
                    waits.append((now, role, event))
                if locking and role == "backfill" and start is not None:
                    seen.add((pid, start))
                    held.setdefault((pid, start), [before, now, now])[2] = now
            for key, times in held.items():
                if key not in seen and len(times) == 3:
                    times.append(now)  # the first sample after the last that saw it
            before = now
            time.sleep(0.01)
    locks = [(times[1], times[-1] - times[0]) for times in held.values()]
    out.send({"locks": locks, "waits": waits})
    out.close()


class Sampler:
    def __init__(self) -> None:
        self.parent, child = multiprocessing.Pipe()
        self.stop = multiprocessing.Event()
        self.process = multiprocessing.Process(target=sampler, args=(child, self.stop), daemon=True)
        self.process.start()

    def finish(self) -> dict[str, Any]:
        self.stop.set()
        data: dict[str, Any] = self.parent.recv()
        self.process.join(30)
        return data


READ_SCRIPT = "\\set id random(1, {rows})\nSELECT * FROM {table} WHERE id = :id;\n"
WRITE_SCRIPT = "\\set id random(1, {rows})\nUPDATE {table} SET note = note WHERE id = :id;\n"


def pgbench(
    script: Path,
    rate: int,
    seconds: int,
    log_prefix: Path | None,
    name: str = "pgbench",
) -> subprocess.Popen[str]:
    """One pgbench client running ``script`` ``rate`` times a second on a fixed schedule
    (prepared statements) as application ``name``, logging each transaction under
    ``log_prefix`` when given."""
    command = [
        "pgbench",
        *("-h", os.environ.get("HEADROOM_TEST_PG_HOST", "127.0.0.1")),
        *("-p", os.environ.get("HEADROOM_TEST_PG_PORT", "5432")),
        *("-U", os.environ.get("HEADROOM_TEST_PG_USER", "postgres")),
        *("-n", "-c", "1", "-M", "prepared", "-T", str(seconds), "-R", str(rate)),
        *("-f", str(script)),
    ]
    if log_prefix is not None:
        command += ["-l", f"--log-prefix={log_prefix.name}"]
    command.append(DB)
    return subprocess.Popen(
        command,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=log_prefix.parent if log_prefix else None,
        env={**os.environ, "PGAPPNAME": name},
    )


def pgbench_log(folder: Path, prefix: str, start: float, end: float) -> Any:
    """(latency, schedule lag) in seconds of each transaction logged under ``prefix`` that
    was due in [start, end) (epoch seconds)."""
    for log in folder.glob(f"{prefix}*"):
        for line in log.read_text().splitlines():
            parts = line.split()
            if len(parts) < 7:
                continue  # the last line of a client stopped mid-write
            total_us, lag_us = int(parts[2]), int(parts[6])
            finished = int(parts[4]) + int(parts[5]) / 1e6
            due = finished - total_us / 1e6
            if start <= due < end:
                yield total_us / 1e6, lag_us / 1e6


def pgbench_latencies(
    folder: Path, prefix: str, start: float, end: float, lag: bool = False
) -> list[float]:
    """Latencies (seconds) of the logged transactions due in [start, end) (epoch seconds).
    Without ``lag`` each is counted from the moment pgbench sent it (what is left is the
    statement's round trip); with it, from the moment it was due on the schedule."""
    return [
        total - (0.0 if lag else late) for total, late in pgbench_log(folder, prefix, start, end)
    ]


class Traffic:
    """The site's traffic, whose latency the targets are judged on: two pgbench clients
    (C, libpq, prepared statements), each on its own connection and on a fixed schedule.

    - The reader reads one row by primary key ``read_rate`` times a second. Its latency is
      counted from the moment it sent the read: pgbench's own client spends a few
      microseconds per read, so what is left is the database's answer and the round trip.
    - The writer updates one random row (``note``) ``write_rate`` times a second. Its latency
      is counted from the moment the write was due: a write waiting for a row lock holds
      back the writes behind it, as requests queue behind a blocked one.
    """

    def __init__(self, rows: int, read_rate: int, write_rate: int) -> None:

        self.folder = Path(tempfile.mkdtemp(prefix="headroom-traffic-"))
        self.processes: dict[str, subprocess.Popen[str]] = {}
        for kind, script, rate, name in (
            ("reads", READ_SCRIPT, read_rate, READER_NAME),
            ("writes", WRITE_SCRIPT, write_rate, WRITER_NAME),
        ):
            if rate <= 0:
                continue
            path = self.folder / f"{kind.rstrip('s')}.sql"  # not matched by the logs' glob
            path.write_text(script.format(rows=rows, table=TABLE))
            self.processes[kind] = pgbench(path, rate, 3600, self.folder / kind, name)

    @property
    def pids(self) -> dict[str, int]:
        return {f"pgbench {kind}": p.pid for kind, p in self.processes.items()}

    def finish(self, end: float) -> None:
        """Stop the clients once each has logged a transaction due after ``end`` (epoch
        seconds), or after 10 s. pgbench writes its log through a 4 KB buffer and a
        terminated pgbench does not flush it: the writer, at 50 lines a second, would lose
        its last 1-2 s."""
        deadline = time.monotonic() + 10
        for kind in self.processes:
            while time.monotonic() < deadline and not any(
                pgbench_log(self.folder, kind, end, float("inf"))
            ):
                time.sleep(0.1)
        for process in self.processes.values():
            process.terminate()
        for process in self.processes.values():
            process.wait(30)

    def reads(self, start: float, end: float) -> list[float]:
        return pgbench_latencies(self.folder, "reads", start, end)

    def writes(self, start: float, end: float) -> list[float]:
        return pgbench_latencies(self.folder, "writes", start, end, lag=True)

    def close(self) -> None:
        import shutil

        for process in self.processes.values():
            if process.poll() is None:
                process.kill()
                process.wait(30)
        shutil.rmtree(self.folder, ignore_errors=True)


# --- what the machine and the server did during a window ----------------------------------


def _ticks(pid: int) -> tuple[int, int]:
    """(utime + stime, cutime + cstime): its own CPU, and its exited children's."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0, 0
    return int(fields[11]) + int(fields[12]), int(fields[13]) + int(fields[14])


def _comm(entry: Path) -> str:
    try:
        return (entry / "comm").read_text().strip()
    except OSError:
        return ""


def cpu_snapshot(known: dict[str, int | None]) -> dict[str, Any]:
    """CPU ticks of the whole machine (/proc/stat) and of each process, by role."""
    total = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    roles: dict[str, int] = {}
    by_pid = {pid: role for role, pid in known.items() if pid}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        pid = int(entry.name)
        try:
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        own, children = _ticks(pid)
        if pid in by_pid:
            role = by_pid[pid]
        elif not cmd.strip() and _comm(entry) == "postgres":
            # A backend exiting (its connection just closed, as the UPDATE's does) has no
            # command line left.
            role = "postgres backends"
        elif cmd.startswith("postgres:"):
            role = "postgres backends" if DB in cmd else "postgres background"
        elif "bin/postgres" in cmd:
            # The postmaster: a backend that exited (a closed connection) is counted here.
            role, own, children = "postgres backends", children, 0
        elif "celery" in cmd and "backfill_site" in cmd:
            role = "celery workers"
        else:
            role = "other (other jobs on the machine)"
        roles[role] = roles.get(role, 0) + own
        if pid == os.getpid():
            # Exited children: the hog, the disk writer.
            roles["child processes"] = roles.get("child processes", 0) + children
    return {"total": total, "roles": roles, "at": time.monotonic()}


def reader_backend(conn: Any) -> int | None:
    """The pid of the pgbench reader's backend (it connects within a second or so)."""
    for _ in range(100):
        row = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE application_name = %s", [READER_NAME]
        ).fetchone()
        if row:
            return int(row[0])
        time.sleep(0.05)
    return None


def run_queue(pids: dict[str, int | None]) -> dict[str, int]:
    """Nanoseconds each process has spent runnable but waiting for a CPU, so far
    (/proc/PID/schedstat, second field)."""
    out = {}
    for role, pid in pids.items():
        try:
            out[role] = int(Path(f"/proc/{pid}/schedstat").read_text().split()[1])
        except (OSError, IndexError, ValueError):
            continue
    return out


def cpu_delta(before: dict[str, Any], after: dict[str, Any]) -> dict[str, float]:
    """Cores used per role, and the machine's busy / iowait / steal share, between two
    snapshots."""
    hz = os.sysconf("SC_CLK_TCK")
    seconds = max(1e-6, after["at"] - before["at"])
    diff = [a - b for a, b in zip(after["total"], before["total"], strict=False)]
    all_ticks = max(1, sum(diff[:8]))
    idle, iowait, steal = diff[3], diff[4], diff[7]
    out = {
        "machine busy %": 100.0 * (all_ticks - idle - iowait) / all_ticks,
        "iowait %": 100.0 * iowait / all_ticks,
        "steal %": 100.0 * steal / all_ticks,
    }
    for role, ticks in after["roles"].items():
        used = (ticks - before["roles"].get(role, 0)) / hz / seconds
        if used > 0.005:
            out[f"cores: {role}"] = used
    return out


def server_counters() -> dict[str, float]:
    with pg() as conn:
        wal = conn.execute(
            "SELECT wal_records, wal_fpi, wal_bytes, wal_buffers_full, wal_write, wal_sync "
            "FROM pg_stat_wal"
        ).fetchone()
        bg = conn.execute(
            "SELECT checkpoints_timed + checkpoints_req, buffers_checkpoint, buffers_clean, "
            "buffers_backend, buffers_backend_fsync FROM pg_stat_bgwriter"
        ).fetchone()
    names = ["wal_records", "wal_fpi", "wal_bytes", "wal_buffers_full", "wal_write", "wal_sync"]
    names += ["checkpoints", "buffers_checkpoint", "buffers_clean", "buffers_backend"]
    names += ["buffers_backend_fsync"]
    return dict(zip(names, [float(x) for x in (*wal, *bg)], strict=True))


def wait_profile(data: dict[str, Any], role: str, start: float, end: float) -> dict[str, float]:
    """Share of the samples of ``role`` in each wait event (CPU: none)."""
    events = [e for t, r, e in data["waits"] if r == role and start <= t < end]
    if not events:
        return {}
    counts: dict[str, int] = {}
    for event in events:
        counts[event] = counts.get(event, 0) + 1
    ranked = sorted(counts.items(), key=lambda kv: -kv[1])
    return {"samples": float(len(events)), **{k: 100.0 * v / len(events) for k, v in ranked[:5]}}


def hog(seconds: float, nice: int = 0) -> None:
    """The control phase: one process spinning on one core, no database work (at nice value
    ``nice``)."""
    if nice:
        os.nice(nice)
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pass


def disk_writer(folder: str, ready: Any, go: Any, stop: Any, chunk_mb: int = 2000) -> None:
    """``inline-disk*``: stall the disk the way a large file copy or a backup does. Puts
    ``chunk_mb`` MB into the page cache (under the kernel's threshold for writing it out in
    the background), sets ``ready``, and once ``go`` is set flushes it with ``fdatasync``:
    the flush holds the disk for a second or more, and PostgreSQL's WAL writes queue behind
    it. Then writes and flushes again until ``stop``."""
    block = bytes(8 << 20)
    path = os.path.join(folder, f"headroom-disk-writer-{os.getpid()}")
    try:
        while not stop.is_set():
            with open(path, "wb") as f:
                for _ in range(chunk_mb // 8):
                    f.write(block)
                    if stop.is_set():
                        break
                ready.set()
                go.wait()
                os.fdatasync(f.fileno())
            os.unlink(path)
    finally:
        if os.path.exists(path):
            os.unlink(path)


class TimeoutCount:
    """A run's reporter that counts the batches cancelled by ``statement_timeout``."""

    def __init__(self) -> None:
        self.cancelled = 0

    def update(self, run: Any) -> None:
        pass

    def event(self, text: str) -> None:
        if "failed (statement_timeout" in text:
            self.cancelled += 1


def quantile(values: list[float], percent: int) -> float:
    """The ``percent``-th percentile of ``values`` (NaN with fewer than two)."""
    if len(values) < 2:
        return float("nan")
    return statistics.quantiles(values, n=100)[percent - 1]


def share_above(values: list[float], bound: float) -> float:
    """The share of ``values`` above ``bound`` (NaN with none)."""
    return sum(v > bound for v in values) / len(values) if values else float("nan")


def p95(values: list[float]) -> float:
    """The 95th percentile; with fewer than 20 values, the largest (a writer blocked through
    a whole phase has only a few, each as long as the block); NaN with none."""
    if not values:
        return float("nan")
    if len(values) < 20:
        return max(values)
    return statistics.quantiles(values, n=20)[18]


# --- the phases -------------------------------------------------------------------------


def single_update(conn: Any) -> tuple[int, float]:
    """The anchor: one UPDATE of the whole table, in one transaction, on ``conn``."""
    began = time.perf_counter()
    with conn.transaction():
        cursor = conn.execute(
            f"UPDATE {TABLE} SET total = quantity * unit_price WHERE total IS NULL"
        )
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


def hand_loop(conn: Any, step: int = 5000) -> tuple[int, float]:
    """The issue's yardstick for batching: a hand-written loop of ``step``-key primary-key
    range UPDATEs on ``conn`` (autocommit: one transaction each), with no checkpoint,
    throttle or progress."""
    top = conn.execute(f"SELECT max(id) FROM {TABLE}").fetchone()[0] or 0
    done = 0
    began = time.perf_counter()
    for low in range(0, top, step):
        cursor = conn.execute(
            f"UPDATE {TABLE} SET total = quantity * unit_price "
            "WHERE id > %s AND id <= %s AND total IS NULL",
            [low, low + step],
        )
        done += cursor.rowcount
    return done, time.perf_counter() - began


def backfill(executor: str, reporter: Any = None, **options: Any) -> tuple[int, float, Any]:
    from django.db import connection

    from headroom.backfill import run_backfill

    connection.close()
    began = time.perf_counter()
    run = run_backfill(
        "backfill_site.FillOrderTotals", executor=executor, reporter=reporter, **options
    )
    return run.rows_done, time.perf_counter() - began, run


def warm_coordinator() -> float:
    """Import the coordinator's Celery app and connect it to the broker, before any clock
    starts; returns the seconds it took. A ``headroom backfill run --executor celery``
    process pays this once, whatever the size of the run; here, without it, only the first
    round's Celery phase would (Python keeps the modules and the broker connection)."""
    from headroom.backfill.coordinator import celery_app

    began = time.perf_counter()
    with celery_app().producer_or_acquire() as producer:
        producer.connection.ensure_connection(max_retries=1)
    return time.perf_counter() - began


def batch_timeline(run: Any) -> dict[str, float]:
    """Where a Celery run's time went outside its batches (from its ``BackfillBatch`` rows):
    before the first batch began writing, between batches, and after the last one."""
    import datetime

    from headroom.backfill.models import BackfillBatch, BatchState

    done = list(
        BackfillBatch.objects.filter(run_id=run.pk, state=BatchState.DONE).order_by("finished_at")
    )
    if not done or run.started_at is None or run.finished_at is None:
        return {}
    starts = [b.finished_at - datetime.timedelta(seconds=b.seconds) for b in done]
    between = sum(
        max(0.0, (start - before.finished_at).total_seconds())
        for start, before in zip(starts[1:], done, strict=False)
    )
    return {
        "before_first": (starts[0] - run.started_at).total_seconds(),
        "between": between,
        "after_last": (run.finished_at - done[-1].finished_at).total_seconds(),
    }


def start_workers(
    count: int, reconnect: bool = False, pool: str = "prefork", nice: int = 0
) -> list[subprocess.Popen[str]]:
    """``count`` Celery workers of one process each (``pool``: Celery's ``--pool``; solo runs
    tasks in the worker's own process); ``reconnect``: with Celery's default of a new
    database connection for every task (the benchmark's app keeps it otherwise); ``nice``:
    started under ``nice -n`` that value (their database backends keep the server's)."""
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'src'}"}
    if reconnect:
        env["HEADROOM_BENCH_RECONNECT"] = "1"
    workers = []
    for n in range(count):
        command = [
            *(["nice", "-n", str(nice)] if nice else []),
            sys.executable,
            "-m",
            "celery",
            "-A",
            "benchmarks.backfill_site.celery_app",
            "worker",
            "--pool",
            pool,
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


PHASES = {
    "update": "single UPDATE",
    "update-end": "single UPDATE, end of round",
    "hog": "CPU hog (control)",
    "rest": "nothing (control)",
    "naive": "naive save() loop",
    "hand": "hand loop, 5,000-key UPDATEs",
    "inline": "backfill inline",
    "celery": "backfill celery x2",
    "celery1": "backfill celery x1",
    "celery-reconnect": "backfill celery x2, a connection a task",
    "celery1-reconnect": "backfill celery x1, a connection a task",
    "celery-solo": "backfill celery x2, solo pool",
    "celery-nice": "backfill celery x2, workers nice 19",
    "celery1-nice": "backfill celery x1, worker nice 19",
    "celery-2": "backfill celery x2, 2 writing",
    "hog-low": "CPU hog at nice 19 (control)",
    "inline-low": "backfill inline, backends nice 19",
    "inline-slice": "backfill inline, backends 0.1 ms slice",
    "update-slice": "single UPDATE, backend 0.1 ms slice",
    "inline-async": "backfill inline, synchronous_commit off",
    "inline-untidy": "backfill inline, no tidy",
    "celery-untidy": "backfill celery x2, no tidy",
    "inline-disk": "backfill inline, disk writer",
    "inline-disk-5s": "backfill inline, disk writer, 5 s limit",
    "inline-disk-async": "backfill inline, disk writer, async commit",
    "inline-probe": "backfill inline, probe 1.25x",
    "celery-probe": "backfill celery x2, probe 1.25x",
}
#: Run options of each backfill phase (the settings are at their defaults otherwise).
OPTIONS: dict[str, dict[str, Any]] = {
    "inline": {"executor": "inline"},
    "celery": {"executor": "celery"},
    "celery1": {"executor": "celery"},
    "celery-reconnect": {"executor": "celery"},
    "celery1-reconnect": {"executor": "celery"},
    "celery-solo": {"executor": "celery"},
    "celery-nice": {"executor": "celery"},
    "celery1-nice": {"executor": "celery"},
    "celery-2": {"executor": "celery", "concurrent_batches": 2},
    "inline-low": {"executor": "inline"},
    "inline-slice": {"executor": "inline"},
    "inline-async": {"executor": "inline", "synchronous_commit": "off"},
    "inline-untidy": {"executor": "inline", "tidy": False},
    "celery-untidy": {"executor": "celery", "tidy": False},
    "inline-disk": {"executor": "inline"},
    # The statement time-out before it was twice the target ("auto", the default now).
    "inline-disk-5s": {"executor": "inline", "statement_timeout": 5.0},
    "inline-disk-async": {"executor": "inline", "synchronous_commit": "off"},
    "inline-probe": {"executor": "inline", "latency_probe_ratio": 1.25},
    "celery-probe": {"executor": "celery", "latency_probe_ratio": 1.25},
}
#: Celery workers started for a phase (celery1*: one; the other Celery phases: two).
WORKERS = {"celery1": 1, "celery1-reconnect": 1, "celery1-nice": 1}


def renice_backend(sender: Any, connection: Any, **_: Any) -> None:
    """``inline-low``: run each new connection's server process (the runner's, the tidy
    thread's) at nice 19. The benchmark's server is on this machine and the benchmark runs
    as root, so it renices the backend from outside."""
    from headroom.backfill.database import backend_pid

    pid = backend_pid(connection.alias)
    if pid:
        os.setpriority(os.PRIO_PROCESS, pid, 19)


def short_slice(pid: int, nanoseconds: int = 100_000) -> None:
    """Give server process ``pid`` a custom time slice (``sched_setattr`` with
    ``sched_runtime`` on a SCHED_OTHER task; Linux 6.12 and later): a task woken on its core
    waits at most about that long for it. Root only, as ``renice_backend``."""
    import ctypes
    import struct

    attr = struct.pack("IIQiIQQQII", 56, 0, 0, 0, 0, nanoseconds, 0, 0, 0, 0)
    buffer = ctypes.create_string_buffer(attr, len(attr))
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.syscall(314, pid, buffer, 0) != 0:  # SYS_sched_setattr on x86_64
        raise OSError(ctypes.get_errno(), f"sched_setattr({pid})")


def slice_backend(sender: Any, connection: Any, **_: Any) -> None:
    """``inline-slice``: each new connection's server process gets a 0.1 ms slice."""
    from headroom.backfill.database import backend_pid

    pid = backend_pid(connection.alias)
    if pid:
        short_slice(pid)


def run_phase(key: str, args: argparse.Namespace, anchor_seconds: float | None) -> dict[str, Any]:
    """Rebuild the table, measure the traffic idle, then during phase ``key``."""
    from django.db import connections
    from django.db.backends.signals import connection_created

    rebuild(args.rows)
    workers: list[subprocess.Popen[str]] = []
    known: dict[str, int | None] = {"runner (benchmark process)": os.getpid()}
    traffic = Traffic(args.rows, args.read_rate, args.write_rate)
    # The UPDATE's and the hand loop's connection, open until the CPU is counted: a backend
    # that has exited can no longer be found, and its CPU would go uncounted.
    own = pg()
    epoch = time.time() - time.monotonic()  # monotonic + epoch: pgbench's log clock
    try:
        known.update(traffic.pids)
        if key.startswith("celery"):
            workers = start_workers(
                WORKERS.get(key, 2),
                reconnect=key.endswith("reconnect"),
                pool="solo" if key == "celery-solo" else "prefork",
                nice=19 if key.endswith("nice") else 0,
            )
        writer, ready, go, stop = None, multiprocessing.Event(), multiprocessing.Event(), None
        if key.startswith("inline-disk"):
            stop = multiprocessing.Event()
            # Beside the server's data directory (the server is on this machine), so that the
            # writer stalls the disk the WAL is on; a temporary folder may be in memory.
            data = Path(own.execute("SHOW data_directory").fetchone()[0])
            writer = multiprocessing.Process(
                target=disk_writer, args=(str(data.parent), ready, go, stop), daemon=True
            )
            writer.start()
            known["disk writer"] = writer.pid
            ready.wait(60)  # its data in the page cache before the idle window
        sampling = Sampler()
        known["sampler"] = sampling.process.pid
        # The reader's two processes, whose waits for a CPU are counted apart.
        reads = traffic.processes.get("reads")
        waiting = {"backend": reader_backend(own), "pgbench": reads.pid if reads else None}
        time.sleep(1.0)
        idle_start = time.monotonic()
        cpu_idle = cpu_snapshot(known)
        queue_idle = run_queue(waiting)
        time.sleep(args.idle)
        cpu_before = cpu_snapshot(known)
        queue_before = run_queue(waiting)
        counters = server_counters()
        start = time.monotonic()
        extra: dict[str, Any] = {}
        if key in ("update", "update-slice"):
            if key == "update-slice":
                short_slice(own.info.backend_pid)
            rows, seconds = single_update(own)
        elif key in ("hog", "hog-low"):
            spinner = multiprocessing.Process(
                target=hog, args=(anchor_seconds or 3.0, 19 if key == "hog-low" else 0)
            )
            began = time.perf_counter()
            spinner.start()
            known["CPU hog"] = spinner.pid
            spinner.join()
            rows, seconds = 0, time.perf_counter() - began
        elif key == "rest":
            began = time.perf_counter()
            time.sleep(anchor_seconds or 3.0)
            rows, seconds = 0, time.perf_counter() - began
        elif key == "naive":
            rows, seconds = naive_loop(args.naive_rows)
        elif key == "hand":
            rows, seconds = hand_loop(own)
        else:
            if key == "inline-low":
                connection_created.connect(renice_backend, dispatch_uid="bench-renice")
            if key == "inline-slice":
                connection_created.connect(slice_backend, dispatch_uid="bench-renice")
            counter = TimeoutCount()
            if writer is not None:
                # The first flush begins 1 s into the run, when its batches are full-sized.
                threading.Timer(1.0, go.set).start()
            try:
                rows, seconds, run = backfill(reporter=counter, **OPTIONS[key])
            finally:
                connection_created.disconnect(dispatch_uid="bench-renice")
                if writer is not None:
                    go.set()
                    stop.set()
                    writer.join(60)
            extra = {
                "batches": run.batches_done,
                "final_batch_size": run.batch_size,
                "longest_batch_seconds_reported": run.longest_batch_seconds,
                "busy_seconds": run.seconds_busy,
                "timeline": batch_timeline(run),
                "statement_timeouts": counter.cancelled,
            }
        end = time.monotonic()
        cpu_after = cpu_snapshot(known)
        queue_after = run_queue(waiting)
        # A connected backend reports its WAL and table figures to the server's statistics
        # at most once a second, and at once when it exits: end the phase's connections (the
        # runner's, the UPDATE's, the workers') before counting, or the last batches' WAL
        # would be left out.
        connections.close_all()
        own.close()
        stop_workers(workers)
        time.sleep(0.2)
        after = server_counters()
        data = sampling.finish()
        traffic.finish(end + epoch)
        idle = (idle_start + epoch, start + epoch)
        during = (start + epoch, end + epoch)
        read_idle, read_during = traffic.reads(*idle), traffic.reads(*during)
        write_idle, write_during = traffic.writes(*idle), traffic.writes(*during)
    finally:
        own.close()
        stop_workers(workers)
        traffic.close()
    locks = [s for t, s in data["locks"] if start <= t <= end + 0.05]
    r = {
        "rows": rows,
        "seconds": seconds,
        "rows_per_second": rows / seconds,
        "longest_lock_seconds": max(locks, default=0.0),
        "read_samples_idle": len(read_idle),
        "read_samples": len(read_during),
        "read_p95_idle_ms": 1000 * p95(read_idle),
        "read_p95_ms": 1000 * p95(read_during),
        "read_p50_idle_ms": 1000 * statistics.median(read_idle or [float("nan")]),
        "read_p50_ms": 1000 * statistics.median(read_during or [float("nan")]),
        "read_p99_idle_ms": 1000 * quantile(read_idle, 99),
        "read_p99_ms": 1000 * quantile(read_during, 99),
        "read_slow_share": share_above(read_during, p95(read_idle)),
        "write_samples": len(write_during),
        "write_p95_idle_ms": 1000 * p95(write_idle),
        "write_p95_ms": 1000 * p95(write_during),
        "write_max_ms": 1000 * max(write_during, default=0.0),
        "reader_waits_idle": wait_profile(data, "reader", idle_start, start),
        "reader_waits": wait_profile(data, "reader", start, end),
        "backfill_waits": wait_profile(data, "backfill", start, end),
        "cpu_idle": cpu_delta(cpu_idle, cpu_before),
        # Microseconds per read that the reader's backend and client waited for a CPU.
        "read_run_queue_idle_us": {
            role: (queue_before[role] - queue_idle[role]) / 1000 / max(1, len(read_idle))
            for role in queue_before
            if role in queue_idle
        },
        "read_run_queue_us": {
            role: (queue_after[role] - queue_before[role]) / 1000 / max(1, len(read_during))
            for role in queue_after
            if role in queue_before
        },
        "cpu": cpu_delta(cpu_before, cpu_after),
        "server": {k: after[k] - counters[k] for k in after},
        **extra,
    }
    r["read_p95_ratio"] = r["read_p95_ms"] / r["read_p95_idle_ms"]
    r["_read_idle"] = read_idle  # for the round's pooled idle p95 (not written to --json)
    r["write_p95_ratio"] = r["write_p95_ms"] / r["write_p95_idle_ms"]
    return r


def spread(values: list[float], fmt: str) -> str:
    """The median, and the range when there is more than one value."""
    middle = format(statistics.median(values), fmt)
    if len(values) < 2:
        return middle
    return f"{middle} ({format(min(values), fmt)}-{format(max(values), fmt)})"


def print_diagnosis(phase: str, r: dict[str, Any]) -> None:
    print(
        f"  {phase}: reader {r['read_samples_idle']:,} reads idle, {r['read_samples']:,} "
        f"during; p50 {1000 * r['read_p50_idle_ms']:.0f}->{1000 * r['read_p50_ms']:.0f} us, "
        f"p95 {1000 * r['read_p95_idle_ms']:.0f}->{1000 * r['read_p95_ms']:.0f} us, "
        f"p99 {1000 * r['read_p99_idle_ms']:.0f}->{1000 * r['read_p99_ms']:.0f} us, "
        f"{100 * r['read_slow_share']:.0f}% of the reads during above the idle p95; "
        f"writer {r['write_samples']:,} writes during, p95 {r['write_p95_idle_ms']:.1f}->"
        f"{r['write_p95_ms']:.1f} ms, the slowest {r['write_max_ms']:.0f} ms"
    )
    queue_idle, queue = r["read_run_queue_idle_us"], r["read_run_queue_us"]
    if queue:
        print(
            "    reader's wait for a CPU, per read: "
            + ", ".join(
                f"{role} {queue_idle.get(role, float('nan')):.0f}->{queue[role]:.0f} us"
                for role in queue
            )
        )
    for label, profile in (
        ("reader idle", r["reader_waits_idle"]),
        ("reader during", r["reader_waits"]),
        ("backfill/UPDATE", r["backfill_waits"]),
    ):
        if profile:
            shares = ", ".join(f"{k} {v:.0f}%" for k, v in profile.items() if k != "samples")
            print(f"    {label:<16} ({profile['samples']:.0f} samples) {shares}")
    for label, cpu in (("CPU idle", r["cpu_idle"]), ("CPU during", r["cpu"])):
        shares = ", ".join(
            f"{k.removeprefix('cores: ')} {v:.2f}" for k, v in cpu.items() if k.startswith("cores")
        )
        print(
            f"    {label:<16} busy {cpu['machine busy %']:.0f}%, "
            f"iowait {cpu['iowait %']:.0f}%, steal {cpu['steal %']:.0f}%; cores: {shares}"
        )
    if r.get("batches"):
        print(
            f"    batches          {r['batches']} writing for {r['busy_seconds']:.2f} s of the "
            f"run's {r['seconds']:.2f} s ({100 * r['busy_seconds'] / r['seconds']:.0f}%), the "
            f"longest {r['longest_batch_seconds_reported']:.2f} s, "
            f"{r['statement_timeouts']} cancelled by statement_timeout"
        )
    if r.get("timeline"):
        t = r["timeline"]
        print(
            f"    outside batches  {t['before_first']:.3f} s before the first began writing, "
            f"{t['between']:.3f} s between batches, {t['after_last']:.3f} s after the last"
        )
    server = r["server"]
    print(
        f"    server           WAL {server['wal_bytes'] / 1e6:,.0f} MB "
        f"({server['wal_fpi']:,.0f} full pages), {server['wal_sync']:,.0f} WAL syncs, "
        f"{server['wal_buffers_full']:,.0f} waits on full WAL buffers, "
        f"{server['checkpoints']:.0f} checkpoints, {server['buffers_backend']:,.0f} buffers "
        "written by backends"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--naive-rows", type=int, default=100_000)
    parser.add_argument("--idle", type=float, default=6.0, help="idle seconds before each phase")
    parser.add_argument(
        "--read-rate", type=int, default=300, help="the reader's primary-key reads a second"
    )
    parser.add_argument(
        "--write-rate",
        type=int,
        default=50,
        help="the writer's updates of random rows a second (0: no writer)",
    )
    parser.add_argument(
        "--phases",
        default="update,rest,hog,naive,inline,celery",
        help=f"comma-separated, from {', '.join(PHASES)} (update is the anchor, always run)",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="rounds of the phases (the naive loop runs in the first only); figures are the "
        "median over the rounds, each ratio taken against the mean of the single UPDATEs that "
        "begin and end the round",
    )
    parser.add_argument(
        "--diagnose",
        action="store_true",
        help="also print, per phase of the last round, wait events, CPU by role and WAL",
    )
    parser.add_argument(
        "--server",
        choices=("machine", "tuned", "both"),
        default="both",
        help="machine: the PostgreSQL at HEADROOM_TEST_PG_HOST/PORT (127.0.0.1:5432) as it is; "
        "tuned: a private cluster of the same binaries with every setting `headroom dbconfig` "
        "recommends for this machine (benchmarks/pgserver.py); both (default): one, then the "
        "other",
    )
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args(argv)
    if args.server == "both":
        return both_servers(argv or sys.argv[1:], args)
    if args.server == "tuned":
        from benchmarks.pgserver import tuned_server

        with tuned_server() as server:
            os.environ.update(server.env)
            print(
                f"server: private PostgreSQL on 127.0.0.1:{server.port}, as headroom dbconfig "
                f"advises: {'; '.join(server.applied) or 'nothing to change'}"
            )
            return measure(args)
    print(
        f"server: PostgreSQL on {os.environ.get('HEADROOM_TEST_PG_HOST', '127.0.0.1')}:"
        f"{os.environ.get('HEADROOM_TEST_PG_PORT', '5432')} with its own settings"
    )
    return measure(args)


def without_option(argv: list[str], name: str) -> list[str]:
    """``argv`` without ``name VALUE`` or ``name=VALUE``."""
    out: list[str] = []
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg == name:
            skip = True
        elif not arg.startswith(f"{name}="):
            out.append(arg)
    return out


def both_servers(argv: list[str], args: argparse.Namespace) -> int:
    """Run the benchmark on the machine's server, then on a tuned one, each in a process of
    its own (Django reads the server's address once); the last lines put them side by side."""

    lines = []
    for server in ("machine", "tuned"):
        with tempfile.NamedTemporaryFile(suffix=".json") as out:
            rest = without_option(argv, "--server")
            command = [sys.executable, __file__, *rest, "--server", server, "--json", out.name]
            print(f"=== {server} ===", flush=True)
            if subprocess.run(command).returncode:
                return 1
            summary = json.loads(Path(out.name).read_text() or "{}")
        ratios = [
            f"{phase.removeprefix('backfill ')} {r['ratio']:.2f}x "
            f"(read p95 {r['read_p95_ratio']:.2f}x)"
            for phase, r in summary.items()
            if phase.startswith("backfill")
        ]
        lines.append(f"  {server + ' server:':<16} {', '.join(ratios)}")
        if args.json:
            Path(f"{args.json}.{server}.json").write_text(json.dumps(summary, indent=2))
    print()
    print("backfill throughput / single UPDATE:")
    print("\n".join(lines))
    return 0


def measure(args: argparse.Namespace) -> int:
    chosen = ["update"] + [
        p for p in args.phases.split(",") if p in PHASES and p not in ("update", "update-end")
    ]

    create_database()
    from django.conf import settings

    target = settings.HEADROOM.get("BACKFILL_TARGET_BATCH_SECONDS", 0.5)
    print(
        f"{args.rows:,} rows on PostgreSQL; target batch time {target} s; {os.cpu_count()} "
        f"CPU(s); {args.repeat} round(s)",
        flush=True,
    )
    if any(key.startswith("celery") for key in chosen):
        print(
            f"Celery coordinator start-up, once per process and before any clock: "
            f"{warm_coordinator():.2f} s (importing the app and its broker transport, "
            f"connecting to the broker)",
            flush=True,
        )
    rounds: list[dict[str, dict[str, Any]]] = []
    for n in range(max(1, args.repeat)):
        results: dict[str, dict[str, Any]] = {}
        # The round ends with a second UPDATE: each ratio is taken against the mean of the
        # two, so that the machine slowing down or speeding up during the round does not
        # favour the phases that ran first or last.
        for key in [*chosen, "update-end"]:
            if key == "naive" and n > 0:
                continue
            phase = PHASES[key]
            anchor = results.get("single UPDATE", {}).get("seconds")
            r = run_phase("update" if key == "update-end" else key, args, anchor)
            results[phase] = r
            first = results["single UPDATE"]["rows_per_second"]
            print(
                f"  round {n + 1}: {phase:<36} {r['rows']:>9,} rows in {r['seconds']:7.2f} s = "
                f"{r['rows_per_second']:>9,.0f} rows/s {r['rows_per_second'] / first:.2f}x "
                f"the first UPDATE, read p95 {r['read_p95_ratio']:.2f}x"
                + (
                    f", batches writing {100 * r['busy_seconds'] / r['seconds']:.0f}% of it"
                    if r.get("busy_seconds")
                    else ""
                ),
                flush=True,
            )
        anchor_rate = statistics.mean(
            results[name]["rows_per_second"] for name in ("single UPDATE", PHASES["update-end"])
        )
        for r in results.values():
            r["ratio"] = r["rows_per_second"] / anchor_rate
        print(
            f"  round {n + 1}: the UPDATEs at its start and end: "
            f"{results['single UPDATE']['seconds']:.2f} s and "
            f"{results[PHASES['update-end']]['seconds']:.2f} s; ratios are to their mean, "
            f"{anchor_rate:,.0f} rows/s: "
            + ", ".join(
                f"{name} {r['ratio']:.2f}x" for name, r in results.items() if r["rows"] > 0
            ),
            flush=True,
        )
        # Every phase's idle window is the same state (the table rebuilt, the traffic alone):
        # pooled, they give an idle p95 that one noisy window moves less.
        pooled = 1000 * p95([v for r in results.values() for v in r.pop("_read_idle")])
        for r in results.values():
            r["read_p95_pooled_idle_ms"] = pooled
            r["read_p95_pooled_ratio"] = r["read_p95_ms"] / pooled
        rounds.append(results)

    print()
    print(
        f"{'phase':<32} {'rows/s':>9} {'x UPDATE':>17} {'lock':>6} "
        f"{'read p95 x idle':>17} {'x pooled idle':>17} {'write p95 x idle':>17}"
    )
    summary: dict[str, dict[str, Any]] = {}
    for phase in (PHASES[k] for k in [*chosen, "update-end"]):
        runs = [results[phase] for results in rounds if phase in results]
        if not runs:
            continue
        summary[phase] = {
            "rows_per_second": statistics.median(r["rows_per_second"] for r in runs),
            "ratio": statistics.median(r["ratio"] for r in runs),
            "ratios": [r["ratio"] for r in runs],
            "longest_lock_seconds": max(r["longest_lock_seconds"] for r in runs),
            "read_p95_ratio": statistics.median(r["read_p95_ratio"] for r in runs),
            "read_p95_ratios": [r["read_p95_ratio"] for r in runs],
            "read_p95_pooled_ratio": statistics.median(r["read_p95_pooled_ratio"] for r in runs),
            "write_p95_ratio": statistics.median(r["write_p95_ratio"] for r in runs),
            "rounds": runs,
        }
        print(
            f"{phase[:32]:<32} {summary[phase]['rows_per_second']:>9,.0f} "
            f"{spread([r['ratio'] for r in runs], '.2f'):>17} "
            f"{summary[phase]['longest_lock_seconds']:>5.2f}s "
            f"{spread([r['read_p95_ratio'] for r in runs], '.2f'):>17} "
            f"{spread([r['read_p95_pooled_ratio'] for r in runs], '.2f'):>17} "
            f"{spread([r['write_p95_ratio'] for r in runs], '.1f'):>17}"
        )
    print(
        "(medians over the rounds, range in brackets; lock: the longest any transaction of the "
        "phase held row locks, over all rounds; read: pgbench reading by primary key "
        f"{args.read_rate} times a second, its p95 against its p95 in the {args.idle:g} s before "
        "the phase (judged) and against the p95 of the idle windows of all the round's phases "
        "pooled (x pooled idle); write: pgbench updating a random row "
        f"{args.write_rate} times a second, each write's latency counted from the moment it "
        "was due)"
    )
    if "naive save() loop" in summary:
        naive = summary["naive save() loop"]["rounds"][0]
        print(f"(the naive loop was timed over its first {naive['rows']:,} rows, in round 1)")
    if args.diagnose:
        print()
        print("what the reader and the backfill waited on (share of pg_stat_activity samples")
        print("while active; CPU = running or runnable, no wait event), and where the CPU went")
        print("(last round):")
        for phase, r in rounds[-1].items():
            print_diagnosis(phase, r)
    if "CPU hog (control)" in summary:
        hog_runs = summary["CPU hog (control)"]["rounds"]
        print(
            "control: one process spinning on one core for as long as the UPDATE took, with no "
            "database work, raised the reader's p95 "
            f"{spread([r['read_p95_ratio'] for r in hog_runs], '.2f')}x: what keeping one "
            f"of this machine's {os.cpu_count()} cores busy costs the reader, whatever does it"
        )
    if "nothing (control)" in summary:
        rest_runs = summary["nothing (control)"]["rounds"]
        print(
            "control: nothing at all for as long as the UPDATE took gave the reader's p95 "
            f"{spread([r['read_p95_ratio'] for r in rest_runs], '.2f')}x its p95 in the "
            "window before: how far that ratio moves on this machine with no work"
        )
    print(f"(target: backfill >= 0.90x, lock <= {2 * target:.1f} s, read p95 <= 1.25x idle)")
    if args.json:
        Path(args.json).write_text(json.dumps(summary, indent=2))
    ratios = [
        f"{phase.removeprefix('backfill ')} {r['ratio']:.2f}x (read p95 {r['read_p95_ratio']:.2f}x)"
        for phase, r in summary.items()
        if phase.startswith("backfill")
    ]
    print(f"backfill throughput / single UPDATE: {', '.join(ratios)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
