"""Replica replay lag throttles a run: against real streaming replicas (tests/pgreplica.py).

Each test starts its own primary and standby (and a cascaded standby where it needs one),
reaches them through database aliases that exist only while it runs, and makes the backfill
tables on the primary. No test database is made for them and none of the suite's databases
is used.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.apps import apps
from django.db import connections
from django.db.models import Model
from django.test import override_settings

from headroom.backfill import run_backfill
from headroom.backfill.models import BackfillRun
from tests import pgreplica
from tests.backfill.app.models import Counter
from tests.backfill.conftest import Events, fill_counters, hits
from tests.backfill.processes import wait_for

pytestmark = pytest.mark.services

PRIMARY, STANDBY, CASCADE = "replica_primary", "replica_standby", "replica_cascade"
ROWS = 3000


@contextmanager
def _replication(blocker: Any, *, cascade: bool) -> Iterator[pgreplica.Pair]:
    with pgreplica.streaming_pair(cascade=cascade) as pair:
        aliases = {
            PRIMARY: pair.primary.django_settings(),
            STANDBY: pair.standby.django_settings(),
        }
        if pair.cascade is not None:
            aliases[CASCADE] = pair.cascade.django_settings()
        with pgreplica.django_aliases(aliases), blocker.unblock():
            yield pair


@pytest.fixture
def pair(django_db_blocker: Any) -> Iterator[pgreplica.Pair]:
    """A primary (alias ``replica_primary``) and its standby (``replica_standby``)."""
    with _replication(django_db_blocker, cascade=False) as clusters:
        yield clusters


@pytest.fixture
def chain(django_db_blocker: Any) -> Iterator[pgreplica.Pair]:
    """:func:`pair`, plus a standby of the standby (``replica_cascade``): the primary's
    pg_stat_replication does not show it, only the alias can say how far behind it is."""
    with _replication(django_db_blocker, cascade=True) as clusters:
        yield clusters


def create_tables() -> None:
    """The test backfill's table and headroom's, on the primary (replicated from there)."""
    with connections[PRIMARY].schema_editor() as editor:
        models: list[type[Model]] = [Counter, *apps.get_app_config("headroom").get_models()]
        for model in models:
            editor.create_model(model)


def start_run(events: Events) -> tuple[threading.Thread, dict[str, Any]]:
    """``CountEveryRow`` on the primary, in a thread; its run ends up in ``result["run"]``."""
    result: dict[str, Any] = {}

    def target() -> None:
        try:
            result["run"] = run_backfill(
                "backfilltests.CountEveryRow",
                database=PRIMARY,
                reporter=events,
                throttle_check_seconds=0.1,
            )
        finally:
            connections.close_all()

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread, result


def throttled_run() -> BackfillRun:
    """The run, once it is throttled; fails as soon as it has finished instead."""
    run: BackfillRun = wait_for(
        lambda: (
            BackfillRun.objects.using(PRIMARY)
            .filter(state__in=["throttled", "succeeded", "failed"])
            .first()
        ),
        timeout=20,
        what="the run to be throttled",
    )
    assert run.state == "throttled", f"never throttled: {run.state}, {run.rows_done} rows done"
    return run


def behind(reason: str, replica: str, limit: float) -> float:
    """The lag in a throttle reason about ``replica``; fails on any other reason."""
    pattern = rf"replica {re.escape(replica)} replays (\d+\.\d) s behind \(limit {limit:g} s\)"
    found = re.fullmatch(pattern, reason)
    assert found, f"not the reason expected for {replica}: {reason!r}"
    return float(found[1])


@pytest.mark.parametrize(
    "replayed_before", [True, False], ids=["after-replaying", "nothing-replayed-since-start"]
)
def test_a_replica_alias_that_stops_replaying_throttles_the_run_until_it_goes_on(
    chain: pgreplica.Pair, replayed_before: bool
) -> None:
    limit = 0.5
    cascade = chain.cascade
    assert cascade is not None
    if replayed_before:
        create_tables()
        pgreplica.wait_replayed(chain.primary, cascade)
        cascade.query("SELECT pg_wal_replay_pause()")
    else:
        # Paused before any transaction reaches it: no replay timestamp at all.
        cascade.query("SELECT pg_wal_replay_pause()")
        create_tables()
    fill_counters(PRIMARY, ROWS)
    committed = time.monotonic()
    pgreplica.wait_received(chain.primary, cascade)
    received, replay, stamp = cascade.query(
        "SELECT pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn(), "
        "pg_last_xact_replay_timestamp()"
    )
    assert received != replay  # the rows' commit is on the replica and not replayed
    assert (stamp is not None) is replayed_before
    # The unreplayed commit ages past the limit before the run starts: its first health
    # check already finds the replica behind, so no batch may run.
    time.sleep(max(0.0, committed + limit + 0.3 - time.monotonic()))

    events = Events()
    headroom = {"BACKFILL_MAX_REPLICA_LAG": limit, "BACKFILL_REPLICAS": [CASCADE]}
    with override_settings(HEADROOM=headroom):
        thread, result = start_run(events)
        try:
            run = throttled_run()
            assert behind(run.throttle_reason, repr(CASCADE), limit) > limit
            time.sleep(0.5)
            run.refresh_from_db(using=PRIMARY)
            assert (run.state, run.rows_done, run.batches_done) == ("throttled", 0, 0)
            assert hits(PRIMARY) == {0: ROWS}
        finally:
            cascade.query("SELECT pg_wal_replay_resume()")
            thread.join(60)
    assert result["run"].state == "succeeded"
    assert any(line.startswith(f"throttled: replica {CASCADE!r} replays") for line in events.lines)
    assert "healthy again; going on" in events.lines
    assert hits(PRIMARY) == {1: ROWS}


class SiteWrites:
    """Small commits on the primary every 20 ms, as a site's: the standby keeps reporting
    its replay position, so the primary's replay_lag follows it."""

    def __init__(self, primary: pgreplica.Cluster) -> None:
        primary.query("CREATE TABLE site_writes (id bigserial PRIMARY KEY, at timestamptz)")
        self.primary = primary
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._write, daemon=True)
        self.thread.start()

    def _write(self) -> None:
        with self.primary.connect() as conn:
            while not self.stopping.wait(0.02):
                conn.execute("INSERT INTO site_writes (at) VALUES (now())")

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join(10)


def primary_replay_lag(pair: pgreplica.Pair) -> float | None:
    row = pair.primary.query(
        "SELECT extract(epoch FROM replay_lag) FROM pg_stat_replication "
        "WHERE application_name = %s",
        [pair.standby.application_name],
    )
    return None if row is None or row[0] is None else float(row[0])


def test_a_standby_that_applies_late_throttles_the_run_through_pg_stat_replication(
    pair: pgreplica.Pair,
) -> None:
    limit = 1.0
    create_tables()
    fill_counters(PRIMARY, ROWS)
    site = SiteWrites(pair.primary)
    try:
        # Each commit is replayed 2 s after it was made: replay_lag settles near 2 s.
        pair.standby.query("ALTER SYSTEM SET recovery_min_apply_delay = '2s'")
        pair.standby.query("SELECT pg_reload_conf()")
        wait_for(
            lambda: (primary_replay_lag(pair) or 0.0) > limit + 0.3,
            timeout=20,
            what="the primary's replay_lag to pass the limit",
        )
        events = Events()
        # No replica alias: the reason can only come from the primary's pg_stat_replication.
        with override_settings(HEADROOM={"BACKFILL_MAX_REPLICA_LAG": limit}):
            thread, result = start_run(events)
            try:
                run = throttled_run()
                assert behind(run.throttle_reason, pair.standby.application_name, limit) > limit
                time.sleep(0.5)
                run.refresh_from_db(using=PRIMARY)
                assert (run.state, run.rows_done, run.batches_done) == ("throttled", 0, 0)
                assert hits(PRIMARY) == {0: ROWS}
            finally:
                pair.standby.query("ALTER SYSTEM RESET recovery_min_apply_delay")
                pair.standby.query("SELECT pg_reload_conf()")
                thread.join(60)
    finally:
        site.stop()
    assert result["run"].state == "succeeded"
    name = pair.standby.application_name
    assert any(line.startswith(f"throttled: replica {name} replays") for line in events.lines)
    assert "healthy again; going on" in events.lines
    assert hits(PRIMARY) == {1: ROWS}
