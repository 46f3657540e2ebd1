"""A run's batch options (lock_timeout, statement_timeout, synchronous_commit) hold for every
batch: given on the command line or to ``run_backfill``, inline and on Celery workers whose
own settings say otherwise."""

from __future__ import annotations

import datetime
import json
import threading
import uuid
from collections import Counter

import pytest
from django.db import connections
from django.test import override_settings
from django.utils import timezone

from headroom.backfill import control, run_backfill
from headroom.backfill.models import BackfillBatch, BackfillRun
from headroom.backfill.tasks import run_batch
from headroom.backfill.worker import process_batch
from headroom.cli import main
from tests import services
from tests.backfill.app.models import Observed
from tests.backfill.processes import (
    CommandRun,
    Worker,
    celery_environment,
    wait_for,
)

pytestmark = pytest.mark.django_db(databases=["default", "postgres"], transaction=True)

NAME = "backfilltests.RecordBatchSettings"
BROKER = "redis://127.0.0.1:6379/0"


def fill_observed(using: str, rows: int) -> list[int]:
    Observed.objects.using(using).bulk_create(Observed() for _ in range(rows))
    return sorted(Observed.objects.using(using).values_list("id", flat=True))


def seen(using: str) -> dict[tuple[str, str, str, int], int]:
    """{(lock_timeout, statement_timeout, synchronous_commit, hits): rows}."""
    rows = Observed.objects.using(using).values_list(
        "lock_timeout", "statement_timeout", "synchronous_commit", "hits"
    )
    return dict(Counter(rows))


def headroom(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["backfill", *argv], django_ready=True)
    out, err = capsys.readouterr()
    return code, out, err


def test_time_limit_flags_hold_for_inline_batches(
    postgres: str, capsys: pytest.CaptureFixture[str]
) -> None:
    fill_observed(postgres, 2000)
    code, out, _ = headroom(
        capsys,
        *("run", NAME, "--database", postgres, "--batch-size", "500", "--max-batch-size", "500"),
        *("--lock-timeout", "1.5", "--statement-timeout", "0"),
    )
    assert code == 0, out
    assert seen(postgres) == {("1500ms", "0", "on", 1): 2000}


def test_the_statement_timeout_is_twice_the_target_unless_set(
    postgres: str, capsys: pytest.CaptureFixture[str]
) -> None:
    fill_observed(postgres, 1000)
    common = ("run", NAME, "--database", postgres, "--batch-size", "500", "--max-batch-size", "500")
    code, out, _ = headroom(capsys, *common, "--target-seconds", "0.3")
    assert code == 0, out
    assert seen(postgres) == {("500ms", "600ms", "on", 1): 1000}
    # "auto" on the command line wins over a number in the settings.
    Observed.objects.using(postgres).update(synchronous_commit="")
    with override_settings(HEADROOM={"BACKFILL_STATEMENT_TIMEOUT": 5}):
        code, out, _ = headroom(
            capsys, *common, "--target-seconds", "2", "--statement-timeout", "AUTO"
        )
    assert code == 0, out
    assert seen(postgres) == {("500ms", "4s", "on", 2): 1000}


@pytest.mark.parametrize("value", ["-1", "soon", "inf"])
def test_a_time_limit_flag_takes_seconds(value: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["backfill", "run", NAME, "--lock-timeout", value], django_ready=True)
    assert stopped.value.code == 2
    assert "--lock-timeout" in capsys.readouterr().err
    with pytest.raises(SystemExit) as stopped:
        main(["backfill", "run", NAME, "--statement-timeout", value], django_ready=True)
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert "--statement-timeout" in err
    if value == "soon":
        assert "expected seconds or auto, got 'soon'" in err


def test_a_batch_task_applies_the_options_it_carries_else_the_workers_settings(
    postgres: str,
) -> None:
    ids = fill_observed(postgres, 300)
    run = BackfillRun.objects.using(postgres).create(name=NAME, executor="celery", state="running")

    def batch(seq: int, low: int, high: int) -> BackfillBatch:
        return BackfillBatch.objects.using(postgres).create(
            run=run, seq=seq, start_key=[low], end_key=[high], size=high - low
        )

    old = batch(1, ids[0] - 1, ids[99])
    full = batch(2, ids[99], ids[199])
    partial = batch(3, ids[199], ids[-1])
    with override_settings(
        HEADROOM={"BACKFILL_LOCK_TIMEOUT": 0.25, "BACKFILL_SYNCHRONOUS_COMMIT": "local"}
    ):
        # A message of an older coordinator, with no options: this worker's settings hold.
        assert "done: 100 rows" in process_batch(postgres, run.pk, old.pk, 1)
        # The coordinator's options win, None (no limit) included ...
        sent = {"lock_timeout": 2.0, "statement_timeout": None, "synchronous_commit": "off"}
        assert "done: 100 rows" in process_batch(postgres, run.pk, full.pk, 1, options=sent)
        # ... and the task passes them on; one it does not carry comes from the settings.
        result = run_batch.apply(
            args=(postgres, run.pk, partial.pk, 1), kwargs={"options": {"lock_timeout": 3.0}}
        )
        assert "done: 100 rows" in result.get()
    assert seen(postgres) == {
        # statement_timeout "auto": twice the 0.5 s target.
        ("250ms", "1s", "local", 1): 100,
        ("2s", "0", "off", 1): 100,
        ("3s", "1s", "local", 1): 100,
    }


@pytest.fixture
def queue() -> str:
    services.require("redis")
    return f"headroom-options-{uuid.uuid4().hex[:8]}"


def _env(queue: str) -> dict[str, str]:
    """A worker (or command) whose settings leave the batch options at their defaults."""
    return celery_environment(
        BROKER,
        queue,
        {"BACKFILL_BATCH_SIZE": 1000, "BACKFILL_MAX_BATCH_SIZE": 1000, "BACKFILL_MAX_IN_FLIGHT": 4},
    )


def _detach_with_time_limits(postgres: str, env: dict[str, str]) -> None:
    """``headroom backfill run NAME --detach --lock-timeout 2 --statement-timeout 0``."""
    command = CommandRun(
        [
            *("run", NAME, "--database", postgres, "--detach"),
            *("--lock-timeout", "2", "--statement-timeout", "0"),
        ],
        env,
    )
    try:
        assert command.wait(60) == 0, command.output
    finally:
        command.stop()


def test_options_given_to_run_backfill_reach_the_celery_workers(
    postgres: str, queue: str, workers: list[Worker]
) -> None:
    fill_observed(postgres, 3000)
    workers.append(Worker(BROKER, queue, _env(queue)))

    def give_up() -> None:  # bounds the test: a run that hangs is cancelled
        control.cancel(NAME, postgres)
        connections.close_all()

    deadline = threading.Timer(60, give_up)
    deadline.start()
    try:
        with override_settings(
            HEADROOM={
                "BACKFILL_CELERY_APP": "tests.backfill.celery_app.app",
                "BACKFILL_CELERY_QUEUE": queue,
            }
        ):
            run = run_backfill(
                NAME,
                database=postgres,
                executor="celery",
                lock_timeout=1.5,
                statement_timeout=7,
                synchronous_commit="off",
                batch_size=1000,
                max_batch_size=1000,
            )
    finally:
        deadline.cancel()
    assert (run.state, run.executor, run.rows_done) == ("succeeded", "celery", 3000)
    # The worker's settings alone would have given ("500ms", "1s", "on").
    assert seen(postgres) == {("1500ms", "7s", "off", 1): 3000}
    # Kept on the run, as --detach keeps them: a coordinator the watchdog sends in place of
    # this one (killed) would go on with them.
    assert run.options == {
        "lock_timeout": 1.5,
        "statement_timeout": 7,
        "synchronous_commit": "off",
        "batch_size": 1000,
        "max_batch_size": 1000,
    }
    batches = BackfillBatch.objects.using(postgres).filter(run=run)
    assert {b.worker.split(" pid ")[0] for b in batches} == {workers[0].hostname}
    assert batches.count() == 3


def test_time_limit_flags_reach_the_workers_of_a_detached_run(
    postgres: str, queue: str, workers: list[Worker]
) -> None:
    fill_observed(postgres, 3000)
    env = _env(queue)
    # Two pool processes: the coordinator holds one, the batches take the other.
    workers.append(Worker(BROKER, queue, env, concurrency=2))
    _detach_with_time_limits(postgres, env)
    wait_for(
        lambda: not BackfillRun.objects.using(postgres).get().is_active,
        timeout=60,
        what="the detached run to end",
    )
    run = BackfillRun.objects.using(postgres).get()
    assert (run.state, run.rows_done) == ("succeeded", 3000), run.as_dict()
    # The worker's settings alone would have given ("500ms", "1s", "on").
    assert seen(postgres) == {("2s", "0", "on", 1): 3000}
    log = "".join(workers[0].lines)
    assert "headroom.backfill.coordinate" in log and "headroom.backfill.run_batch" in log


def test_a_coordinator_the_watchdog_sends_goes_on_with_the_detached_runs_options(
    postgres: str, queue: str, workers: list[Worker]
) -> None:
    import redis

    fill_observed(postgres, 3000)
    env = _env(queue)
    # Detached while no worker listens; then its coordinator message is lost (the queue is
    # dropped), as when a broker loses what it held.
    _detach_with_time_limits(postgres, env)
    run = BackfillRun.objects.using(postgres).get()
    assert (run.state, run.options) == ("enqueued", {"lock_timeout": 2.0, "statement_timeout": 0.0})
    client = redis.Redis.from_url(BROKER)
    assert client.delete(queue) == 1
    # Long enough ago that the watchdog counts the coordinator lost.
    BackfillRun.objects.using(postgres).filter(pk=run.pk).update(
        updated_at=timezone.now() - datetime.timedelta(seconds=600)
    )
    sweep = CommandRun(["watchdog", "--database", postgres, "--json"], env)
    try:
        assert sweep.wait(60) == 0, sweep.output
    finally:
        sweep.stop()
    found = json.loads(sweep.output)["findings"]
    assert [(f["run_id"], f["action"], f["generation"]) for f in found] == [
        (run.pk, "handed over", run.generation + 1)
    ], sweep.output
    workers.append(Worker(BROKER, queue, env, concurrency=2))
    wait_for(
        lambda: not BackfillRun.objects.using(postgres).get().is_active,
        timeout=60,
        what="the run the watchdog handed over to end",
    )
    run = BackfillRun.objects.using(postgres).get()
    assert (run.state, run.rows_done) == ("succeeded", 3000), run.as_dict()
    # Only the watchdog's coordinator ran the batches, with the options of the command line.
    assert seen(postgres) == {("2s", "0", "on", 1): 3000}
