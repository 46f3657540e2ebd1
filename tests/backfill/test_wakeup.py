"""The Celery coordinator woken by PostgreSQL notifications instead of polling the batches."""

from __future__ import annotations

import threading
import uuid
from typing import Any

import pytest
from django.db import connections, transaction
from django.test import override_settings

from headroom.backfill import control, run_backfill
from headroom.backfill.coordinator import CeleryCoordinator
from headroom.backfill.runner import InlineRunner
from headroom.backfill.wakeup import Listener, notify
from tests import services
from tests.backfill.conftest import Events, fill_counters
from tests.backfill.processes import Worker, celery_environment

pytestmark = pytest.mark.django_db(databases=["default", "postgres"], transaction=True)

BROKER = "redis://127.0.0.1:6379/0"


def _coordinator_settings(queue: str) -> dict[str, Any]:
    """Settings of a coordinator in this process that sends 500-key batches to ``queue``."""
    return {
        "BACKFILL_CELERY_APP": "tests.backfill.celery_app.app",
        "BACKFILL_CELERY_QUEUE": queue,
        "BACKFILL_BATCH_SIZE": 500,
        "BACKFILL_MAX_BATCH_SIZE": 500,
    }


def test_a_notification_wakes_the_listener_at_commit_and_not_after_a_rollback(
    postgres: str,
) -> None:
    listener = Listener.open(postgres, 4242)
    assert listener is not None
    try:
        assert listener.wait(0.05) is False  # nothing sent yet
        with pytest.raises(RuntimeError), transaction.atomic(using=postgres):
            notify(postgres, 4242, "rolled back")
            raise RuntimeError
        notify(postgres, 4241, "another run's channel")
        assert listener.wait(0.2) is False
        with transaction.atomic(using=postgres):
            notify(postgres, 4242, "1")
            notify(postgres, 4242, "2")
        assert listener.wait(10) is True
        # Both were taken at once: one look at the batches answers them.
        assert listener.wait(0.05) is False
    finally:
        listener.close()


def test_a_listener_whose_connection_is_lost_says_so_instead_of_failing(postgres: str) -> None:
    listener = Listener.open(postgres, 4343)
    assert listener is not None
    with connections[postgres].cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [listener.raw.info.backend_pid])
    # The coordinator then polls for the rest of the run.
    assert listener.wait(1) is False
    assert listener.broken


def test_pause_and_cancel_wake_the_coordinator(postgres: str) -> None:
    run = control.enqueue("backfilltests.CountEveryRow", {}, postgres, "celery")
    listener = Listener.open(postgres, run.pk)
    assert listener is not None
    try:
        control.pause("backfilltests.CountEveryRow", postgres)
        assert listener.wait(10) is True
        control.resume("backfilltests.CountEveryRow", postgres)
        # Nobody runs it: cancelling it ends it at once, and there is nobody to wake.
        control.cancel("backfilltests.CountEveryRow", postgres)
    finally:
        listener.close()


def test_a_paused_runner_waits_on_its_channel_and_resume_wakes_it(
    postgres: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Paused before its first batch and resumed 3 s later from another connection: a
    runner listening on its run's channel looks twice, once as it starts listening (a resume
    sent before that would not be heard) and once when ``resume`` wakes it, where it would
    otherwise wait PAUSED_LOOK_SECONDS (5 s); one that cannot listen looks every 0.5 s."""
    name = "backfilltests.CountEveryRow"
    fill_counters(postgres, 2000)
    state = InlineRunner._state
    looks = {"listening": 0, "polling": 0}
    mode = "listening"
    counting = False

    def counted(self: InlineRunner) -> str:
        if counting:
            looks[mode] += 1
        return state(self)

    wait = Listener.wait
    woken: list[bool] = []

    def recorded(self: Listener, seconds: float) -> bool:
        got = wait(self, seconds)
        woken.append(got)
        return got

    def resume_elsewhere() -> None:
        try:
            control.resume(name, postgres)
        finally:
            connections.close_all()  # this thread's connections

    timers: list[threading.Timer] = []

    def on_event(text: str) -> None:
        nonlocal counting
        if text.startswith(("started run", "resumed run")):
            control.pause(name, postgres)
        elif text.startswith("paused;"):
            counting = True
            timers.append(threading.Timer(3.0, resume_elsewhere))
            timers[-1].start()
        elif text == "resumed":
            counting = False

    monkeypatch.setattr(InlineRunner, "_state", counted)
    monkeypatch.setattr(Listener, "wait", recorded)
    for mode in ("listening", "polling"):
        if mode == "polling":
            monkeypatch.setattr(Listener, "open", classmethod(lambda cls, using, run_id: None))
            with connections[postgres].cursor() as cursor:
                cursor.execute("UPDATE backfilltests_counter SET value = NULL, hits = 0")
        events = Events(on_event)
        run = run_backfill(name, database=postgres, reporter=events)
        timers[-1].join()
        assert run.state == "succeeded" and run.rows_done == 2000, events.lines
        assert "resumed" in events.lines
    assert looks["listening"] == 2, looks
    assert woken == [True]  # one wait, ended by resume's notification, not by its time-out
    assert looks["polling"] >= 4, looks


def test_elsewhere_the_coordinator_polls() -> None:
    assert connections["default"].vendor == "sqlite"
    assert Listener.open("default", 1) is None
    notify("default", 1, "nothing happens")  # no error, no effect


@pytest.fixture
def slow_queue(postgres: str, workers: list[Worker]) -> str:
    """A queue with a worker whose batches take 0.2 s each (while polling, the coordinator
    looks several times per batch), and 5,000 rows to fill: 10 batches of 500."""
    services.require("redis")
    queue = f"headroom-backfill-{uuid.uuid4().hex[:8]}"
    env = celery_environment(BROKER, queue, HEADROOM_TEST_BATCH_DELAY="0.2")
    workers.append(Worker(BROKER, queue, env))
    fill_counters(postgres, 5000)
    return queue


def test_a_listening_coordinator_looks_when_batches_finish_not_every_few_ms(
    postgres: str, slow_queue: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    looks = 0
    state = CeleryCoordinator._state

    def counted(self: CeleryCoordinator) -> str:
        nonlocal looks
        looks += 1
        return state(self)

    monkeypatch.setattr(CeleryCoordinator, "_state", counted)
    settings = _coordinator_settings(slow_queue)
    runs = {}
    for mode in ("listening", "polling"):
        if mode == "polling":
            monkeypatch.setattr(Listener, "open", classmethod(lambda cls, using, run_id: None))
        looks = 0
        with override_settings(HEADROOM=settings):
            run = run_backfill("backfilltests.CountEveryRow", database=postgres, executor="celery")
        assert run.state == "succeeded" and run.rows_done == 5000
        runs[mode] = (looks, run.batches_done)
    (listening, batches), (polling, _) = runs["listening"], runs["polling"]
    # About one look per finished batch, against one every 5-50 ms while polling.
    assert batches == 10
    assert listening <= 2 * batches + 5, runs
    assert polling > 2 * listening, runs


def test_a_coordinator_that_hears_nothing_goes_back_to_polling(
    postgres: str, slow_queue: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Behind a pooler in transaction mode LISTEN is accepted and nothing arrives: here the
    # coordinator listens on a channel nobody notifies.
    listen = Listener.open.__func__  # type: ignore[attr-defined]
    deaf: list[Listener] = []

    def open_deaf(cls: type[Listener], using: str, run_id: int) -> Listener | None:
        listener = listen(cls, using, run_id + 1_000_000)
        deaf.append(listener)
        return listener

    monkeypatch.setattr(Listener, "open", classmethod(open_deaf))
    events = Events()
    settings = _coordinator_settings(slow_queue)
    with override_settings(HEADROOM=settings):
        run = run_backfill(
            "backfilltests.CountEveryRow", database=postgres, executor="celery", reporter=events
        )
    assert deaf, "the coordinator did not listen"
    assert run.state == "succeeded" and run.rows_done == 5000
    assert any("are not announced on this connection" in line for line in events.lines), events
