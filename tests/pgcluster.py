"""Private, throw-away PostgreSQL clusters: found binaries, a free port, ``initdb``, start,
stop. Used by the replica-lag tests (tests/pgreplica.py) and by the backfill benchmark's
tuned server (benchmarks/pgserver.py); nothing here imports pytest.

PostgreSQL refuses to run as root; as root its programs run as the ``postgres`` user (which
the Debian server package creates). The binaries are looked for in ``HEADROOM_PG_BINDIR``,
then the newest ``/usr/lib/postgresql/<version>/bin``, then the PATH.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

OWNER = "postgres"


def find_bindir(names: tuple[str, ...] = ("initdb", "pg_ctl")) -> Path | None:
    """The folder holding every program of ``names``, or None."""
    candidates: list[Path] = []
    if os.environ.get("HEADROOM_PG_BINDIR"):
        candidates.append(Path(os.environ["HEADROOM_PG_BINDIR"]))
    versions = sorted(
        (Path(p).parent for p in glob.glob("/usr/lib/postgresql/*/bin/initdb")),
        key=lambda folder: int(folder.parent.name) if folder.parent.name.isdigit() else 0,
        reverse=True,
    )
    candidates.extend(versions)
    initdb = shutil.which("initdb")
    if initdb:
        candidates.append(Path(initdb).parent)
    for folder in candidates:
        if all(os.access(folder / name, os.X_OK) for name in names):
            return folder
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def new_folder(prefix: str) -> Path:
    """A temporary folder the clusters' owner can write in."""
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    if os.geteuid() == 0:
        shutil.chown(folder, OWNER)
    return folder


@dataclass
class Cluster:
    name: str
    port: int
    data: Path
    log: Path

    @property
    def application_name(self) -> str:
        """The name it streams under: its row in the upstream's pg_stat_replication."""
        return f"headroom_{self.name}"

    def connect(self, dbname: str = "postgres") -> Any:
        """A new autocommit psycopg connection (close it, or use it in ``with``)."""
        import psycopg

        return psycopg.connect(
            host="127.0.0.1", port=self.port, user="postgres", dbname=dbname, autocommit=True
        )

    def query(self, sql: str, params: list[Any] | None = None) -> Any:
        """The first row of ``sql`` (None for a statement without rows), in a connection of
        its own."""
        with self.connect() as conn:
            cursor = conn.execute(sql, params or [])
            return cursor.fetchone() if cursor.description else None

    def django_settings(self, dbname: str = "postgres") -> dict[str, Any]:
        """A ``DATABASES`` entry for this cluster."""
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": dbname,
            "USER": "postgres",
            "HOST": "127.0.0.1",
            "PORT": str(self.port),
        }


def as_owner(command: list[str]) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", OWNER, "--", *command]
    return command


def run(command: list[str], timeout: float = 60) -> None:
    done = subprocess.run(
        as_owner(command), capture_output=True, text=True, timeout=timeout, cwd="/"
    )
    if done.returncode:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stdout}{done.stderr}")


def tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def append_settings(conf: Path, settings: dict[str, str]) -> None:
    """Add ``key = value`` lines to a postgresql.conf (the last line of a key wins). As root
    the file belongs to postgres; appending keeps its owner and mode."""
    with conf.open("a") as f:
        f.write("\n# headroom\n")
        for key, value in settings.items():
            f.write(f"{key} = {value}\n")


def init(bindir: Path, folder: Path, name: str, settings: dict[str, str]) -> Cluster:
    """A new cluster ``name`` in ``folder`` on a free port of 127.0.0.1 (trust
    authentication, user postgres), with ``settings`` in its postgresql.conf; not started."""
    cluster = Cluster(name, free_port(), folder / name, folder / f"{name}.log")
    options = ["-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync", "--no-instructions"]
    run([str(bindir / "initdb"), "-D", str(cluster.data), *options])
    append_settings(
        cluster.data / "postgresql.conf",
        {
            "listen_addresses": "'127.0.0.1'",
            "port": str(cluster.port),
            "unix_socket_directories": f"'{folder}'",
            **settings,
        },
    )
    return cluster


def start(bindir: Path, cluster: Cluster) -> None:
    run([str(bindir / "pg_ctl"), "-D", str(cluster.data), "-l", str(cluster.log), "-w", "start"])


def restart(bindir: Path, cluster: Cluster) -> None:
    run([str(bindir / "pg_ctl"), "-D", str(cluster.data), "-l", str(cluster.log), "-w", "restart"])


def stop(bindir: Path, cluster: Cluster, mode: str = "immediate") -> None:
    """Stop it (at once by default: the files are deleted next); quiet when it is not
    running."""
    with suppress(RuntimeError, subprocess.TimeoutExpired):
        run([str(bindir / "pg_ctl"), "-D", str(cluster.data), "-m", mode, "stop"])
