"""``headroom backfill``: list, dry run, status, and pause/resume/cancel of a running process."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from django.db import connections

from headroom.backfill.models import BackfillRun
from headroom.cli import main
from tests.backfill.app.models import Counter
from tests.backfill.conftest import fill_counters, hits
from tests.backfill.processes import CommandRun, environment, wait_for

pytestmark = pytest.mark.django_db(databases=["default", "postgres", "mariadb"], transaction=True)


def headroom(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["backfill", *argv], django_ready=True)
    out, err = capsys.readouterr()
    return code, out, err


def test_list_names_every_backfill_its_kind_and_parameters(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = headroom(capsys, "--list")
    assert code == 0
    lines = out.splitlines()
    assert any(
        line.startswith("backfilltests.CountEveryRow") and "process" in line for line in lines
    )
    assert any(
        line.startswith("backfilltests.FillValues") and "update" in line and "never run" in line
        for line in lines
    )
    assert any(line.startswith("backfilltests.ImportPrices") and "csv" in line for line in lines)
    assert "Sets value = 2 * id where it is missing." in out
    assert "--param first (int, required): the first id to fill" in out
    assert "--param offset (int, default 100)" in out
    code, out, _ = headroom(capsys, "--list", "--json")
    names = {row["name"] for row in json.loads(out)}
    assert {"backfilltests.FillCoded", "backfilltests.FillEntries"} <= names


def _table(alias: str) -> list[tuple[int, int | None, int]]:
    with connections[alias].cursor() as cursor:
        cursor.execute("SELECT id, value, hits FROM backfilltests_counter ORDER BY id")
        return [tuple(row) for row in cursor.fetchall()]  # type: ignore[misc]


def test_dry_run_shows_before_and_after_and_changes_nothing(
    alias: str, capsys: pytest.CaptureFixture[str]
) -> None:
    fill_counters(alias, 20_000)
    before = _table(alias)
    code, out, _ = headroom(
        capsys, "run", "backfilltests.FillValues", "--dry-run", "--database", alias
    )
    assert code == 0, out
    assert "3 batch(es) in a transaction that was rolled back; nothing was changed." in out
    assert "projected: 20,000 rows in about" in out
    assert "row pk=1: value: None -> 2, hits: 0 -> 1" in out
    assert _table(alias) == before
    assert not BackfillRun.objects.using(alias).exists()
    code, out, _ = headroom(
        capsys, "run", "backfilltests.FillValues", "--dry-run", "--json", "--database", alias
    )
    report = json.loads(out)
    assert report["after"][0] == {"pk": 1, "value": 2, "hits": 1}
    assert report["rows"] == sum(b["rows"] for b in report["batches"]) > 0
    assert _table(alias) == before


def test_run_then_status(alias: str, capsys: pytest.CaptureFixture[str]) -> None:
    fill_counters(alias, 3000)
    code, out, _ = headroom(capsys, "run", "backfilltests.FillValues", "--database", alias)
    assert code == 0, out
    assert f"backfilltests.FillValues #{_id(alias)}: 3,000/3,000 rows  100.0%" in out
    assert "[succeeded]" in out
    assert list(Counter.objects.using(alias).filter(value__isnull=True)) == []
    code, out, _ = headroom(capsys, "status", "backfilltests.FillValues", "--database", alias)
    assert code == 0 and "3,000/3,000 rows" in out and "[succeeded]" in out
    code, out, _ = headroom(
        capsys, "status", "backfilltests.FillValues", "--json", "--database", alias
    )
    [status] = json.loads(out)
    assert status["state"] == "succeeded" and status["rows_done"] == 3000
    assert status["rows_per_second"] > 0 and status["eta_seconds"] == 0
    # Nothing left to do: a second run says so and records no new run, touching nothing.
    first = _id(alias)
    code, out, _ = headroom(capsys, "run", "backfilltests.FillValues", "--database", alias)
    assert code == 0
    assert f"nothing to do: no row needs backfilltests.FillValues; run #{first} did it" in out
    assert f"backfilltests.FillValues #{first}: 3,000/3,000 rows" in out
    assert _id(alias) == first
    # With --json a script can tell "nothing to do" from a run that just did the work.
    code, out, _ = headroom(
        capsys, "run", "backfilltests.FillValues", "--json", "--database", alias
    )
    assert code == 0
    done = json.loads(out)
    assert (done["id"], done["nothing_to_do"]) == (first, True)
    Counter.objects.using(alias).filter(id__lte=10).update(value=None)
    code, out, _ = headroom(
        capsys, "run", "backfilltests.FillValues", "--json", "--database", alias
    )
    assert (code, json.loads(out)["nothing_to_do"]) == (0, False)


def test_quiet_prints_nothing_on_success_and_the_outcome_otherwise(
    alias: str, capsys: pytest.CaptureFixture[str]
) -> None:
    fill_counters(alias, 300)
    argv = ("run", "backfilltests.FillValues", "--database", alias, "--quiet")
    code, out, err = headroom(capsys, *argv)
    assert (code, out, err) == (0, "", "")
    Counter.objects.using(alias).update(value=None)
    code, out, _ = headroom(capsys, *argv, "--batches", "1", "--batch-size", "100")
    # Stopped after one batch on purpose: paused, not succeeded, so it is said.
    assert code == 0
    assert out.startswith(f"backfilltests.FillValues #{_id(alias)}: 100/300 rows"), out
    assert "[paused]" in out


def test_parameters_are_typed_and_kept_with_the_run(
    alias: str, capsys: pytest.CaptureFixture[str]
) -> None:
    fill_counters(alias, 1000)
    code, _, err = headroom(capsys, "run", "backfilltests.FillFrom", "--database", alias)
    assert code == 2
    assert "needs the parameter 'first': --param first=..." in err
    code, _, err = headroom(
        capsys, "run", "backfilltests.FillFrom", "--param", "first=ten", "--database", alias
    )
    assert code == 2 and "parameter 'first': 'ten' is not a whole number" in err
    code, out, _ = headroom(
        capsys,
        "run",
        "backfilltests.FillFrom",
        "--param",
        "first=601",
        "--param",
        "offset=7",
        "--database",
        alias,
    )
    assert code == 0, out
    values = Counter.objects.using(alias)
    assert values.filter(value__isnull=True).count() == 600
    assert set(values.filter(id__gte=601).values_list("value", flat=True)) == {7}
    assert BackfillRun.objects.using(alias).get().params == {"first": 601, "offset": 7}


def test_csv_rows_in_batches(
    alias: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.backfill.app.models import Price

    Price.objects.using(alias).bulk_create(Price(sku=f"S{n}") for n in range(2500))
    path = tmp_path / "prices.csv"
    path.write_text("sku,cents\n" + "".join(f"S{n},{n * 10}\n" for n in range(2500)))
    code, out, _ = headroom(
        capsys,
        "run",
        "backfilltests.ImportPrices",
        "--param",
        f"path={path}",
        "--batch-size",
        "300",
        "--database",
        alias,
    )
    assert code == 0, out
    assert "2,500/2,500 rows" in out
    assert Price.objects.using(alias).filter(cents__isnull=True).count() == 0
    assert Price.objects.using(alias).get(sku="S42").cents == 420


def _id(alias: str) -> int:
    """The latest run's id (SQLite does not reset ids between tests)."""
    return int(BackfillRun.objects.using(alias).values_list("pk", flat=True).first() or 0)


def _state(alias: str) -> str:
    return str(BackfillRun.objects.using(alias).values_list("state", flat=True).get())


def test_pause_resume_and_cancel_a_running_process(
    alias: str, capsys: pytest.CaptureFixture[str]
) -> None:
    fill_counters(alias, 20_000)
    env = environment(
        {"BACKFILL_BATCH_SIZE": 200, "BACKFILL_MAX_BATCH_SIZE": 200},
        HEADROOM_TEST_BATCH_DELAY="0.02",
    )
    process = CommandRun(["run", "backfilltests.CountEveryRow", "--database", alias], env)
    try:
        wait_for(lambda: BackfillRun.objects.using(alias).filter(rows_done__gt=0).exists())
        code, out, _ = headroom(capsys, "pause", "backfilltests.CountEveryRow", "--database", alias)
        assert code == 0
        assert f"run #{_id(alias)} of backfilltests.CountEveryRow is paused" in out
        wait_for(lambda: "paused; resume with" in process.output, what="the runner to pause")
        held = BackfillRun.objects.using(alias).get().rows_done
        time.sleep(0.5)
        assert BackfillRun.objects.using(alias).get().rows_done == held  # it waits
        assert _state(alias) == "paused"
        code, out, _ = headroom(
            capsys, "status", "backfilltests.CountEveryRow", "--database", alias
        )
        assert "[paused]" in out

        code, out, _ = headroom(
            capsys, "resume", "backfilltests.CountEveryRow", "--database", alias
        )
        assert code == 0 and "is running" in out
        wait_for(lambda: BackfillRun.objects.using(alias).get().rows_done > held)

        code, out, _ = headroom(
            capsys, "cancel", "backfilltests.CountEveryRow", "--database", alias
        )
        assert code == 0 and "is cancelling" in out
        assert process.wait() == 1
    finally:
        process.stop()
    assert "cancelled on request" in process.output
    run = BackfillRun.objects.using(alias).get()
    assert run.state == "cancelled"
    # Cancelled between batches: exactly the committed rows were processed, once.
    assert hits(alias) == {1: run.rows_done, 0: 20_000 - run.rows_done}
    code, _, err = headroom(capsys, "pause", "backfilltests.CountEveryRow", "--database", alias)
    assert code == 1
    assert f"has no unfinished run to pause (its last run, #{run.pk}, cancelled)" in err


def test_a_second_runner_is_refused_while_the_first_is_alive(
    alias: str, capsys: pytest.CaptureFixture[str]
) -> None:
    fill_counters(alias, 5000)
    env = environment(
        {"BACKFILL_BATCH_SIZE": 100, "BACKFILL_MAX_BATCH_SIZE": 100},
        HEADROOM_TEST_BATCH_DELAY="0.02",
    )
    process = CommandRun(["run", "backfilltests.CountEveryRow", "--database", alias], env)
    try:
        wait_for(lambda: BackfillRun.objects.using(alias).filter(rows_done__gt=0).exists())
        code, _, err = headroom(capsys, "run", "backfilltests.CountEveryRow", "--database", alias)
        assert code == 3
        assert f"run #{_id(alias)} of backfilltests.CountEveryRow is being run by" in err
        assert "headroom backfill status backfilltests.CountEveryRow" in err
    finally:
        process.kill()
    assert set(hits(alias)) <= {0, 1}


def test_take_over_stops_the_first_runner_with_exit_3_and_processes_every_row_once(
    alias: str,
) -> None:
    fill_counters(alias, 3000)
    env = environment(
        {"BACKFILL_BATCH_SIZE": 100, "BACKFILL_MAX_BATCH_SIZE": 100},
        HEADROOM_TEST_BATCH_DELAY="0.05",
    )
    argv = ["run", "backfilltests.CountEveryRow", "--database", alias]
    first = CommandRun(argv, env)
    second: CommandRun | None = None
    try:
        wait_for(lambda: BackfillRun.objects.using(alias).filter(rows_done__gt=0).exists())
        second = CommandRun([*argv, "--take-over"], env)
        assert first.wait(60) == 3, first.output
        assert second.wait(120) == 0, second.output
    finally:
        first.stop()
        if second is not None:
            second.stop()
    assert "was taken over by another runner" in first.output
    assert "taken over by " in first.output and "this process stopped" in first.output
    run = BackfillRun.objects.using(alias).get()
    assert (run.state, run.rows_done, run.generation) == ("succeeded", 3000, 2)
    assert hits(alias) == {1: 3000}
