"""``headroom backfill run --executor celery --detach``: the coordinator is a Celery task,
and a coordinator killed mid-run is picked up again (a real worker on Redis)."""

from __future__ import annotations

import os
import signal
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from headroom.backfill.models import BackfillRun
from tests import services
from tests.backfill.conftest import fill_counters, hits
from tests.backfill.processes import (
    CommandRun,
    Worker,
    celery_environment,
    environment,
    wait_for,
)

pytestmark = [
    pytest.mark.services,
    pytest.mark.django_db(databases=["default", "postgres"], transaction=True),
]

BROKER = "redis://127.0.0.1:6379/0"


@pytest.fixture
def worker(postgres: str, tmp_path: Path) -> Iterator[tuple[Worker, dict[str, str]]]:
    services.require("redis")
    queue = f"headroom-detach-{uuid.uuid4().hex[:8]}"
    env = celery_environment(BROKER, queue, HEADROOM_TEST_BATCH_DELAY="0.05")
    # Two pool processes: the coordinator holds one for the whole run, batches take the other.
    started = Worker(BROKER, queue, env, concurrency=2)
    yield started, env
    started.stop()


def _run(postgres: str) -> BackfillRun:
    return BackfillRun.objects.using(postgres).get()


def test_detach_returns_at_once_and_a_killed_coordinator_is_picked_up_again(
    worker: tuple[Worker, dict[str, str]], postgres: str
) -> None:
    celery_worker, env = worker
    fill_counters(postgres, 10_000)
    command = CommandRun(
        ["run", "backfilltests.CountEveryRow", "--database", postgres, "--detach"], env
    )
    try:
        assert command.wait(60) == 0, command.output
    finally:
        command.stop()
    run = _run(postgres)
    assert f"run #{run.pk} of backfilltests.CountEveryRow is enqueued" in command.output
    assert "headroom backfill status backfilltests.CountEveryRow" in command.output

    # The worker's coordinator claims the run and gets some batches done ...
    wait_for(lambda: _run(postgres).rows_done >= 1000, what="batches done by the coordinator")
    first = _run(postgres)
    assert (first.state, first.executor, first.generation) == ("running", "celery", 1)
    pid = first.owner.rpartition(":")[2]
    # ... then its pool process is killed mid-run: the task's message is requeued
    # (acks_late, reject_on_worker_lost) and a new pool process takes the run over.
    os.kill(int(pid), signal.SIGKILL)
    wait_for(lambda: _run(postgres).generation >= 2, timeout=90, what="a new coordinator")
    wait_for(lambda: not _run(postgres).is_active, timeout=120, what="the run to end")
    run = _run(postgres)
    assert (run.state, run.rows_done) == ("succeeded", 10_000), run.as_dict()
    assert hits(postgres) == {1: 10_000}
    assert run.owner == ""
    log = "".join(celery_worker.lines)
    assert "headroom.backfill.coordinate" in log
    assert "WorkerLostError" in log or "exited with 'signal 9" in log, log[-3000:]


def test_detach_needs_the_celery_executor(postgres: str) -> None:
    command = CommandRun(
        ["run", "backfilltests.CountEveryRow", "--database", postgres, "--detach"],
        environment({"BACKFILL_EXECUTOR": "inline"}),
    )
    try:
        assert command.wait(60) == 2, command.output
    finally:
        command.stop()
    assert "--detach needs the Celery executor" in command.output
    assert not BackfillRun.objects.using(postgres).exists()
