"""The Celery executor on MariaDB (Django's MySQL backend): real workers on Redis. MySQL has
no advisory write slots (``BACKFILL_CONCURRENT_BATCHES`` does nothing there), no LISTEN (the
coordinator polls), and no tidying: what must hold is every row exactly once, also when a
worker is killed in the middle of a batch."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from headroom.backfill.models import BackfillBatch, BackfillRun
from tests import services
from tests.backfill.conftest import fill_counters, hits
from tests.backfill.processes import CommandRun, Worker, celery_environment, wait_for

pytestmark = [
    pytest.mark.services,
    pytest.mark.django_db(databases=["default", "mariadb"], transaction=True),
]

BROKER = "redis://127.0.0.1:6379/0"


def _env(queue: str, tmp_path: Path, **options: object) -> dict[str, str]:
    settings = {"BACKFILL_BATCH_SIZE": 1000, "BACKFILL_MAX_BATCH_SIZE": 1000, **options}
    return celery_environment(
        BROKER,
        queue,
        {"BACKFILL_LEASE_SECONDS": 3, **settings},
        HEADROOM_TEST_HOLD_DIR=str(tmp_path),
    )


def test_batches_run_on_workers_exactly_once_on_mariadb(mariadb: str, tmp_path: Path) -> None:
    services.require("redis")
    queue = f"headroom-backfill-{uuid.uuid4().hex[:8]}"
    fill_counters(mariadb, 20_000)
    env = _env(queue, tmp_path, BACKFILL_MAX_IN_FLIGHT=3)
    workers = [Worker(BROKER, queue, env), Worker(BROKER, queue, env)]
    coordinator = CommandRun(["run", "backfilltests.CountEveryRow", "--database", mariadb], env)
    try:
        assert coordinator.wait(180) == 0, coordinator.output
    finally:
        coordinator.stop()
        for worker in workers:
            worker.stop()
    assert hits(mariadb) == {1: 20_000}
    run = BackfillRun.objects.using(mariadb).get()
    assert (run.state, run.executor, run.rows_done) == ("succeeded", "celery", 20_000)
    batches = BackfillBatch.objects.using(mariadb).filter(run=run)
    assert batches.count() == 20 and not batches.exclude(state="done").exists()
    assert len({b.worker for b in batches}) >= 2  # both workers took batches


def test_a_worker_killed_mid_batch_on_mariadb_loses_nothing(mariadb: str, tmp_path: Path) -> None:
    services.require("redis")
    queue = f"headroom-backfill-{uuid.uuid4().hex[:8]}"
    fill_counters(mariadb, 10_000)
    env = _env(queue, tmp_path, BACKFILL_MAX_IN_FLIGHT=2)
    (tmp_path / "hold").write_text("")
    first = Worker(BROKER, queue, env, concurrency=2)
    workers = [first]
    coordinator = CommandRun(["run", "backfilltests.CountEveryRow", "--database", mariadb], env)
    try:
        wait_for(lambda: (tmp_path / "inside").exists(), what="a batch in flight")
        first.kill()  # the worker and its pool, in the middle of a batch
        (tmp_path / "hold").unlink()
        workers.append(Worker(BROKER, queue, env))
        assert coordinator.wait(180) == 0, coordinator.output
    finally:
        coordinator.stop()
        for worker in workers:
            worker.stop()
    assert hits(mariadb) == {1: 10_000}
    run = BackfillRun.objects.using(mariadb).get()
    assert (run.state, run.rows_done) == ("succeeded", 10_000)
