"""A private PostgreSQL server for the benchmarks, configured the way ``headroom dbconfig``
says this machine's database should be.

The machine's own PostgreSQL runs with its package's settings (128 MB of
``shared_buffers``, 4 MB of WAL buffers, autovacuum off here), which ``headroom dbconfig``
itself flags. A benchmark of what a backfill does to a site's reads should also run where
those settings are fixed, so :func:`tuned_server` starts a throw-away cluster of the same
PostgreSQL binaries on a free port, asks ``headroom dbconfig --json`` about it, applies every
``ALTER SYSTEM`` it recommends, restarts it, and yields the environment that points the
benchmark's Django settings (and its Celery workers) at it. The cluster and its files are
removed when the block ends.

    with tuned_server() as server:
        print(server.applied)        # ["shared_buffers = '6026MB'", ...]
        subprocess.run([...], env={**os.environ, **server.env})
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]

from tests import pgcluster  # noqa: E402  (the repository root is on the path now)


@dataclass
class Server:
    cluster: pgcluster.Cluster
    #: ``setting = value`` for each recommendation applied.
    applied: list[str] = field(default_factory=list)

    @property
    def port(self) -> int:
        return self.cluster.port

    @property
    def env(self) -> dict[str, str]:
        return {"HEADROOM_TEST_PG_HOST": "127.0.0.1", "HEADROOM_TEST_PG_PORT": str(self.port)}


def _recommendations(server: Server) -> list[dict[str, object]]:
    env = {
        **os.environ,
        **server.env,
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "src")]),
        "DJANGO_SETTINGS_MODULE": "benchmarks.backfill_site.settings",
        "HEADROOM_BENCH_DB": "postgres",
    }
    done = subprocess.run(
        [sys.executable, "-m", "headroom", "dbconfig", "--json", "--database", "default"],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
    )
    if done.returncode not in (0, 1):
        raise SystemExit(f"headroom dbconfig failed on the private server:\n{done.stderr}")
    audits = json.loads(done.stdout)
    return [r for audit in audits for r in audit["recommendations"]]


def _apply(server: Server) -> bool:
    """Run every ALTER SYSTEM that dbconfig recommends; True when one needs a restart."""
    restart = False
    with server.cluster.connect() as conn:
        for rec in _recommendations(server):
            lines = [
                line.strip().rstrip(";")
                for line in str(rec["fix"]).splitlines()
                if line.strip().upper().startswith("ALTER SYSTEM")
            ]
            for line in lines:
                conn.execute(line)
            if lines:
                server.applied.append(f"{rec['setting']} = {rec['recommended']}")
                restart = restart or bool(rec["restart"])
        conn.execute("SELECT pg_reload_conf()")
    return restart


@contextlib.contextmanager
def tuned_server() -> Iterator[Server]:
    """A new PostgreSQL cluster on a free port of 127.0.0.1 with ``headroom dbconfig``'s
    recommendations applied; stopped and deleted afterwards."""
    bindir = pgcluster.find_bindir()
    if bindir is None:
        raise SystemExit("initdb not found: set HEADROOM_PG_BINDIR to PostgreSQL's bin folder")
    folder = pgcluster.new_folder("headroom-pg-")
    started: pgcluster.Cluster | None = None
    try:
        cluster = pgcluster.init(bindir, folder, "tuned", {})
        pgcluster.start(bindir, cluster)
        started = cluster
        server = Server(cluster)
        if _apply(server):
            pgcluster.restart(bindir, cluster)
        yield server
    finally:
        if started is not None:
            pgcluster.stop(bindir, started, mode="fast")
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    with tuned_server() as s:
        print(f"PostgreSQL on 127.0.0.1:{s.port} in {s.cluster.data}")
        for line in s.applied:
            print(f"  {line}")
