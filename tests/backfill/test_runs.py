"""What a run does around its batches: the rate cap and its pacing, the figures it reports,
stopping after N batches, retrying failed ranges, and input refused before a run exists."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from django.test import override_settings

from headroom.backfill import control, run_backfill
from headroom.backfill.models import BackfillFailure, BackfillRun
from headroom.backfill.options import RunOptions
from headroom.backfill.registry import get_backfill
from headroom.backfill.runner import InlineRunner, retry_failed
from headroom.cli import main
from tests.backfill.app.models import Counter
from tests.backfill.conftest import Events, fill_counters, hits

pytestmark = pytest.mark.django_db(databases=["default", "postgres", "mariadb"], transaction=True)

ROOT = Path(__file__).resolve().parents[2]


class Figures(Events):
    """Keeps each progress update's (rows done, total, rows/s)."""

    def __init__(self) -> None:
        super().__init__()
        self.updates: list[tuple[int, int | None, float]] = []

    def update(self, run: Any) -> None:
        self.updates.append((run.rows_done, run.rows_total, run.rows_per_second))


def test_the_rate_cap_bounds_the_batches_and_the_reported_rate(alias: str) -> None:
    fill_counters(alias, 3000)
    backfill = get_backfill("backfilltests.CountEveryRow")()
    backfill.database = alias
    options = RunOptions.build(
        backfill, batch_size=100, max_rows_per_second=2000, target_batch_seconds=0.1
    )
    figures = Figures()
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        time.sleep(seconds)

    began = time.monotonic()
    run = InlineRunner(backfill, options, figures, sleep=sleep).execute()
    elapsed = time.monotonic() - began
    assert (run.state, run.rows_done) == ("succeeded", 3000)
    assert hits(alias) == {1: 3000}
    # No batch over what the cap allows in one target batch time (2,000 x 0.1 s)...
    assert run.batch_size <= 200 and run.batches_done >= 3000 // 200
    # ...so the run keeps to the cap by short sleeps, not one long one at the end.
    assert slept and max(slept) <= 0.2
    assert elapsed >= 3000 / 2000 * 0.8
    # The rows/s shown is the run's pace, sleeps included, not the batches' own speed.
    shown = [rate for _, _, rate in figures.updates if rate]
    assert shown and max(shown[2:]) < 2000 * 1.5, shown


def test_a_long_pacing_sleep_ends_on_a_pause_request(alias: str) -> None:
    fill_counters(alias, 2000)
    backfill = get_backfill("backfilltests.CountEveryRow")()
    backfill.database = alias
    # Each 500-row batch is followed by about 5 s of pacing, slept in 1 s steps.
    options = RunOptions.build(
        backfill, batch_size=500, min_batch_size=500, max_batch_size=500, max_rows_per_second=100
    )
    steps: list[float] = []

    def sleep(seconds: float) -> None:
        steps.append(seconds)
        if len(steps) == 2:  # a second into the pacing, someone pauses the run
            control.pause("backfilltests.CountEveryRow", alias)
        time.sleep(0.01)

    runner = InlineRunner(backfill, options, Events(), sleep=sleep)
    # The runner sees the pause within the pacing, before another batch, and waits; cancel
    # it from there so that the test ends.
    calls: list[str] = []

    def paused() -> str:
        calls.append(runner.run.state)
        control.cancel("backfilltests.CountEveryRow", alias)
        return "cancelled"

    runner._wait_while_paused = paused  # type: ignore[method-assign]
    run = runner.execute()
    assert calls == ["paused"]
    assert run.state == "cancelled"
    assert run.batches_done == 1 and hits(alias) == {1: 500, 0: 1500}
    assert all(step <= 1.0 for step in steps) and len(steps) == 2


def test_stopping_after_n_batches_leaves_the_run_paused_and_free(alias: str) -> None:
    fill_counters(alias, 3000)
    events = Events()
    run = run_backfill(
        "backfilltests.CountEveryRow",
        database=alias,
        batch_size=1000,
        max_batches=1,
        reporter=events,
    )
    assert run.state == "paused" and run.owner == ""
    assert run.message == (
        "stopped after 1 batch(es) as asked; go on with: "
        "headroom backfill run backfilltests.CountEveryRow"
    )
    assert events.lines[-1] == run.message
    again = run_backfill("backfilltests.CountEveryRow", database=alias)
    assert (again.pk, again.state) == (run.pk, "succeeded")
    assert hits(alias) == {1: 3000}


def test_batches_that_do_all_the_work_end_the_run_succeeded(alias: str) -> None:
    fill_counters(alias, 500)
    run = run_backfill(
        "backfilltests.CountEveryRow", database=alias, batch_size=1000, max_batches=1
    )
    assert (run.state, run.message, run.rows_done) == ("succeeded", "", 500)
    assert hits(alias) == {1: 500}


def test_the_exact_count_replaces_the_estimate_while_the_run_goes_on(postgres: str) -> None:
    # No ANALYZE: the planner's estimate is far from the 5,000 rows the count finds.
    fill_counters(postgres, 5000)
    figures = Figures()
    with override_settings(HEADROOM={"BACKFILL_EXACT_COUNT_LIMIT": 10_000}):
        run = run_backfill(
            "backfilltests.CountEveryRow",
            database=postgres,
            batch_size=100,
            max_batch_size=100,
            reporter=figures,
        )
    assert run.rows_total == 5000
    before_the_end = [total for done, total, _ in figures.updates if done < 5000]
    assert 5000 in before_the_end, figures.updates
    assert all(done <= total for done, total, _ in figures.updates if total == 5000)


def test_failed_ranges_are_retried_only_with_the_runs_parameters(
    alias: str, capsys: pytest.CaptureFixture[str]
) -> None:
    run = BackfillRun.objects.using(alias).create(
        name="backfilltests.FillFrom",
        params={"first": 1, "offset": 100},
        state="failed",
        failures=1,
    )
    BackfillFailure.objects.using(alias).create(
        run=run, start_key=[0], end_key=[10], attempts=3, error="LockTimeout"
    )
    backfill = get_backfill("backfilltests.FillFrom")(first="1", offset="5")
    backfill.database = alias
    with pytest.raises(control.RunError) as refused:
        retry_failed(backfill, RunOptions.build(backfill))
    assert str(refused.value) == (
        f"the failed run #{run.pk} of backfilltests.FillFrom ran with other parameters "
        "({'first': 1, 'offset': 100}); retry it with them: headroom backfill run "
        "backfilltests.FillFrom --param first=1 --param offset=100 --retry-failed"
    )
    # On the command line it is a usage error (2), as any other bad input.
    argv = ["backfill", "run", "backfilltests.FillFrom", "--database", alias, "--retry-failed"]
    code = main([*argv, "--param", "first=1", "--param", "offset=5"], django_ready=True)
    assert code == 2
    assert "ran with other parameters" in capsys.readouterr().err
    run.refresh_from_db(using=alias)
    assert run.state == "failed"

    # A later failed run with other parameters does not hide this one from a retry with its
    # own.
    later = BackfillRun.objects.using(alias).create(
        name="backfilltests.FillFrom", params={"first": 1, "offset": 5}, state="failed"
    )
    BackfillFailure.objects.using(alias).create(
        run=later, start_key=[0], end_key=[10], attempts=3, error="LockTimeout"
    )
    code = main([*argv, "--param", "first=1", "--param", "offset=100"], django_ready=True)
    assert code == 0, capsys.readouterr()
    run.refresh_from_db(using=alias)
    later.refresh_from_db(using=alias)
    assert (run.state, later.state) == ("succeeded", "failed")


def test_a_csv_file_that_cannot_be_read_is_refused_before_any_run(
    alias: str, tmp_path: Path
) -> None:
    missing = tmp_path / "missing.csv"
    with pytest.raises(ValueError) as refused:
        get_backfill("backfilltests.ImportPrices")(path=str(missing))
    assert str(refused.value) == (
        f"parameter 'path': cannot read {str(missing)!r}: No such file or directory"
    )
    assert not BackfillRun.objects.using(alias).exists()


def test_a_run_that_cannot_start_is_left_paused_and_free_not_running(
    alias: str, tmp_path: Path
) -> None:
    """A CSV file that is not valid UTF-8 fails only when the run counts its rows, after the
    run was claimed: the run says why and waits, held by no process."""
    data = tmp_path / "prices.csv"
    data.write_bytes(b"sku,cents\nA,100\n\xff\xfe,200\n")
    with pytest.raises(control.RunError) as refused:
        run_backfill("backfilltests.ImportPrices", params={"path": str(data)}, database=alias)
    run = BackfillRun.objects.using(alias).get()
    assert (run.state, run.owner) == ("paused", "")
    assert run.message.startswith("could not start: UnicodeDecodeError: ")
    assert run.message.endswith(
        f"once that is fixed, go on with: headroom backfill run backfilltests.ImportPrices "
        f"--param path={data}"
    )
    assert str(refused.value) == f"run #{run.pk} of backfilltests.ImportPrices {run.message}"


def test_the_celery_executor_needs_a_celery_app() -> None:
    """In a process where no Celery app was created and none is named in the settings, the
    coordinator refuses before it records a run (it would wait for ever)."""
    script = (
        "import django; django.setup()\n"
        "from headroom.backfill.coordinator import no_celery_app\n"
        "print(no_celery_app())\n"
    )
    env = {"DJANGO_SETTINGS_MODULE": "tests.backfill.process_settings", "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("no Celery app is set up in this process"), done.stdout
    named = subprocess.run(
        [sys.executable, "-c", script],
        env={
            **env,
            "HEADROOM_TEST_OPTIONS": '{"BACKFILL_CELERY_APP": "tests.backfill.celery_app.app"}',
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert named.stdout.strip() == "None", named.stderr


def test_require_backfill_speaks_of_a_later_run_that_did_not_succeed(alias: str) -> None:
    from headroom.backfill.operations import backfill_problem

    fill_counters(alias, 1500)
    runs = BackfillRun.objects.using(alias)
    done = runs.create(name="backfilltests.CountEveryRow", state="succeeded", progress=1.0)
    assert backfill_problem("backfilltests.CountEveryRow", alias) == (
        f"backfill backfilltests.CountEveryRow succeeded (run #{done.pk}) but more than 1,000 "
        "row(s) match its queryset again (written since by code that does not fill them in?). "
        "Deploy the code that fills them, run the backfill again, then migrate:\n"
        "    python manage.py headroom backfill run backfilltests.CountEveryRow"
    )
    later = runs.create(name="backfilltests.CountEveryRow", state="cancelled", progress=0.24)
    assert backfill_problem("backfilltests.CountEveryRow", alias) == (
        "backfill backfilltests.CountEveryRow has not finished its last run on database "
        f"{alias!r} (#{later.pk}, cancelled at 24.0%; #{done.pk} succeeded before it); more "
        "than 1,000 row(s) still need it. Run it, then migrate again:\n"
        "    python manage.py headroom backfill run backfilltests.CountEveryRow"
    )


def test_require_backfill_with_parameters_and_with_a_csv_file(
    alias: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from headroom.backfill import Backfill, Param, registry
    from headroom.backfill.operations import backfill_problem

    class NeedsFactor(Backfill):
        name = "backfilltests.NeedsFactor"
        queryset = Counter.objects.filter(value__isnull=True)
        factor = Param(int)

    monkeypatch.setitem(registry._registry, NeedsFactor.name, NeedsFactor)
    # A new, empty table: nothing to backfill, though it cannot be built without a factor.
    assert backfill_problem(NeedsFactor.name, alias) is None
    fill_counters(alias, 10)
    assert backfill_problem(NeedsFactor.name, alias) == (
        "backfilltests.NeedsFactor cannot be checked (backfilltests.NeedsFactor needs the "
        "parameter 'factor': params={'factor': ...})"
    )
    # Its last run's parameters, though it did not succeed.
    paused = BackfillRun.objects.using(alias).create(
        name=NeedsFactor.name, params={"factor": 2}, state="paused"
    )
    assert backfill_problem(NeedsFactor.name, alias) == (
        f"backfill backfilltests.NeedsFactor has not succeeded on database {alias!r} (its last "
        f"run, #{paused.pk}, is paused at 0.0%); 10 row(s) still need it. Run it, then "
        "migrate again:\n    python manage.py headroom backfill run backfilltests.NeedsFactor "
        "--param factor=2"
    )
    # A CSV backfill has no rows to look at: done once a run went through its file.
    assert backfill_problem("backfilltests.ImportPrices", alias) == (
        f"backfill backfilltests.ImportPrices has not succeeded on database {alias!r} (it has "
        "never run). Run it, then migrate again:\n"
        "    python manage.py headroom backfill run backfilltests.ImportPrices"
    )
    BackfillRun.objects.using(alias).create(
        name="backfilltests.ImportPrices", params={"path": "prices.csv"}, state="succeeded"
    )
    assert backfill_problem("backfilltests.ImportPrices", alias) is None


def test_a_backfill_with_nothing_left_to_do_starts_no_new_run(alias: str) -> None:
    fill_counters(alias, 2000)
    first = run_backfill("backfilltests.FillValues", database=alias)
    assert (first.state, first.rows_done) == ("succeeded", 2000)
    events = Events()
    again = run_backfill("backfilltests.FillValues", database=alias, reporter=events)
    assert again.pk == first.pk and again.rows_done == 2000
    assert events.lines == [
        f"nothing to do: no row needs backfilltests.FillValues; run #{first.pk} did it"
    ]
    assert BackfillRun.objects.using(alias).count() == 1


@pytest.mark.parametrize("detach", [False, True], ids=["attached", "detached"])
def test_no_run_is_recorded_where_there_is_no_celery_app(alias: str, detach: bool) -> None:
    from tests.backfill.processes import CommandRun, environment

    fill_counters(alias, 100)
    argv = ["run", "backfilltests.FillValues", "--database", alias, "--executor", "celery"]
    command = CommandRun(argv + (["--detach"] if detach else []), environment())
    assert command.wait() == 3, command.output
    assert "no Celery app is set up in this process" in command.output
    assert not BackfillRun.objects.using(alias).exists()


def test_the_total_shown_is_never_under_the_rows_done() -> None:
    from headroom.backfill.progress import summary

    run = BackfillRun(name="x.Y", state="running", rows_done=1000, rows_total=178, batch_size=1000)
    assert summary(run).startswith("1,000/1,000 rows")
    run.rows_total = 200_000
    assert summary(run).startswith("1,000/200,000 rows")
    run.rows_per_second = 0.2  # a tight rate cap: not shown as 0
    assert "  0.2 rows/s  " in summary(run)
    run.rows_per_second = 12_345.6
    assert "  12,346 rows/s  " in summary(run)


def test_check_warns_where_the_celery_executor_has_no_app() -> None:
    script = (
        "import django; django.setup()\n"
        "from headroom.backfill.checks import check_backfill_options\n"
        "print(sorted(m.id for m in check_backfill_options()))\n"
    )
    env = {
        "DJANGO_SETTINGS_MODULE": "tests.backfill.process_settings",
        "PYTHONPATH": str(ROOT),
        "HEADROOM_TEST_OPTIONS": '{"BACKFILL_EXECUTOR": "celery"}',
    }
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.stdout.strip() == "['headroom.W204']", done.stderr


def test_a_run_left_cancelling_is_cancelled_by_the_next_run_and_stays_so(alias: str) -> None:
    fill_counters(alias, 10)
    # Its runner died between the cancel and the end of its batch.
    left = BackfillRun.objects.using(alias).create(
        name="backfilltests.CountEveryRow", state="cancelling", owner="", generation=3
    )
    with pytest.raises(control.RunError) as refused:
        run_backfill("backfilltests.CountEveryRow", database=alias)
    assert str(refused.value) == (
        f"run #{left.pk} of backfilltests.CountEveryRow was being cancelled; it is cancelled now."
    )
    left.refresh_from_db(using=alias)
    assert (left.state, left.generation) == ("cancelled", 3)
    assert left.finished_at is not None
    # The next run is a new one, and does the work.
    run = run_backfill("backfilltests.CountEveryRow", database=alias)
    assert run.pk != left.pk and run.state == "succeeded"
    assert hits(alias) == {1: 10}


def test_a_run_resumed_without_its_parameters_goes_on_with_them(alias: str) -> None:
    fill_counters(alias, 3000)
    first = run_backfill(
        "backfilltests.SetScale",
        params={"scale": 7},
        database=alias,
        batch_size=1000,
        max_batch_size=1000,
        max_batches=1,
    )
    assert first.state == "paused"
    # Resumed with no --param: the run's scale, 7, not the default 1.
    run = run_backfill("backfilltests.SetScale", database=alias)
    assert (run.pk, run.state, run.params) == (first.pk, "succeeded", {"scale": 7})
    assert hits(alias) == {1: 3000}
    assert set(Counter.objects.using(alias).values_list("value", flat=True)) == {7}


def test_a_nullable_cursor_column_is_refused_before_any_run(
    alias: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rows whose cursor column is NULL would never be walked: refused, on the command line
    as a usage error, and nothing is recorded."""
    from django.core.exceptions import ImproperlyConfigured

    from headroom.backfill import Backfill, registry

    class ByValue(Backfill):
        name = "backfilltests.ByValue"
        queryset = Counter.objects.all()
        cursor = ("value", "id")
        update = {"hits": 1}

    fill_counters(alias, 10)
    backfill = ByValue()
    backfill.database = alias
    with pytest.raises(ImproperlyConfigured) as refused:
        run_backfill(backfill)
    assert str(refused.value) == (
        "backfilltests.ByValue: the cursor column(s) value allow NULL, and rows where one is "
        "NULL would never be walked. Use columns that cannot be NULL (ending with the primary "
        "key)."
    )
    monkeypatch.setitem(registry._registry, ByValue.name, ByValue)
    code = main(["backfill", "run", ByValue.name, "--database", alias], django_ready=True)
    assert code == 2
    assert "the cursor column(s) value allow NULL" in capsys.readouterr().err
    assert not BackfillRun.objects.using(alias).exists()
    assert hits(alias) == {0: 10}


def test_a_run_held_by_another_thread_of_this_process_is_not_taken_over(
    postgres: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two runners in one process (coordinator tasks on a worker's threads pool) have the
    same owner id: the second is refused while the first is working, as it would be from
    another process, and may take the run once the first stopped without finishing it."""
    import threading

    from django.db import connections

    name = "backfilltests.CountEveryRow"
    fill_counters(postgres, 2000)
    monkeypatch.setenv("HEADROOM_TEST_BATCH_DELAY", "0.2")
    seen = threading.Event()
    finished: list[BackfillRun] = []

    def first() -> None:
        events = Events(lambda text: seen.set() if text.startswith("started") else None)
        try:
            finished.append(
                run_backfill(
                    name,
                    database=postgres,
                    reporter=events,
                    batch_size=100,
                    max_batch_size=100,
                    max_batches=8,
                )
            )
        finally:
            connections.close_all()  # this thread's

    thread = threading.Thread(target=first)
    thread.start()
    try:
        assert seen.wait(30)
        with pytest.raises(control.RunHeld, match="is being run by"):
            control.claim(name, {}, postgres, "inline")
    finally:
        thread.join(60)
    assert finished and finished[0].state == "paused"  # stopped after 8 batches, the run free
    # A runner of this process that stopped, leaving its owner and heartbeat on the run
    # (as a crash in the middle of a batch would), does not hold it.
    BackfillRun.objects.using(postgres).update(
        owner=control.owner_id(), heartbeat_at=finished[0].updated_at, state="running"
    )
    run = run_backfill(name, database=postgres)
    assert run.state == "succeeded" and hits(postgres) == {1: 2000}


def _celery_run_left(alias: str) -> BackfillRun:
    """A paused Celery run over 5,000 rows as its coordinator left it, planned up to key
    3,000: one batch counted, one done by a worker but not counted, one never run, one
    failed and not yet retried."""
    from django.db.models import F

    from headroom.backfill.models import BackfillBatch

    fill_counters(alias, 5000)
    Counter.objects.using(alias).filter(pk__lte=2000).update(hits=F("hits") + 1)  # batches 1, 2
    run = BackfillRun.objects.using(alias).create(
        name="backfilltests.CountEveryRow",
        executor="celery",
        state="paused",
        start_key=[0],
        stop_key=[5000],
        cursor=[3000],
        rows_total=5000,
        rows_done=1000,
        batches_done=1,
    )
    for seq, start, end, state, collected in (
        (1, 0, 1000, "done", True),
        (2, 1000, 2000, "done", False),
        (3, 2000, 2500, "pending", False),
        (4, 2500, 3000, "failed", False),
    ):
        BackfillBatch.objects.using(alias).create(
            run=run,
            seq=seq,
            start_key=[start],
            end_key=[end],
            size=end - start,
            state=state,
            collected=collected,
            rows=end - start if state == "done" else 0,
        )
    return run


def test_an_inline_runner_settles_the_batches_a_celery_run_left(alias: str) -> None:
    """An inline runner taking the run does each batch left once, counts each once, then
    goes on from the run's cursor."""
    from headroom.backfill.models import BackfillBatch

    run = _celery_run_left(alias)
    events = Events()
    finished = run_backfill(run.name, database=alias, reporter=events)
    assert (finished.pk, finished.state, finished.rows_done) == (run.pk, "succeeded", 5000)
    assert hits(alias) == {1: 5000}
    assert [line for line in events.lines if "left by the run's last runner" in line] == [
        "batch 2 (keys (1000 .. 2000]), left by the run's last runner: done by a worker "
        "(1000 rows)",
        "batch 3 (keys (2000 .. 2500]), left by the run's last runner: done (500 rows)",
        "batch 4 (keys (2500 .. 3000]), left by the run's last runner: done (500 rows)",
    ]
    states = set(BackfillBatch.objects.using(alias).values_list("state", "collected"))
    assert states == {("done", True)}


def test_a_batch_left_by_a_celery_run_that_still_fails_goes_to_the_ledger(
    alias: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Retried like any batch, then put in the failure ledger; the run goes on, ends failed,
    and ``--retry-failed`` does the range once the cause is fixed."""
    run = _celery_run_left(alias)
    monkeypatch.setenv("HEADROOM_TEST_HOLD_DIR", str(tmp_path))
    (tmp_path / "poison").write_text("2100")  # in batch 3
    events = Events()
    finished = run_backfill(run.name, database=alias, reporter=events, batch_retries=1)
    assert (finished.state, finished.failures, finished.rows_done) == ("failed", 1, 4500)
    assert (
        "batch 3 (keys (2000 .. 2500]), left by the run's last runner, failed (ValueError: row "
        "2100 is poisoned); retrying it (attempt 2 of 2)"
    ) in events.lines
    assert (
        "batch 3 (keys (2000 .. 2500]), left by the run's last runner, failed 2 times "
        "(ValueError); put in the failure ledger"
    ) in events.lines
    ledger = BackfillFailure.objects.using(alias).get(run=run)
    assert (ledger.start_key, ledger.end_key, ledger.attempts) == ([2000], [2500], 2)
    assert hits(alias) == {0: 500, 1: 4500}

    (tmp_path / "poison").unlink()
    backfill = get_backfill(run.name)()
    backfill.database = alias
    retried = retry_failed(backfill, RunOptions.build(backfill))
    assert (retried.state, retried.rows_done, retried.failures) == ("succeeded", 5000, 0)
    assert hits(alias) == {1: 5000}
