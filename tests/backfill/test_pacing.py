"""Pacing on a latency probe, and synchronous_commit for the batches (PostgreSQL)."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connections
from django.db.models import F, QuerySet

from headroom.backfill.base import Backfill
from headroom.backfill.options import RunOptions
from headroom.backfill.probe import LatencyPacer
from headroom.backfill.runner import InlineRunner
from headroom.conf import ConfigError, build
from tests import services
from tests.backfill.app.models import Counter
from tests.backfill.conftest import Events, fill_counters, hits


def test_pacer_pauses_while_the_probe_is_slow_and_stops_pausing_when_it_recovers() -> None:
    pacer = LatencyPacer(ratio=1.25)
    pacer.set_idle([0.001] * 50)
    assert pacer.ceiling == pytest.approx(0.00125)
    slow, fast = [0.001] * 40 + [0.004] * 10, [0.0008] * 50
    ratios = [pacer.decide(slow) for _ in range(4)]
    assert ratios == sorted(ratios) and ratios[0] > 0  # grows while over the ceiling
    assert "ceiling 1.25x" in pacer.describe() and "pausing" in pacer.describe()
    while pacer.pause_ratio > 0:
        before = pacer.pause_ratio
        assert pacer.decide(fast) < before  # shrinks once under it, down to none
    assert pacer.decide([0.009] * 3) == 0.0  # too few samples for a p95: no change yet ...
    assert pacer.decide([0.009] * 2) > 0  # ... they count with the next ones


def test_probe_ratio_and_synchronous_commit_are_validated() -> None:
    with pytest.raises(ConfigError, match="BACKFILL_LATENCY_PROBE_RATIO"):
        build({"BACKFILL_LATENCY_PROBE_RATIO": 1.0}, environ={})
    with pytest.raises(ConfigError, match="BACKFILL_SYNCHRONOUS_COMMIT"):
        build({"BACKFILL_SYNCHRONOUS_COMMIT": "maybe"}, environ={})
    fine = build({"BACKFILL_LATENCY_PROBE_RATIO": 1.25, "BACKFILL_SYNCHRONOUS_COMMIT": "off"})
    assert (fine.BACKFILL_LATENCY_PROBE_RATIO, fine.BACKFILL_SYNCHRONOUS_COMMIT) == (1.25, "off")


class RecordSettings(Backfill):
    """Notes the batch transaction's settings."""

    abstract = True  # not registered: the tests run it as an instance
    name = "backfilltests.RecordSettings"
    queryset = Counter.objects.all()
    seen: list[tuple[str, str, str]] = []

    def process(self, batch: QuerySet[Any]) -> int:
        with connections[batch.db].cursor() as cursor:
            cursor.execute(
                "SELECT current_setting('synchronous_commit'), current_setting('lock_timeout'), "
                "current_setting('statement_timeout')"
            )
            self.seen.append(cursor.fetchone())
        return batch.update(hits=F("hits") + 1)


def _backfill(using: str) -> RecordSettings:
    backfill = RecordSettings()
    backfill.database = using
    RecordSettings.seen = []
    return backfill


@pytest.mark.django_db(databases=["default", "postgres"], transaction=True)
def test_synchronous_commit_off_holds_for_each_batch_only(postgres: str) -> None:
    fill_counters(postgres, 3000)
    backfill = _backfill(postgres)
    options = RunOptions.build(
        backfill, synchronous_commit="off", batch_size=1000, max_batch_size=1000
    )
    run = InlineRunner(backfill, options).execute()
    assert (run.state, run.rows_done) == ("succeeded", 3000)
    assert hits(postgres) == {1: 3000}
    assert RecordSettings.seen == [("off", "500ms", "1s")] * 3  # 1 s: twice the target
    with connections[postgres].cursor() as cursor:  # SET LOCAL: gone after the batch
        cursor.execute("SELECT current_setting('synchronous_commit')")
        assert cursor.fetchone()[0] == "on"


@pytest.mark.django_db(databases=["default", "postgres"], transaction=True)
def test_a_slow_probe_makes_the_runner_pause_between_batches(postgres: str) -> None:
    services.require("postgresql")
    fill_counters(postgres, 6000)
    # The probe is fast before the first batch and 20 ms slow once row 1 is done: the reader
    # the probe stands for got slower when the backfill started.
    probe = (
        "SELECT pg_sleep(CASE WHEN EXISTS (SELECT 1 FROM backfilltests_counter "
        "WHERE id = 1 AND hits > 0) THEN 0.02 ELSE 0 END)"
    )
    backfill = _backfill(postgres)
    options = RunOptions.build(
        backfill,
        latency_probe_ratio=1.25,
        latency_probe_sql=probe,
        batch_size=500,
        max_batch_size=500,
        # Batches that last long enough for a few probes each.
        statement_timeout=5.0,
    )
    pauses: list[float] = []
    events = Events()

    def no_sleep(seconds: float) -> None:
        pauses.append(seconds)
        import time

        time.sleep(min(seconds, 0.03))  # let the probe take samples, but stay quick

    runner = InlineRunner(backfill, options, events, sleep=no_sleep)
    original = backfill.process

    def slow_process(batch: QuerySet[Any]) -> int:
        import time

        time.sleep(0.05)
        return original(batch)

    backfill.process = slow_process  # type: ignore[method-assign]
    run = runner.execute()
    assert (run.state, run.rows_done) == ("succeeded", 6000)
    assert hits(postgres) == {1: 6000}
    assert any(line.startswith("latency probe: idle p95 ") for line in events.lines), events
    assert any("ceiling 1.25x); pausing" in line for line in events.lines), events
    assert pauses and max(pauses) > 0
    assert runner.pacer is not None and max(runner.pacer.history) > 0
