"""The Celery executor with real workers, on Redis and on RabbitMQ: every row exactly once,
even when a worker is killed in the middle of a batch."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest
from django.db import connections
from django.test import override_settings

from headroom.backfill.models import BackfillBatch, BackfillRun
from tests import services
from tests.backfill.conftest import fill_counters, hits, pruning_reads
from tests.backfill.processes import CommandRun, Worker, environment, tasks_sent, wait_for

pytestmark = [
    pytest.mark.services,
    pytest.mark.django_db(databases=["default", "postgres"], transaction=True),
]

BROKERS = {
    "redis": "redis://127.0.0.1:6379/0",
    "rabbitmq": "amqp://guest:guest@127.0.0.1:5672//",
}


@pytest.fixture(params=sorted(BROKERS))
def broker(request: pytest.FixtureRequest, postgres: str) -> str:
    services.require(str(request.param))
    return BROKERS[str(request.param)]


@pytest.fixture
def queue() -> str:
    return f"headroom-backfill-{uuid.uuid4().hex[:8]}"


def _env(broker: str, queue: str, tmp_path: Path, **options: object) -> dict[str, str]:
    return environment(
        {
            "BACKFILL_EXECUTOR": "celery",
            "BACKFILL_CELERY_APP": "tests.backfill.celery_app.app",
            "BACKFILL_CELERY_QUEUE": queue,
            "BACKFILL_BATCH_SIZE": 1000,
            "BACKFILL_MAX_BATCH_SIZE": 1000,
            "BACKFILL_LEASE_SECONDS": 3,
            **options,
        },
        HEADROOM_TEST_BROKER=broker,
        HEADROOM_TEST_CELERY_QUEUE=queue,
        HEADROOM_TEST_HOLD_DIR=str(tmp_path),
    )


def _coordinating_here(queue: str, **options: object) -> override_settings:
    """Settings under which this test process coordinates a Celery run on ``queue``."""
    return override_settings(
        HEADROOM={
            "BACKFILL_CELERY_APP": "tests.backfill.celery_app.app",
            "BACKFILL_CELERY_QUEUE": queue,
            **options,
        }
    )


def _coordinate(name: str, postgres: str, env: dict[str, str]) -> CommandRun:
    """``headroom backfill run NAME`` on the workers, to its successful end."""
    coordinator = CommandRun(["run", name, "--database", postgres], env)
    try:
        assert coordinator.wait(180) == 0, coordinator.output
    finally:
        coordinator.stop()
    return coordinator


def test_batches_run_on_workers_exactly_once(
    broker: str, queue: str, workers: list[Worker], postgres: str, tmp_path: Path
) -> None:
    fill_counters(postgres, 20_000)
    env = _env(broker, queue, tmp_path, BACKFILL_MAX_IN_FLIGHT=3)
    workers += [Worker(broker, queue, env), Worker(broker, queue, env)]
    coordinator = _coordinate("backfilltests.CountEveryRow", postgres, env)
    assert "backfilltests.CountEveryRow #" in coordinator.output
    assert "20,000/20,000 rows  100.0%" in coordinator.output
    assert hits(postgres) == {1: 20_000}
    run = BackfillRun.objects.using(postgres).get()
    assert (run.state, run.executor, run.rows_done) == ("succeeded", "celery", 20_000)
    batches = BackfillBatch.objects.using(postgres).filter(run=run)
    assert batches.count() == 20 and not batches.exclude(state="done").exists()
    # Both workers took batches: the run is shared, not pinned to one process.
    assert len({b.worker.split(" backend ")[0] for b in batches}) == 2
    # Never more than 3 batches sent and not yet done, whatever the two workers could take.
    spans = [(b.enqueued_at, b.finished_at) for b in batches]
    assert max(sum(1 for s, e in spans if s <= start < e) for start, _ in spans) <= 3
    log = "".join(w for worker in workers for w in worker.lines)
    assert "headroom.backfill.run_batch" in log


def test_a_worker_killed_mid_batch_loses_nothing(
    broker: str, queue: str, workers: list[Worker], postgres: str, tmp_path: Path
) -> None:
    fill_counters(postgres, 10_000)
    env = _env(broker, queue, tmp_path, BACKFILL_MAX_IN_FLIGHT=2)
    (tmp_path / "hold").write_text("")
    first = Worker(broker, queue, env, concurrency=2)
    workers.append(first)
    coordinator = CommandRun(["run", "backfilltests.CountEveryRow", "--database", postgres], env)
    try:
        wait_for(lambda: (tmp_path / "inside").exists(), what="a batch in flight")
        first.kill()  # the worker and its pool processes, mid-transaction
        assert hits(postgres) == {0: 10_000}
        (tmp_path / "hold").unlink()
        workers.append(Worker(broker, queue, env))
        assert coordinator.wait(180) == 0, coordinator.output
    finally:
        coordinator.stop()
    assert hits(postgres) == {1: 10_000}
    run = BackfillRun.objects.using(postgres).get()
    assert (run.state, run.rows_done) == ("succeeded", 10_000)
    # The killed worker committed nothing: every batch was done by its successor. Redis
    # keeps the killed worker's messages until their visibility timeout, so the coordinator
    # sent them again after its lease; RabbitMQ redelivers them when the connection drops.
    batches = BackfillBatch.objects.using(postgres).filter(run=run)
    assert {b.worker.split(" pid ")[0] for b in batches} == {workers[-1].hostname}
    if broker.startswith("redis"):
        assert "was not done within 3 s and no worker holds it; sent again (token 2)" in (
            coordinator.output
        )
        assert batches.filter(token=2).exists()


@pytest.mark.parametrize("tidy", [True, False], ids=["tidy", "no-tidy"])
def test_the_coordinator_tidies_each_batch_the_workers_finish(
    broker: str, queue: str, workers: list[Worker], postgres: str, tmp_path: Path, tidy: bool
) -> None:
    fill_counters(postgres, 6000)
    with connections[postgres].cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE) backfilltests_counter")
    # One batch in flight: a batch waiting for the write slot while the one ahead of it is
    # tidied would hold a snapshot from before that one's commit, and now and then keep the
    # tidy read from pruning it (see docs/backfill.md, Limits).
    env = _env(broker, queue, tmp_path, BACKFILL_TIDY=tidy, BACKFILL_MAX_IN_FLIGHT=1)
    workers += [Worker(broker, queue, env), Worker(broker, queue, env)]
    _coordinate("backfilltests.FillValues", postgres, env)
    # One read in each of a few pages of the last batches (the first ones may have been read
    # by the run's row count, on a connection of its own, after they committed): with tidying
    # the coordinator has pruned them (before the run ended), and the reads find nothing to
    # prune; without it each read is the first to visit its page since the batch committed,
    # and prunes it.
    records = pruning_reads(postgres, (4500, 5000, 5500, 5900))
    assert records == 0 if tidy else records >= 3
    assert hits(postgres) == {1: 6000}  # (a whole-table read: it prunes every page)


@pytest.mark.parametrize("reuse", [False, True], ids=["celery-default", "reuse-max"])
def test_workers_keep_their_connection_only_when_the_app_says_so(
    reuse: bool, queue: str, workers: list[Worker], postgres: str, tmp_path: Path
) -> None:
    services.require("redis")
    fill_counters(postgres, 6_000)
    env = _env(BROKERS["redis"], queue, tmp_path)
    if reuse:  # tests/backfill/celery_app.py sets CELERY_DB_REUSE_MAX from it
        env["HEADROOM_TEST_DB_REUSE_MAX"] = "100"
    workers.append(Worker(BROKERS["redis"], queue, env))
    coordinator = _coordinate("backfilltests.CountEveryRow", postgres, env)
    assert hits(postgres) == {1: 6_000}
    batches = list(BackfillBatch.objects.using(postgres).all())
    assert len(batches) == 6
    # Each batch records the server process of the connection that ran it.
    backends = {b.worker.split(" backend ")[1] for b in batches}
    if reuse:
        assert len(backends) == 1
        assert "CELERY_DB_REUSE_MAX" not in coordinator.output
    else:
        # Celery's Django fixup closed the worker's connection after every task.
        assert len(backends) == 6
        assert "app.conf['CELERY_DB_REUSE_MAX'] = 100" in coordinator.output


def test_a_range_whose_batches_stall_on_a_worker_says_how_to_give_it_more_time(
    queue: str, workers: list[Worker], postgres: str, tmp_path: Path
) -> None:
    """The statement time-out (twice the target) holds on the workers too; a range that runs
    out of it at every size ends in the failure ledger with a note saying what to do."""
    services.require("redis")
    fill_counters(postgres, 4)
    gate = 4244
    env = _env(
        BROKERS["redis"],
        queue,
        tmp_path,
        BACKFILL_BATCH_SIZE=4,
        BACKFILL_MAX_BATCH_SIZE=4,
        BACKFILL_TARGET_BATCH_SECONDS=0.1,
        BACKFILL_LOCK_TIMEOUT=0,  # the wait for the gate is a lock wait: only the statement's
        BACKFILL_BATCH_RETRIES=1,
        BACKFILL_ERROR_BUDGET=0,
    )
    workers.append(Worker(BROKERS["redis"], queue, env))
    with services.pg_admin(connections[postgres].settings_dict["NAME"]) as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", [gate])  # every batch stalls
        argv = ["run", "backfilltests.CountBehindGate", "--param", f"gate={gate}"]
        coordinator = CommandRun([*argv, "--database", postgres], env)
        try:
            assert coordinator.wait(120) == 1, coordinator.output
        finally:
            coordinator.stop()
    # The other half's batch was in flight when the budget was spent: the run ended only
    # once it had (timed out), so nothing goes through now that the gate is open.
    assert hits(postgres) == {0: 4}
    assert BackfillRun.objects.using(postgres).get().rows_done == 0
    assert "(statement_timeout: canceling statement due to statement timeout" in (
        coordinator.output
    )
    assert "sent again as 2 batches of about 2 keys (attempt 2 of 2)" in coordinator.output
    assert (
        "error budget spent: 1 key ranges failed, and 1 batch(es) sent were stopped before "
        "they were done; after fixing the cause, retry them: headroom backfill run "
        f"backfilltests.CountBehindGate --param gate={gate} --retry-failed"
    ) in coordinator.output
    assert (
        "put in the failure ledger (1 of 0 allowed). 2 keys took longer than the statement "
        "time-out, 0.2 s; if this work cannot be done faster, give it more time"
    ) in coordinator.output


def test_the_rate_cap_saves_up_no_credit_while_the_run_is_throttled(
    queue: str,
    workers: list[Worker],
    postgres: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Throttled for 2 s under a cap of 1,000 rows/s: once healthy, the batches go on at the
    cap, not in a burst that spends the 2 s of waiting (2,000 rows) at once."""
    import threading
    import time

    from headroom.backfill import run_backfill
    from tests.backfill import hooks

    services.require("redis")
    flag = tmp_path / "flag"
    flag.write_text("")
    monkeypatch.setattr(hooks, "FLAG", flag)
    fill_counters(postgres, 4000)
    env = _env(BROKERS["redis"], queue, tmp_path, BACKFILL_BATCH_SIZE=500)
    workers.append(Worker(BROKERS["redis"], queue, env, concurrency=2))
    cleared: list[float] = []

    def clear() -> None:
        cleared.append(time.time())
        flag.unlink()

    threading.Timer(2.0, clear).start()
    with _coordinating_here(queue, BACKFILL_THROTTLE="tests.backfill.hooks.flag_file"):
        run = run_backfill(
            "backfilltests.CountEveryRow",
            database=postgres,
            executor="celery",
            max_rows_per_second=1000,
            batch_size=500,
            max_batch_size=500,
            throttle_check_seconds=0.2,
        )
    assert run.state == "succeeded" and hits(postgres) == {1: 4000}
    batches = BackfillBatch.objects.using(postgres).filter(run=run)
    # Within the first second after the throttle cleared: the cap's 1,000 rows, plus the one
    # 500-row batch of credit it may start with.
    early = sum(b.rows for b in batches if b.finished_at.timestamp() <= cleared[0] + 1.0)
    assert early <= 1500, early


def test_a_failed_range_enters_the_ledger_once_when_the_run_is_taken_over_meanwhile(
    queue: str, workers: list[Worker], postgres: str, tmp_path: Path
) -> None:
    """The coordinator is taken over just after it put a range in the ledger and before it
    marked the batch collected: the coordinator taking over must not enter it again."""
    from headroom.backfill import control, run_backfill
    from headroom.backfill.models import BackfillFailure
    from tests.backfill.conftest import Events

    services.require("redis")
    name = "backfilltests.MarkWriteWindows"
    fill_counters(postgres, 1000)
    env = _env(BROKERS["redis"], queue, tmp_path)
    workers.append(Worker(BROKERS["redis"], queue, env))

    def take_over(text: str) -> None:  # what `run --take-over` does first, at that moment
        if "put in the failure ledger" in text and not taken:
            taken.append(control.claim(name, {"pause": 1.0}, postgres, "celery", take_over=True))

    taken: list[control.Claim] = []
    options = {
        "params": {"pause": 1.0},  # each batch sleeps 1 s: past its 0.2 s time-out
        "database": postgres,
        "executor": "celery",
        "statement_timeout": 0.2,
        "batch_retries": 0,
        "batch_size": 500,
        "max_batch_size": 500,
    }
    with _coordinating_here(queue):
        first = run_backfill(name, reporter=Events(take_over), **options)
        assert taken and first.is_active  # it stopped, taken over
        second = run_backfill(name, take_over=True, **options)
    assert (second.pk, second.state, second.failures) == (first.pk, "failed", 2)
    ledger = sorted(
        (f.start_key, f.end_key) for f in BackfillFailure.objects.using(postgres).filter(run=second)
    )
    assert ledger == [([0], [500]), ([500], [1000])]


def test_a_batch_that_commits_as_the_run_is_cancelled_counts_in_its_figures(
    queue: str, workers: list[Worker], postgres: str, tmp_path: Path
) -> None:
    from headroom.backfill import control

    services.require("redis")
    fill_counters(postgres, 5000)
    # Batches of 0.2 s at least: the run is not over before the test asks the next to stop.
    env = {**_env(BROKERS["redis"], queue, tmp_path), "HEADROOM_TEST_BATCH_DELAY": "0.2"}
    workers.append(Worker(BROKERS["redis"], queue, env))
    coordinator = CommandRun(["run", "backfilltests.CountEveryRow", "--database", postgres], env)
    try:
        wait_for(lambda: BackfillRun.objects.using(postgres).filter(rows_done__gte=1000).exists())
        (tmp_path / "hold").write_text("")  # the next batch stops inside, rows written
        wait_for(lambda: (tmp_path / "inside").exists(), what="a batch in flight")
        control.cancel("backfilltests.CountEveryRow", postgres)
        (tmp_path / "hold").unlink()  # it commits while the coordinator cancels
        assert coordinator.wait(60) == 1, coordinator.output
    finally:
        coordinator.stop()
    run = BackfillRun.objects.using(postgres).get()
    assert run.state == "cancelled"
    done = hits(postgres)
    assert set(done) <= {0, 1}
    assert run.rows_done == done[1]


def test_a_batch_whose_worker_dies_in_it_fails_as_an_attempt_instead_of_looping(
    broker: str, queue: str, workers: list[Worker], postgres: str, tmp_path: Path
) -> None:
    """The batch's pool process is killed in the middle of it (as the out-of-memory killer
    would): the task delivered again does not run it again (it could kill its worker for
    ever) but fails it, and with no retries left its range goes to the ledger; the rest of
    the run is done."""
    import os
    import signal

    from headroom.backfill.models import BackfillFailure

    fill_counters(postgres, 3000)
    env = _env(broker, queue, tmp_path, BACKFILL_BATCH_RETRIES=0)
    workers.append(Worker(broker, queue, env))
    (tmp_path / "hold").write_text("")
    coordinator = CommandRun(["run", "backfilltests.CountEveryRow", "--database", postgres], env)
    try:
        inside = tmp_path / "inside"
        # Its pid, once written (the file exists a moment before it holds the pid).
        wait_for(lambda: inside.exists() and inside.read_text().strip(), what="a batch in flight")
        os.kill(int(inside.read_text()), signal.SIGKILL)
        (tmp_path / "hold").unlink()
        assert coordinator.wait(120) == 1, coordinator.output
    finally:
        coordinator.stop()
    assert "WorkerLost: the worker running this batch died before it finished" in (
        coordinator.output
    )
    run = BackfillRun.objects.using(postgres).get()
    assert (run.state, run.failures, run.rows_done) == ("failed", 1, 2000)
    [lost] = BackfillFailure.objects.using(postgres).filter(run=run)
    assert (lost.start_key, lost.end_key) == ([0], [1000])
    assert hits(postgres) == {1: 2000, 0: 1000}


def test_batches_in_flight_when_the_error_budget_is_spent_are_counted_or_retried(
    queue: str, workers: list[Worker], postgres: str, tmp_path: Path
) -> None:
    """The run fails on its first batch while the next ones are queued or running: those that
    commit count in its figures, the others are parked, and ``--retry-failed`` (once the cause
    is fixed) does them with the ledger's range, so every row is processed exactly once."""
    from headroom.backfill.settle import unsettled

    services.require("redis")
    name = "backfilltests.CountEveryRow"
    fill_counters(postgres, 8000)
    (tmp_path / "poison").write_text("1")  # the first batch fails
    env = {
        **_env(
            BROKERS["redis"],
            queue,
            tmp_path,
            BACKFILL_BATCH_RETRIES=0,
            BACKFILL_ERROR_BUDGET=0,
            BACKFILL_CONCURRENT_BATCHES=2,
            BACKFILL_MAX_IN_FLIGHT=4,
        ),
        "HEADROOM_TEST_BATCH_DELAY": "0.5",  # each batch holds its rows for 0.5 s
    }
    workers.append(Worker(BROKERS["redis"], queue, env))
    coordinator = CommandRun(["run", name, "--database", postgres], env)
    try:
        assert coordinator.wait(120) == 1, coordinator.output
    finally:
        coordinator.stop()
    run = BackfillRun.objects.using(postgres).get()
    assert run.state == "failed"
    assert "batch(es) sent were stopped before they were done" in coordinator.output
    assert unsettled(run, postgres).filter(state="parked").exists()
    # A task the worker takes from the queue now does nothing: nothing commits after the
    # run's figures were written.
    sent = tasks_sent(postgres)
    wait_for(lambda: workers[0].batches_handled() >= sent, what=f"the worker to handle {sent}")
    done = hits(postgres)
    assert set(done) <= {0, 1} and done[0] >= 1000
    assert BackfillRun.objects.using(postgres).get().rows_done == done.get(1, 0)

    (tmp_path / "poison").unlink()
    retry = CommandRun(["run", name, "--retry-failed", "--database", postgres], env)
    try:
        assert retry.wait(120) == 0, retry.output
    finally:
        retry.stop()
    assert "left by the run's last runner: done (1000 rows)" in retry.output
    assert hits(postgres) == {1: 8000}
    run = BackfillRun.objects.using(postgres).get()
    assert (run.state, run.rows_done, run.failures) == ("succeeded", 8000, 0)
    assert not unsettled(run, postgres).exists()


def test_an_inline_runner_taking_over_a_celery_run_does_the_batches_it_had_sent(
    queue: str, workers: list[Worker], postgres: str, tmp_path: Path
) -> None:
    """The coordinator is killed with batches queued and no worker yet; an inline runner
    takes the run while a worker starts on the same queue. Each queued batch is done once,
    by one or the other, and counted once."""
    services.require("redis")
    name = "backfilltests.CountEveryRow"
    fill_counters(postgres, 5000)
    env = _env(BROKERS["redis"], queue, tmp_path, BACKFILL_MAX_IN_FLIGHT=4)
    coordinator = CommandRun(["run", name, "--database", postgres], env)
    try:
        wait_for(lambda: BackfillBatch.objects.using(postgres).count() >= 2, what="batches sent")
        # Two in flight at most (one write slot): the second's row is saved just before its
        # task is sent, and no third is planned while nothing finishes.
        time.sleep(0.5)
    finally:
        coordinator.kill()
    sent = BackfillBatch.objects.using(postgres).count()
    assert hits(postgres) == {0: 5000}
    inline = CommandRun(["run", name, "--executor", "inline", "--database", postgres], env)
    workers.append(Worker(BROKERS["redis"], queue, env))
    try:
        assert inline.wait(120) == 0, inline.output
    finally:
        inline.stop()
    queued = tasks_sent(postgres)
    wait_for(lambda: workers[0].batches_handled() >= queued, what=f"{queued} tasks handled")
    assert hits(postgres) == {1: 5000}
    run = BackfillRun.objects.using(postgres).get()
    assert (run.state, run.rows_done) == ("succeeded", 5000)
    assert inline.output.count("left by the run's last runner: done") == sent


def test_a_batch_parked_after_the_run_was_resumed_is_sent_again(
    queue: str, workers: list[Worker], postgres: str, tmp_path: Path
) -> None:
    """A task that read the run paused parks its batch; when it does so just after the
    coordinator sent the parked batches again on resume, the batch is parked in a running
    run. That state, made here directly, must not leave the run waiting for it for ever."""
    services.require("redis")
    name = "backfilltests.CountEveryRow"
    fill_counters(postgres, 3000)
    env = _env(BROKERS["redis"], queue, tmp_path)
    coordinator = CommandRun(["run", name, "--database", postgres], env)
    try:
        wait_for(lambda: BackfillBatch.objects.using(postgres).exists(), what="a batch sent")
        BackfillBatch.objects.using(postgres).filter(seq=1).update(state="parked")
        workers.append(Worker(BROKERS["redis"], queue, env))
        assert coordinator.wait(60) == 0, coordinator.output
    finally:
        coordinator.stop()
    assert hits(postgres) == {1: 3000}
    run = BackfillRun.objects.using(postgres).get()
    assert (run.state, run.rows_done) == ("succeeded", 3000)
