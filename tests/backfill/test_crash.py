"""SIGKILL at any moment: the run resumes and every row is processed exactly once."""

from __future__ import annotations

import random
import time
from pathlib import Path

import pytest

from headroom.backfill.models import BackfillRun
from tests.backfill.conftest import fill_counters, hits
from tests.backfill.processes import CommandRun, environment, wait_for

pytestmark = pytest.mark.django_db(databases=["default", "postgres", "mariadb"], transaction=True)

ROWS = 20_000
# Small, slow batches, so that a kill lands inside one.
OPTIONS = {"BACKFILL_BATCH_SIZE": 500, "BACKFILL_MAX_BATCH_SIZE": 500}


def _run(alias: str, tmp_path: Path, **extra: str) -> CommandRun:
    env = environment(OPTIONS, HEADROOM_TEST_HOLD_DIR=str(tmp_path), **extra)
    return CommandRun(["run", "backfilltests.CountEveryRow", "--database", alias], env)


def _settled(alias: str, name: str) -> None:
    """Wait until no server process of the killed runner ``name`` is left: one that was
    committing when its client died still commits, after the kill returned."""
    from django.db import connections

    if connections[alias].vendor != "postgresql":
        return

    def gone() -> bool:
        with connections[alias].cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", [name]
            )
            return cursor.fetchone()[0] == 0

    wait_for(gone, what=f"the server processes of {name} to end")


def _done(alias: str) -> int:
    run = BackfillRun.objects.using(alias).order_by("-id").first()
    return run.rows_done if run else 0


def test_killed_mid_batch_resumes_and_processes_every_row_once(alias: str, tmp_path: Path) -> None:
    fill_counters(alias, ROWS)
    (tmp_path / "hold").write_text("")
    first = _run(alias, tmp_path)
    try:
        # The first batch has changed its rows and waits, uncommitted: kill it there.
        wait_for(lambda: (tmp_path / "inside").exists(), what="a batch in flight")
        assert hits(alias) == {0: ROWS}  # the batch's changes are not visible: not committed
        first.kill()
    finally:
        first.stop()
    assert hits(alias) == {0: ROWS}
    run = BackfillRun.objects.using(alias).get()
    assert run.state == "running"  # nobody said it ended: the process just vanished

    (tmp_path / "hold").unlink()
    second = _run(alias, tmp_path)
    assert second.wait() == 0, second.output
    assert "resumed run #" in second.output
    assert hits(alias) == {1: ROWS}
    run.refresh_from_db()
    assert run.state == "succeeded"
    assert run.rows_done == ROWS
    assert run.generation == 2


def test_killed_at_random_moments_still_processes_every_row_once(
    alias: str, tmp_path: Path
) -> None:
    fill_counters(alias, ROWS)
    chance = random.Random(4)
    processes = 0
    for _ in range(4):
        name = f"headroom-crash-{processes}"
        process = _run(alias, tmp_path, HEADROOM_TEST_BATCH_DELAY="0.01", PGAPPNAME=name)
        processes += 1
        try:
            before = _done(alias)
            wait_for(lambda b=before: _done(alias) > b, what="a committed batch")  # type: ignore[misc]
            time.sleep(chance.uniform(0.0, 0.3))
            process.kill()
        finally:
            process.stop()
        _settled(alias, name)
        counts = hits(alias)
        assert set(counts) <= {0, 1}, counts  # nothing twice, whatever the moment
        if BackfillRun.objects.using(alias).get().state == "succeeded":
            break  # this one finished the run before its kill came
    else:
        last = _run(alias, tmp_path)
        processes += 1
        assert last.wait() == 0, last.output
    assert hits(alias) == {1: ROWS}
    run = BackfillRun.objects.using(alias).get()
    # Each process took the run over from the one killed before it.
    assert (run.state, run.rows_done, run.generation) == ("succeeded", ROWS, processes)
