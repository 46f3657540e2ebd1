"""A private PostgreSQL primary with a streaming hot standby, for the replica-lag tests.

:func:`streaming_pair` makes a new cluster (``initdb`` into a temporary folder, a free port
of 127.0.0.1), clones it with ``pg_basebackup -R`` into a standby on another free port,
waits until the primary's ``pg_stat_replication`` shows the standby streaming, and stops and
deletes both at the end. With ``cascade=True`` a third cluster streams from the standby. The
clusters run with ``fsync`` off and small memory settings: they hold a few thousand rows and
are thrown away.

PostgreSQL refuses to run as root; as root its programs run as the ``postgres`` user (which
the Debian server package creates). The binaries are looked for in ``HEADROOM_PG_BINDIR``,
then the newest ``/usr/lib/postgresql/<version>/bin``, then the PATH. Without them
:func:`require_binaries` skips the test, or fails it under ``HEADROOM_REQUIRE_SERVICES=1``.

:func:`django_aliases` adds Django database aliases for the pair while a test runs, and takes
them away afterwards; pytest-django never sees them, so it makes no test database for them.
"""

from __future__ import annotations

import os
import pwd
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests import services
from tests.pgcluster import (
    OWNER,
    Cluster,
    append_settings,
    find_bindir,
    free_port,
    init,
    new_folder,
    run,
    start,
    stop,
    tail,
)

#: Settings of every cluster (a standby starts with a copy of the primary's file).
SETTINGS = {
    "fsync": "off",
    "shared_buffers": "'16MB'",
    "max_connections": "40",
    "max_wal_senders": "4",
    "hot_standby": "on",
    # No commits of its own while a test reads replay positions.
    "autovacuum": "off",
}


def require_binaries() -> Path:
    """PostgreSQL's server binaries, or skip (fail under HEADROOM_REQUIRE_SERVICES=1)."""
    reason = ""
    folder = find_bindir(("initdb", "pg_ctl", "pg_basebackup"))
    if folder is None:
        reason = (
            "needs PostgreSQL's initdb, pg_ctl and pg_basebackup (Debian package "
            "postgresql-15, or HEADROOM_PG_BINDIR)"
        )
    elif os.geteuid() == 0:
        try:
            pwd.getpwnam(OWNER)
        except KeyError:
            reason = f"runs PostgreSQL as the {OWNER!r} user, which does not exist"
    if reason:
        if services.services_required():
            pytest.fail(f"{reason}; HEADROOM_REQUIRE_SERVICES=1", pytrace=False)
        pytest.skip(reason)
    assert folder is not None
    return folder


def wait_streaming(upstream: Cluster, replica: Cluster, timeout: float = 30) -> None:
    """Until ``upstream``'s pg_stat_replication shows ``replica`` streaming."""
    deadline = time.monotonic() + timeout
    while True:
        row = upstream.query(
            "SELECT state FROM pg_stat_replication WHERE application_name = %s",
            [replica.application_name],
        )
        if row and row[0] == "streaming":
            return
        if time.monotonic() > deadline:
            raise AssertionError(
                f"the {replica.name} is not streaming from the {upstream.name} after "
                f"{timeout:g} s (state {row}); its log ends:\n{tail(replica.log)}"
            )
        time.sleep(0.05)


def _wait_lsn(primary: Cluster, replica: Cluster, function: str, timeout: float) -> None:
    (target,) = primary.query("SELECT pg_current_wal_flush_lsn()")
    deadline = time.monotonic() + timeout
    while True:
        (done,) = replica.query(f"SELECT {function}() >= %s::pg_lsn", [str(target)])
        if done:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"{function}() on the {replica.name} is not at {target} yet")
        time.sleep(0.05)


def wait_received(primary: Cluster, replica: Cluster, timeout: float = 30) -> None:
    """Until ``replica`` has received (and flushed) all WAL the primary has flushed so far."""
    _wait_lsn(primary, replica, "pg_last_wal_receive_lsn", timeout)


def wait_replayed(primary: Cluster, replica: Cluster, timeout: float = 30) -> None:
    """Until ``replica`` has replayed all WAL the primary has flushed so far."""
    _wait_lsn(primary, replica, "pg_last_wal_replay_lsn", timeout)


@dataclass
class Pair:
    folder: Path
    primary: Cluster
    #: Streams from the primary: the primary's pg_stat_replication shows it.
    standby: Cluster
    #: With ``cascade=True``, a standby of the standby: the primary does not see it.
    cascade: Cluster | None = None


def _clone(bindir: Path, upstream: Cluster, replica: Cluster) -> None:
    """``replica``'s data folder: a hot standby that streams from ``upstream``."""
    # -R writes standby.signal and a primary_conninfo that keeps the application_name given
    # here; -c fast: no waiting for a spread checkpoint.
    conninfo = (
        f"host=127.0.0.1 port={upstream.port} user=postgres "
        f"application_name={replica.application_name}"
    )
    options = ["-R", "-X", "stream", "-c", "fast", "--no-sync"]
    run([str(bindir / "pg_basebackup"), "-d", conninfo, "-D", str(replica.data), *options])
    # The copied postgresql.conf names the upstream's port; the last line wins.
    append_settings(replica.data / "postgresql.conf", {"port": str(replica.port)})


@contextmanager
def streaming_pair(*, cascade: bool = False) -> Iterator[Pair]:
    """A primary and its streaming hot standby (and with ``cascade``, a standby streaming
    from that standby) on free ports of 127.0.0.1; stopped and deleted when the block ends."""
    bindir = require_binaries()
    folder = new_folder("headroom-replica-")

    def cluster(name: str) -> Cluster:
        return Cluster(name, free_port(), folder / name, folder / f"{name}.log")

    started: list[Cluster] = []
    try:
        pair = Pair(folder, init(bindir, folder, "primary", SETTINGS), cluster("standby"))
        with (pair.primary.data / "pg_hba.conf").open("a") as f:
            f.write("host replication postgres 127.0.0.1/32 trust\n")
        started.append(pair.primary)
        start(bindir, pair.primary)
        replicas = [(pair.primary, pair.standby)]
        if cascade:
            pair.cascade = cluster("cascade")
            replicas.append((pair.standby, pair.cascade))
        for upstream, replica in replicas:
            _clone(bindir, upstream, replica)
            started.append(replica)
            start(bindir, replica)
            wait_streaming(upstream, replica)
        yield pair
    finally:
        for running in reversed(started):
            stop(bindir, running)
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def django_aliases(entries: dict[str, dict[str, Any]]) -> Iterator[None]:
    """Database aliases that exist only inside the block.

    Each entry gets Django's defaults (``connections.configure_settings``) and goes into
    ``connections.settings`` (which is ``settings.DATABASES``). Connections are per thread:
    a thread that used an alias closes its own (``connections.close_all()``); this thread's
    are closed here before the aliases are removed.
    """
    from django.conf import settings
    from django.db import DEFAULT_DB_ALIAS, connections

    clash = set(entries) & set(connections.settings)
    assert not clash, f"aliases already defined: {sorted(clash)}"
    filled = connections.configure_settings(
        {DEFAULT_DB_ALIAS: {}, **{alias: dict(entry) for alias, entry in entries.items()}}
    )
    tables = [connections.settings]
    if settings.DATABASES is not connections.settings:
        tables.append(settings.DATABASES)
    for table in tables:
        for alias in entries:
            table[alias] = filled[alias]
    try:
        yield
    finally:
        for alias in entries:
            connections[alias].close()
            del connections[alias]
            for table in tables:
                table.pop(alias, None)
