"""``BACKFILL_CONCURRENT_BATCHES``: how many batches of one Celery run write at once on
PostgreSQL, whatever the tasks in flight, and a batch's time counted from its write slot."""

from __future__ import annotations

import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.db import OperationalError, connections, transaction
from django.test import override_settings

from headroom.backfill.database import SLOT_LOCK_CLASS, slot_key, take_slot
from headroom.backfill.models import BackfillBatch, BackfillRun
from headroom.backfill.options import RunOptions
from headroom.backfill.worker import batch_options, process_batch, with_batch_options
from headroom.cli import main
from headroom.conf import ConfigError, build
from tests import services
from tests.backfill.app.models import WriteWindow
from tests.backfill.conftest import fill_counters, hits
from tests.backfill.processes import CommandRun, Worker, celery_environment

pytestmark = pytest.mark.django_db(databases=["default", "postgres"], transaction=True)

BROKER = "redis://127.0.0.1:6379/0"


class Holder:
    """A transaction on a connection of its own (a thread) that runs ``take_slot`` and keeps
    its transaction open until :meth:`commit`."""

    def __init__(self, using: str, run_id: int, batch_id: int, slots: int) -> None:
        self.slot: int | None = None
        self.taken_at = 0.0
        self.has_slot = threading.Event()
        self._commit = threading.Event()
        self.error: BaseException | None = None

        def hold() -> None:
            try:
                with transaction.atomic(using=using):
                    self.slot = take_slot(using, run_id, batch_id, slots)
                    self.taken_at = time.monotonic()
                    self.has_slot.set()
                    self._commit.wait(30)
            except BaseException as exc:  # pragma: no cover - reported by join()
                self.error = exc
            finally:
                connections.close_all()

        self._thread = threading.Thread(target=hold, daemon=True)
        self._thread.start()

    def commit(self) -> float:
        """End the transaction; the time just before it was asked to."""
        asked = time.monotonic()
        self._commit.set()
        self.join()
        return asked

    def join(self) -> None:
        self._thread.join(30)
        assert not self._thread.is_alive()
        if self.error is not None:
            raise self.error


@contextmanager
def holding(using: str, run_id: int, batch_id: int, slots: int) -> Iterator[Holder]:
    holder = Holder(using, run_id, batch_id, slots)
    try:
        assert holder.has_slot.wait(10), "the first transaction did not get its slot"
        yield holder
    finally:
        holder.commit()


def try_slot(using: str, run_id: int, slot: int) -> bool:
    """Whether this thread's connection could take the slot now (it gives it back at once)."""
    with transaction.atomic(using=using), connections[using].cursor() as cursor:
        cursor.execute(
            "SELECT pg_try_advisory_xact_lock(%s, %s)", [SLOT_LOCK_CLASS, slot_key(run_id, slot)]
        )
        return bool(cursor.fetchone()[0])


def waiting_on_a_slot(using: str) -> list[tuple[int, Any]]:
    """(pid, backend_xid) of the backends waiting for an advisory lock."""
    with connections[using].cursor() as cursor:
        cursor.execute(
            "SELECT pid, backend_xid FROM pg_stat_activity "
            "WHERE wait_event_type = 'Lock' AND wait_event = 'advisory' "
            "AND datname = current_database()"
        )
        return list(cursor.fetchall())


def eventually(condition: Callable[[], Any], timeout: float = 10) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        assert time.monotonic() < deadline, f"timed out waiting for {condition}"
        time.sleep(0.02)
    return value


# --- the slot itself, two connections, no Celery -------------------------------------------


def test_a_second_transaction_waits_for_the_slot_until_the_first_commits(postgres: str) -> None:
    with holding(postgres, 7, 1, 1) as first:
        assert first.slot == 0
        # Taken: not even for a moment, and a lock_timeout cuts a wait for it short ...
        assert not try_slot(postgres, 7, 0)
        with (
            pytest.raises(OperationalError, match="lock timeout"),
            transaction.atomic(using=postgres),
            connections[postgres].cursor() as cursor,
        ):
            cursor.execute("SET LOCAL lock_timeout = '100ms'")
            cursor.execute(
                "SELECT pg_advisory_xact_lock(%s, %s)", [SLOT_LOCK_CLASS, slot_key(7, 0)]
            )
        # ... while another run's slot is free.
        assert try_slot(postgres, 8, 0)
        second = Holder(postgres, 7, 2, 1)
        # take_slot waits, whatever lock_timeout the session has, with no transaction id.
        waiting = eventually(lambda: waiting_on_a_slot(postgres))
        assert [xid for _, xid in waiting] == [None]
        assert not second.has_slot.wait(0.3)
        committed = first.commit()
    assert second.has_slot.wait(10)
    assert second.slot == 0 and second.taken_at >= committed
    second.commit()
    assert try_slot(postgres, 7, 0)


def test_a_rolled_back_transaction_frees_its_slot(postgres: str) -> None:
    with pytest.raises(RuntimeError), transaction.atomic(using=postgres):
        take_slot(postgres, 7, 1, 1)
        raise RuntimeError("rolled back")
    other = Holder(postgres, 7, 2, 1)
    assert other.has_slot.wait(10)
    other.commit()


def test_with_two_slots_a_third_batch_waits_for_the_slot_of_its_batch_id(postgres: str) -> None:
    with holding(postgres, 7, 10, 2) as a, holding(postgres, 7, 11, 2) as b:
        assert {a.slot, b.slot} == {0, 1}
        ahead = {a.slot: a, b.slot: b}
        third = Holder(postgres, 7, 3, 2)  # 3 % 2: slot 1
        eventually(lambda: waiting_on_a_slot(postgres))
        ahead[0].commit()
        assert not third.has_slot.wait(0.3), "took slot 0, freed, instead of waiting for 1"
        committed = ahead[1].commit()
        assert third.has_slot.wait(10)
        assert third.slot == 1 and third.taken_at >= committed
        third.commit()


def test_no_slot_on_sqlite() -> None:
    with transaction.atomic(using="default"):
        assert take_slot("default", 7, 1, 1) is None


@pytest.mark.parametrize(
    ("max_in_flight", "slots", "expected"), [(4, 1, 2), (1, 1, 1), (4, 2, 4), (8, 2, 4)]
)
def test_in_flight_is_at_most_two_tasks_per_slot_on_postgresql(
    postgres: str, max_in_flight: int, slots: int, expected: int
) -> None:
    from headroom.backfill.coordinator import CeleryCoordinator

    options = RunOptions.build(
        executor="celery", max_in_flight=max_in_flight, concurrent_batches=slots
    )
    for using, limit in ((postgres, expected), ("default", max_in_flight)):
        coordinator = CeleryCoordinator.__new__(CeleryCoordinator)
        coordinator.options, coordinator.using = options, using
        assert coordinator._in_flight_limit() == limit


def test_slot_keys_fit_an_int4_and_differ_within_a_run() -> None:
    keys = [slot_key(run, slot) for run in (1, 2, 32767, 2**40 + 3) for slot in range(4)]
    assert all(-(2**31) <= key < 2**31 for key in keys)
    assert len(set(keys)) == len(keys)


# --- the option ----------------------------------------------------------------------------


def test_the_bound_travels_with_each_task_else_the_setting_holds() -> None:
    with override_settings(HEADROOM={"BACKFILL_CONCURRENT_BATCHES": 3}):
        options = RunOptions.build()
        assert options.concurrent_batches == 3
        assert batch_options(options)["concurrent_batches"] == 3
        sent = {"lock_timeout": 1.0}
        assert with_batch_options(options, sent).concurrent_batches == 3
        sent["concurrent_batches"] = 2
        assert with_batch_options(options, sent).concurrent_batches == 2
    assert RunOptions.build().concurrent_batches == 1
    with pytest.raises(ConfigError, match="BACKFILL_CONCURRENT_BATCHES"):
        build({"BACKFILL_CONCURRENT_BATCHES": 0}, environ={})


def test_the_flag_takes_one_or_more(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(
            ["backfill", "run", "backfilltests.CountEveryRow", "--concurrent-batches", "0"],
            django_ready=True,
        )
    assert stopped.value.code == 2
    assert "--concurrent-batches" in capsys.readouterr().err


# --- a batch's time --------------------------------------------------------------------------


def test_a_batchs_seconds_count_from_its_slot_not_from_its_wait(postgres: str) -> None:
    fill_counters(postgres, 100)
    run = BackfillRun.objects.using(postgres).create(
        name="backfilltests.CountEveryRow", executor="celery", state="running"
    )
    batch = BackfillBatch.objects.using(postgres).create(
        run=run, seq=1, start_key=[0], end_key=[100], size=100
    )
    with holding(postgres, run.pk, 99, 1) as other:
        threading.Timer(0.6, other.commit).start()
        began = time.monotonic()
        result = process_batch(postgres, run.pk, batch.pk, 1, options={"concurrent_batches": 1})
        took = time.monotonic() - began
    assert "done: 100 rows" in result and "slot 0" in result, result
    found = re.search(r"after waiting ([0-9.]+) s", result)
    assert found, result
    batch.refresh_from_db(using=postgres)
    assert float(found.group(1)) >= 0.5
    assert batch.seconds < took - 0.5, (batch.seconds, took)
    assert hits(postgres) == {1: 100}


# --- real Celery workers ---------------------------------------------------------------------


@pytest.fixture
def queue() -> str:
    services.require("redis")
    return f"headroom-slots-{uuid.uuid4().hex[:8]}"


def overlapping(windows: list[WriteWindow]) -> list[tuple[int, int]]:
    """Pairs of windows (by index, in start order) that overlap."""
    ordered = sorted(windows, key=lambda w: w.started)
    return [
        (i, j)
        for i, a in enumerate(ordered)
        for j, b in enumerate(ordered[i + 1 :], i + 1)
        if b.started < a.ended
    ]


@pytest.mark.services
@pytest.mark.parametrize("slots", [1, 2], ids=["one-at-a-time", "two-at-once"])
def test_batches_of_a_run_write_one_at_a_time_with_more_in_flight(
    slots: int, postgres: str, queue: str, workers: list[Worker]
) -> None:
    fill_counters(postgres, 2000)
    # The workers' settings leave the bound at 1; the coordinator's flag sends 2 with each
    # task in the second case.
    env = celery_environment(
        BROKER,
        queue,
        {"BACKFILL_BATCH_SIZE": 100, "BACKFILL_MAX_BATCH_SIZE": 100, "BACKFILL_MAX_IN_FLIGHT": 3},
    )
    workers += [Worker(BROKER, queue, env), Worker(BROKER, queue, env)]
    argv = ["run", "backfilltests.MarkWriteWindows", "--database", postgres]
    argv += ["--param", "pause=0.05"]
    if slots != 1:
        argv += ["--concurrent-batches", str(slots)]
    coordinator = CommandRun(argv, env)
    try:
        assert coordinator.wait(120) == 0, coordinator.output
    finally:
        coordinator.stop()
    assert hits(postgres) == {1: 2000}
    run = BackfillRun.objects.using(postgres).get()
    assert (run.state, run.rows_done) == ("succeeded", 2000)
    batches = list(BackfillBatch.objects.using(postgres).filter(run=run))
    windows = list(WriteWindow.objects.using(postgres).all())
    assert len(batches) == len(windows) == 20
    assert {b.state for b in batches} == {"done"}
    # Both workers wrote: two tasks were on workers at once.
    assert len({b.worker.split(" backend ")[0] for b in batches}) == 2
    if slots != 1:
        assert overlapping(windows), "two slots, two workers, and the batches never overlapped"
        return
    assert overlapping(windows) == []
    # The next batch was on a worker, waiting for the slot, while the last one wrote ...
    log = "".join(line for worker in workers for line in worker.lines)
    waits = [float(w) for w in re.findall(r"after waiting ([0-9.]+) s for it", log)]
    assert len(waits) == 20 and max(waits) >= 0.02, log
    # ... and that wait is not in its time: the batches' times add up to no more than the
    # run took, although two tasks were running at once.
    took = max(b.finished_at for b in batches) - min(b.enqueued_at for b in batches)
    assert sum(b.seconds for b in batches) <= took.total_seconds()
