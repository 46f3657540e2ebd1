"""``headroom backfill watchdog``: a Celery run whose coordinator is gone is handed to a new
one, and ``status`` says which runs need it; with a real worker on Redis killed whole."""

from __future__ import annotations

import datetime
import json
import re
import uuid
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from headroom.backfill import control, watchdog
from headroom.backfill.models import BackfillRun
from headroom.backfill.tasks import watchdog as watchdog_task
from headroom.cli import main
from tests import services
from tests.backfill.conftest import fill_counters, hits
from tests.backfill.processes import (
    CommandRun,
    Worker,
    celery_environment,
    wait_for,
)

pytestmark = pytest.mark.django_db(databases=["default", "postgres", "mariadb"], transaction=True)

BROKER = "redis://127.0.0.1:6379/0"


def headroom(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["backfill", *argv], django_ready=True)
    out, err = capsys.readouterr()
    return code, out, err


def _ago(seconds: float) -> datetime.datetime:
    return timezone.now() - datetime.timedelta(seconds=seconds)


def _make(alias: str, name: str, **fields: Any) -> BackfillRun:
    fields.setdefault("executor", "celery")
    return BackfillRun.objects.using(alias).create(name=name, **fields)


def _flag(alias: str) -> str:
    """The test backfills write to "default": runs elsewhere need ``--database``."""
    return "" if alias == "default" else f" --database {alias}"


def test_the_watchdog_hands_over_only_celery_runs_whose_lease_is_lost(
    alias: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent: list[tuple[str, int]] = []
    monkeypatch.setattr(watchdog, "_send", lambda using, run_id: sent.append((using, run_id)))
    # Owners on another machine: only the heartbeat tells whether they live.
    lost = _make(
        alias,
        "backfilltests.CountEveryRow",
        state="running",
        owner="elsewhere:11",
        heartbeat_at=_ago(120),
        generation=4,
    )
    live = _make(
        alias,
        "backfilltests.FillValues",
        state="running",
        owner="elsewhere:12",
        heartbeat_at=_ago(1),
        generation=1,
    )
    # Just detached: its coordinator task has not started yet.
    _make(alias, "backfilltests.FillCoded", state="enqueued")
    # Detached long ago, and its coordinator task never came.
    forgotten = _make(alias, "backfilltests.FillEntries", state="enqueued")
    BackfillRun.objects.using(alias).filter(pk=forgotten.pk).update(updated_at=_ago(120))
    paused = _make(
        alias,
        "backfilltests.RecordBatchSettings",
        state="paused",
        owner="elsewhere:13",
        heartbeat_at=_ago(120),
    )
    inline = _make(
        alias,
        "backfilltests.FillFrom",
        params={"first": 1, "offset": 100},
        executor="inline",
        state="running",
        owner="elsewhere:14",
        heartbeat_at=_ago(120),
    )
    cancelling = _make(
        alias,
        "backfilltests.ImportPrices",
        params={"path": "prices.csv"},
        state="cancelling",
        owner="elsewhere:15",
        heartbeat_at=_ago(120),
    )
    _make(alias, "backfilltests.CountEveryRow", state="succeeded", heartbeat_at=_ago(600))

    result = watchdog.sweep([alias])

    assert sent == [(alias, lost.pk), (alias, forgotten.pk)]
    assert result.live == 2 and result.ok
    by_run = {f.run_id: f for f in result.findings}
    assert [by_run[r.pk].action for r in (lost, forgotten, paused, inline, cancelling)] == [
        "handed over",
        "handed over",
        "left",
        "left",
        "cancelled",
    ]
    assert re.fullmatch(
        r"no heartbeat from its runner elsewhere:11 for 12\d s \(lease 60 s\); handed to a "
        r"new coordinator task \(generation 4 -> 5, so the lost coordinator can no longer "
        r"write\)",
        by_run[lost.pk].detail,
    ), by_run[lost.pk].detail
    assert re.match(r"no runner has taken it for 12\d s", by_run[forgotten.pk].detail)
    assert by_run[paused.pk].detail.endswith(
        f"go on with: headroom backfill resume backfilltests.RecordBatchSettings{_flag(alias)}, "
        f"then headroom backfill watchdog{_flag(alias)}"
    )
    assert by_run[inline.pk].detail.endswith(
        "go on with: headroom backfill run backfilltests.FillFrom --param first=1 "
        f"--param offset=100{_flag(alias)}"
    )
    lost.refresh_from_db(using=alias)
    assert (lost.generation, lost.state, lost.owner) == (5, "enqueued", "")
    assert lost.heartbeat_at is not None and lost.heartbeat_at > _ago(5)
    live.refresh_from_db(using=alias)
    assert (live.generation, live.state, live.owner) == (1, "running", "elsewhere:12")
    paused.refresh_from_db(using=alias)
    inline.refresh_from_db(using=alias)
    assert (paused.state, paused.generation, inline.state) == ("paused", 0, "running")
    cancelling.refresh_from_db(using=alias)
    assert (cancelling.state, cancelling.owner) == ("cancelled", "")

    # The runs just handed over wait a lease for their task before counting as lost again:
    # the next pass (here the Celery task, run in this process) sends nothing.
    report = watchdog_task.apply(kwargs={"databases": [alias]}).get()
    assert len(sent) == 2
    assert [f["action"] for f in report["findings"]] == ["left", "left"]
    assert report["live"] == 4

    # The new coordinator claims the run at once, though its lease is fresh.
    claim = control.claim(lost.name, {}, alias, "celery", run_id=lost.pk)
    assert (claim.run.generation, claim.run.state, claim.run.owner) == (
        6,
        "running",
        control.owner_id(),
    )


def test_status_says_when_a_lease_is_lost_and_what_recovers_it(
    alias: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _make(
        alias,
        "backfilltests.CountEveryRow",
        state="running",
        owner="elsewhere:21",
        heartbeat_at=_ago(300),
    )
    _make(
        alias,
        "backfilltests.FillValues",
        executor="inline",
        state="running",
        owner="elsewhere:22",
        heartbeat_at=_ago(300),
    )
    _make(
        alias,
        "backfilltests.FillCoded",
        state="running",
        owner="elsewhere:23",
        heartbeat_at=_ago(1),
    )
    code, out, _ = headroom(capsys, "status", "--database", alias)
    assert code == 0
    lines = out.splitlines()
    celery = lines.index(next(line for line in lines if "CountEveryRow" in line))
    assert re.fullmatch(
        r"    lease lost: no heartbeat from its runner elsewhere:21 for 30\d s \(lease 60 s\)\. "
        r"Nobody works on this run; recover it with: headroom backfill watchdog"
        + re.escape(_flag(alias)),
        lines[celery + 1],
    ), lines[celery + 1]
    assert f"recover it with: headroom backfill run backfilltests.FillValues{_flag(alias)}" in out
    assert out.count("lease lost") == 2  # not the live one
    code, out, _ = headroom(capsys, "status", "--json", "--database", alias)
    status = {row["name"]: row for row in json.loads(out)}
    assert status["backfilltests.CountEveryRow"]["lease_lost"] is True
    assert status["backfilltests.CountEveryRow"]["recover_with"] == (
        f"headroom backfill watchdog{_flag(alias)}"
    )
    assert status["backfilltests.FillCoded"]["lease_lost"] is False
    assert status["backfilltests.FillCoded"]["recover_with"] is None


LEASE = 3


def _cli(argv: list[str], env: dict[str, str]) -> tuple[int, str]:
    command = CommandRun(argv, env)
    try:
        return command.wait(60), command.output
    finally:
        command.stop()


def test_a_detached_run_whose_whole_worker_died_is_taken_over_by_the_watchdog(
    postgres: str, tmp_path: Path
) -> None:
    services.require("redis")
    queue = f"headroom-watchdog-{uuid.uuid4().hex[:8]}"
    env = celery_environment(
        BROKER,
        queue,
        {"BACKFILL_LEASE_SECONDS": LEASE},
        HEADROOM_TEST_BATCH_DELAY="0.02",
        HEADROOM_TEST_HOLD_DIR=str(tmp_path),
    )
    name = "backfilltests.CountEveryRow"

    def current() -> BackfillRun:
        return BackfillRun.objects.using(postgres).get()

    fill_counters(postgres, 20_000)
    workers: list[Worker] = []
    try:
        # Two pool processes: the coordinator holds one, the batches take the other.
        workers.append(Worker(BROKER, queue, env, concurrency=2))
        code, out = _cli(["run", name, "--database", postgres, "--detach"], env)
        assert code == 0, out
        wait_for(lambda: current().rows_done >= 2000, what="batches done by the coordinator")
        # Hold the next batch inside its transaction: the run is mid-way when the worker dies.
        (tmp_path / "hold").write_text("")
        wait_for(lambda: (tmp_path / "inside").exists(), what="a batch in flight")

        # A live coordinator is left alone.
        code, out = _cli(["watchdog", "--database", postgres], env)
        assert code == 0, out
        assert "0 run(s) handed to a new coordinator; 1 other unfinished run(s)" in out
        assert current().generation == 1

        # The worker's main process and its pool die at once: nobody requeues the coordinator
        # task, and Redis would redeliver it only after its visibility timeout (an hour).
        workers[0].kill()
        (tmp_path / "hold").unlink()
        workers.append(Worker(BROKER, queue, env, concurrency=2))
        wait_for(
            lambda: (current().heartbeat_at or timezone.now()) < _ago(LEASE),
            timeout=LEASE + 10,
            what="the lease to run out",
        )
        stalled = current()
        assert (stalled.state, stalled.generation) == ("running", 1)
        assert 2000 <= stalled.rows_done < 20_000

        code, out = _cli(["status", name, "--database", postgres], env)
        assert code == 0, out
        assert f"lease lost: no heartbeat from its runner {stalled.owner} for " in out
        assert "recover it with: headroom backfill watchdog --database postgres" in out

        code, out = _cli(["watchdog", "--database", postgres], env)
        assert code == 0, out
        assert f"run #{stalled.pk} of {name} (database 'postgres'): no heartbeat from its " in out
        assert "handed to a new coordinator task (generation 1 -> 2, so the lost" in out
        assert "1 run(s) handed to a new coordinator; 0 other unfinished run(s)" in out
        assert current().generation >= 2
        wait_for(lambda: not current().is_active, timeout=40, what="the run to end")
    finally:
        for worker in workers:
            worker.stop()
    run = current()
    assert (run.state, run.rows_done, run.owner) == ("succeeded", 20_000, ""), run.as_dict()
    # Handed over (2), then claimed by the new coordinator task (3).
    assert run.generation == 3
    assert hits(postgres) == {1: 20_000}
    log = "".join(workers[1].lines)
    assert "headroom.backfill.coordinate" in log and "headroom.backfill.run_batch" in log
