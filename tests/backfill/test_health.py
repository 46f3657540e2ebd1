"""Lock timeouts shrink the batch, the failure ledger and error budget, and throttling."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from django.db import connections
from django.test import override_settings

from headroom.backfill import run_backfill
from headroom.backfill.models import BackfillFailure, BackfillRun
from tests.backfill import hooks
from tests.backfill.conftest import Events, fill_counters, hits
from tests.backfill.processes import wait_for

pytestmark = pytest.mark.django_db(databases=["default", "postgres", "mariadb"], transaction=True)


@pytest.fixture
def other_session(postgres: str) -> Iterator[psycopg.Connection[Any]]:
    """A second, independent PostgreSQL session on the test database (another client)."""
    settings = connections[postgres].settings_dict
    conn = psycopg.connect(
        host=settings["HOST"], port=settings["PORT"], user=settings["USER"], dbname=settings["NAME"]
    )
    yield conn
    conn.close()


def test_a_lock_timeout_retries_the_batch_smaller(
    postgres: str, other_session: psycopg.Connection[Any]
) -> None:
    fill_counters(postgres, 20_000)
    # Another client holds row 700's lock: the first batch (rows 1..1000) cannot finish.
    other_session.execute("SELECT * FROM backfilltests_counter WHERE id = 700 FOR UPDATE")

    def release(text: str) -> None:
        if "lock_timeout" in text:
            other_session.commit()

    events = Events(release)
    run = run_backfill(
        "backfilltests.CountEveryRow",
        database=postgres,
        reporter=events,
        lock_timeout=0.2,
        batch_size=1000,
    )
    [failure] = [line for line in events.lines if "failed" in line]
    assert failure.startswith("batch (0 .. 1000] failed (lock_timeout: canceling statement due")
    assert failure.endswith("retrying with 500 keys (attempt 2 of 4)")
    assert run.state == "succeeded"
    assert hits(postgres) == {1: 20_000}
    assert not BackfillFailure.objects.using(postgres).exists()


#: The advisory lock each batch of ``CountBehindGate`` waits for in the tests below.
GATE = 4242


def _behind_the_gate(
    postgres: str, other_session: psycopg.Connection[Any], events: Events, **options: Any
) -> BackfillRun:
    """``CountBehindGate`` with every batch stalled, after writing its rows, behind
    :data:`GATE`, which ``other_session`` holds."""
    other_session.execute("SELECT pg_advisory_lock(%s)", [GATE])
    return run_backfill(
        "backfilltests.CountBehindGate",
        params={"gate": GATE},
        database=postgres,
        reporter=events,
        # Waiting for an advisory lock counts against lock_timeout too: off, so that the
        # statement time-out is what ends the stall.
        lock_timeout=0,
        **options,
    )


def test_a_batch_that_stalls_past_twice_the_target_is_cancelled_and_retried_smaller(
    postgres: str, other_session: psycopg.Connection[Any]
) -> None:
    """The default statement_timeout ("auto") is twice the target batch time: a batch slowed
    down that much gives its row locks up instead of holding them on."""
    fill_counters(postgres, 5000)

    def reopen(text: str) -> None:
        if "statement_timeout" in text:
            other_session.execute("SELECT pg_advisory_unlock(%s)", [GATE])

    events = Events(reopen)
    run = _behind_the_gate(
        postgres, other_session, events, target_batch_seconds=0.25, batch_size=1000
    )
    [failure] = [line for line in events.lines if "failed" in line]
    assert failure.startswith("batch (0 .. 1000] failed (statement_timeout: canceling statement")
    assert "retrying with 500 keys" in failure
    assert run.state == "succeeded"
    assert hits(postgres) == {1: 5000}
    assert not BackfillFailure.objects.using(postgres).exists()


def test_a_range_that_keeps_running_out_of_time_says_how_to_give_it_more(
    postgres: str, other_session: psycopg.Connection[Any]
) -> None:
    fill_counters(postgres, 4)
    events = Events()  # the gate stays shut
    run = _behind_the_gate(
        postgres,
        other_session,
        events,
        target_batch_seconds=0.1,
        batch_size=4,
        batch_retries=1,
        error_budget=0,
    )
    assert run.state == "failed"
    [ledger] = [line for line in events.lines if "failure ledger" in line]
    assert ledger.endswith(
        "(statement_timeout); put in the failure ledger (1 of 0 allowed). 2 keys took longer "
        "than the statement time-out, 0.2 s; if this work cannot be done faster, give it more "
        "time: --statement-timeout SECONDS, or a longer --target-seconds (the time-out is twice "
        "the target)"
    )
    assert hits(postgres) == {0: 4}


def test_a_range_that_keeps_failing_goes_to_the_ledger_and_can_be_retried(
    postgres: str, other_session: psycopg.Connection[Any]
) -> None:
    fill_counters(postgres, 5000)
    other_session.execute("SELECT * FROM backfilltests_counter WHERE id = 2500 FOR UPDATE")
    events = Events()
    run = run_backfill(
        "backfilltests.CountEveryRow",
        database=postgres,
        reporter=events,
        lock_timeout=0.1,
        batch_size=1000,
        batch_retries=2,
    )
    assert run.state == "failed"
    assert "finished with 1 key range(s) in the failure ledger" in run.message
    assert "--retry-failed" in run.message
    [entry] = BackfillFailure.objects.using(postgres).filter(run=run)
    assert entry.start_key is not None and entry.start_key[0] < 2500 <= entry.end_key[0]
    assert "lock timeout" in entry.error
    skipped = entry.end_key[0] - entry.start_key[0]
    # Tried three times, each half the size of the one before, then skipped.
    assert entry.attempts == 3
    assert skipped < 5000 // 4
    assert any(f"retrying with {2 * skipped:,} keys (attempt 2" in line for line in events.lines)
    assert any(f"retrying with {skipped:,} keys (attempt 3 of 3)" in line for line in events.lines)
    # Everything else was done, exactly once; the locked range not at all.
    assert hits(postgres) == {1: 5000 - skipped, 0: skipped}

    other_session.commit()
    from headroom.backfill.options import RunOptions
    from headroom.backfill.registry import get_backfill
    from headroom.backfill.runner import retry_failed

    backfill = get_backfill("backfilltests.CountEveryRow")()
    backfill.database = postgres
    again = retry_failed(backfill, RunOptions.build(backfill))
    assert again.state == "succeeded" and again.failures == 0
    assert hits(postgres) == {1: 5000}


def test_a_one_key_batch_that_fails_is_retried_as_it_is(
    postgres: str, other_session: psycopg.Connection[Any]
) -> None:
    fill_counters(postgres, 3)
    other_session.execute("SELECT * FROM backfilltests_counter WHERE id = 2 FOR UPDATE")
    events = Events()
    run = run_backfill(
        "backfilltests.CountEveryRow",
        database=postgres,
        reporter=events,
        lock_timeout=0.05,
        batch_size=1,
        max_batch_size=1,
        batch_retries=2,
    )
    failures = [line for line in events.lines if " failed (" in line]
    assert [line.split("); ")[-1] for line in failures] == [
        "retrying the same keys (attempt 2 of 3)",
        "retrying the same keys (attempt 3 of 3)",
    ]
    assert run.state == "failed" and hits(postgres) == {1: 2, 0: 1}


def test_the_error_budget_stops_the_run(
    postgres: str, other_session: psycopg.Connection[Any]
) -> None:
    fill_counters(postgres, 3000)
    other_session.execute(
        "SELECT * FROM backfilltests_counter WHERE id IN (100, 1100, 2100) FOR UPDATE"
    )
    run = run_backfill(
        "backfilltests.CountEveryRow",
        database=postgres,
        lock_timeout=0.05,
        batch_size=1000,
        batch_retries=0,
        error_budget=1,
    )
    assert run.state == "failed"
    assert run.message.startswith("error budget spent: 2 key ranges failed (last: lock_timeout")
    assert run.message.endswith(
        "after fixing the cause, retry them: headroom backfill run backfilltests.CountEveryRow "
        "--retry-failed"
    )
    assert BackfillFailure.objects.using(postgres).filter(run=run).count() == 2
    assert hits(postgres)[0] >= 2000  # it stopped: the third range was never tried


def _in_thread(**kwargs: Any) -> tuple[threading.Thread, dict[str, Any]]:
    result: dict[str, Any] = {}

    def target() -> None:
        try:
            result["run"] = run_backfill("backfilltests.CountEveryRow", **kwargs)
        finally:
            connections.close_all()

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread, result


def test_a_long_transaction_throttles_the_run_until_it_ends(
    postgres: str, other_session: psycopg.Connection[Any]
) -> None:
    fill_counters(postgres, 5000)
    other_session.execute("SELECT txid_current()")  # a transaction stays open
    time.sleep(0.4)
    events = Events()
    with override_settings(HEADROOM={"BACKFILL_MAX_TRANSACTION_SECONDS": 0.3}):
        thread, result = _in_thread(database=postgres, reporter=events, throttle_check_seconds=0.1)
        run = wait_for(
            lambda: BackfillRun.objects.using(postgres).filter(state="throttled").first(),
            what="the run to be throttled",
        )
        assert run.throttle_reason.startswith("a transaction has been open")
        assert f"pid {other_session.info.backend_pid}, idle in transaction" in run.throttle_reason
        assert "it holds back vacuum" in run.throttle_reason
        done = run.rows_done
        time.sleep(0.5)
        assert BackfillRun.objects.using(postgres).get().rows_done == done  # it waits
        other_session.commit()
        thread.join(60)
    assert result["run"].state == "succeeded"
    assert any(line.startswith("throttled: a transaction has been open") for line in events.lines)
    assert "healthy again; going on" in events.lines
    assert hits(postgres) == {1: 5000}


def test_busy_backends_throttle_the_run(
    postgres: str, other_session: psycopg.Connection[Any]
) -> None:
    fill_counters(postgres, 1000)
    other_session.autocommit = True
    sleeper = threading.Thread(
        target=lambda: other_session.execute("SELECT pg_sleep(1.5)"), daemon=True
    )
    sleeper.start()
    wait_for(lambda: _active(postgres) >= 1, what="the other session to be busy")
    events = Events()
    with override_settings(HEADROOM={"BACKFILL_MAX_ACTIVE_BACKENDS": 0}):
        run = run_backfill(
            "backfilltests.CountEveryRow",
            database=postgres,
            reporter=events,
            throttle_check_seconds=0.1,
        )
    sleeper.join()
    assert run.state == "succeeded"
    throttled = [line for line in events.lines if line.startswith("throttled:")]
    assert throttled and "other backends are running statements (limit 0)" in throttled[0]


def _active(using: str) -> int:
    with connections[using].cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' "
            "AND query LIKE '%%pg_sleep(1.5)%%' AND pid <> pg_backend_pid()"
        )
        return int(cursor.fetchone()[0])


def test_a_user_hook_throttles_on_every_database(alias: str, tmp_path: Path) -> None:
    fill_counters(alias, 2000)
    flag = tmp_path / "maintenance"
    flag.write_text("")
    hooks.FLAG = flag
    events = Events()
    with override_settings(HEADROOM={"BACKFILL_THROTTLE": "tests.backfill.hooks.flag_file"}):
        thread, result = _in_thread(database=alias, reporter=events, throttle_check_seconds=0.05)
        run = wait_for(
            lambda: BackfillRun.objects.using(alias).filter(state="throttled").first(),
            what="the run to be throttled",
        )
        assert run.throttle_reason == f"maintenance flag maintenance is set (database {alias})"
        assert run.rows_done == 0
        os.remove(flag)
        thread.join(60)
    assert result["run"].state == "succeeded"
    assert hits(alias) == {1: 2000}


def test_retrying_a_run_stopped_by_its_error_budget_also_walks_the_keys_it_never_reached(
    postgres: str, other_session: psycopg.Connection[Any], capsys: pytest.CaptureFixture[str]
) -> None:
    from headroom.cli import main

    fill_counters(postgres, 3000)
    other_session.execute("SELECT * FROM backfilltests_counter WHERE id = 150 FOR UPDATE")
    run = run_backfill(
        "backfilltests.CountEveryRow",
        database=postgres,
        lock_timeout=0.05,
        batch_size=100,
        max_batch_size=100,
        batch_retries=0,
        error_budget=0,
    )
    assert run.state == "failed" and "error budget spent" in run.message
    assert hits(postgres) == {1: 100, 0: 2900}  # stopped at the first failed range
    other_session.commit()
    argv = ["backfill", "run", "backfilltests.CountEveryRow", "--database", postgres]
    assert main([*argv, "--retry-failed"], django_ready=True) == 0, capsys.readouterr()
    run.refresh_from_db(using=postgres)
    assert (run.state, run.rows_done) == ("succeeded", 3000)
    assert hits(postgres) == {1: 3000}
