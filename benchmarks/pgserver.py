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
import glob
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Server:
    port: int
    folder: Path
    #: ``setting = value`` for each recommendation applied.
    applied: list[str] = field(default_factory=list)

    @property
    def env(self) -> dict[str, str]:
        return {"HEADROOM_TEST_PG_HOST": "127.0.0.1", "HEADROOM_TEST_PG_PORT": str(self.port)}


def bindir() -> Path:
    """The folder of ``initdb`` and ``pg_ctl``: $HEADROOM_PG_BINDIR, else the newest of
    Debian's /usr/lib/postgresql/*/bin, else the PATH."""
    if os.environ.get("HEADROOM_PG_BINDIR"):
        return Path(os.environ["HEADROOM_PG_BINDIR"])
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0,
    )
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    if initdb is None:
        raise SystemExit("initdb not found: set HEADROOM_PG_BINDIR to PostgreSQL's bin folder")
    return Path(initdb).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_owner(command: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: run its programs as the ``postgres`` user then."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *command]
    return command


def _run(command: list[str]) -> None:
    done = subprocess.run(_as_owner(command), capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stdout}{done.stderr}")


def _pg_ctl(server: Server, action: str) -> None:
    data = server.folder / "data"
    options = f"-p {server.port} -k {server.folder} -c listen_addresses=127.0.0.1"
    command = [str(bindir() / "pg_ctl"), "-D", str(data), "-w", "-t", "120"]
    if action == "stop":
        command += ["-m", "fast", "stop"]
    else:
        command += ["-o", options, "-l", str(server.folder / "server.log"), action]
    _run(command)


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
    import psycopg

    restart = False
    with psycopg.connect(
        host="127.0.0.1", port=server.port, user="postgres", dbname="postgres", autocommit=True
    ) as conn:
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
    folder = Path(tempfile.mkdtemp(prefix="headroom-pg-"))
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres")
    server = Server(port=free_port(), folder=folder)
    started = False
    try:
        _run(
            [
                str(bindir() / "initdb"),
                "-D",
                str(folder / "data"),
                "-A",
                "trust",
                "-U",
                "postgres",
                "-E",
                "UTF8",
                "--no-sync",
            ]
        )
        _pg_ctl(server, "start")
        started = True
        if _apply(server):
            _pg_ctl(server, "restart")
        yield server
    finally:
        if started:
            with contextlib.suppress(SystemExit):
                _pg_ctl(server, "stop")
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    with tuned_server() as s:
        print(f"PostgreSQL on 127.0.0.1:{s.port} in {s.folder}")
        for line in s.applied:
            print(f"  {line}")
