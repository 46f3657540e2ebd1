"""Pieces with no database: batch sizing, parameters, registration, checks."""

from __future__ import annotations

import datetime
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from celery import Celery
from django.core import checks
from django.db import connections
from django.test import override_settings

from headroom.backfill.coordinator import reconnects_per_task
from headroom.backfill.params import Param
from headroom.backfill.registry import UnknownBackfill, get_backfill
from headroom.backfill.sizing import BatchSizer


def test_the_size_aims_at_the_target_and_grows_fast_only_while_far_below_it() -> None:
    sizer = BatchSizer(target=0.5, size=1000, low=10, high=100_000)
    # 100,000 keys/s: the target allows 50,000; half the target 25,000, more than eightfold.
    sizer.observe(1000, 0.01)
    assert sizer.size == 8000
    # 8,000 keys in 0.2 s (40,000 keys/s): half the target is 10,000, so only twofold.
    sizer.observe(8000, 0.2)
    assert sizer.size == 16_000
    for _ in range(30):
        sizer.observe(sizer.size, sizer.size / 100_000)
    assert sizer.size == pytest.approx(50_000, rel=0.001)
    sizer.observe(50_000, 2.0)  # suddenly 25,000 keys/s: shrink at once
    assert sizer.size < 50_000
    assert sizer.shrink(3000) == 1500
    assert BatchSizer(target=0.5, size=5, low=10, high=20).size == 10


def test_growth_counts_from_the_batches_measured_not_the_ones_planned() -> None:
    # With Celery, batches are sized before the ones ahead of them report: a late report
    # of a small batch neither grows the size past twice what was measured nor shrinks it.
    sizer = BatchSizer(target=0.5, size=1000, low=10, high=1_000_000)
    sizer.observe(1000, 0.005)  # 200,000 keys/s: 8,000 next
    assert sizer.size == 8000
    sizer.observe(1000, 0.005)  # the second 1,000-key batch, sent before the first reported
    assert sizer.size == 8000
    sizer.observe(8000, 0.04)
    assert sizer.size == 50_000  # half the target at 200,000 keys/s, under 8 x 8,000
    sizer.observe(1000, 0.2)  # a late, slow batch: the rate drops, the size with it
    assert sizer.size < 50_000


def test_a_fast_ramp_stays_within_twice_the_target_at_a_quarter_of_the_speed() -> None:
    # A batch grown more than twofold, run at a quarter of the speed of the batch it was
    # sized on, still takes at most twice the target.
    for seconds in (0.001, 0.01, 0.03, 0.05):
        sizer = BatchSizer(target=0.5, size=1000, low=1, high=10_000_000)
        sizer.observe(1000, seconds)
        assert sizer.size > 2000
        assert sizer.size / (1000 / seconds / 4) <= 2 * 0.5 + 1e-9


def test_parameters_parse_by_type() -> None:
    day = Param(datetime.date)
    day.name = "since"
    assert day.parse("2024-02-29") == datetime.date(2024, 2, 29)
    flag = Param(bool)
    assert flag.parse("yes") is True and flag.parse("off") is False
    with pytest.raises(ValueError, match="parameter 'since'"):
        day.parse("yesterday")


def test_unknown_backfills_name_the_known_ones() -> None:
    with pytest.raises(UnknownBackfill, match=r"backfilltests\.CountEveryRow"):
        get_backfill("backfilltests.Nope")
    assert get_backfill("BACKFILLTESTS.countEveryRow").name == "backfilltests.CountEveryRow"


def _ids() -> set[str]:
    return {m.id for m in checks.run_checks(tags=["headroom"]) if m.id}


def test_lock_timeout_longer_than_the_target_is_a_warning() -> None:
    with override_settings(HEADROOM={"BACKFILL_LOCK_TIMEOUT": 2.0}):
        [warning] = [m for m in checks.run_checks(tags=["headroom"]) if m.id == "headroom.W201"]
    assert "wait 2 s for a lock, longer than the 0.5 s target" in warning.msg
    assert "HEADROOM['BACKFILL_LOCK_TIMEOUT'] = 0.5" in (warning.hint or "")
    with override_settings(HEADROOM={"BACKFILL_LOCK_TIMEOUT": 0.5}):
        assert "headroom.W201" not in _ids()


def test_celery_executor_needs_celery() -> None:
    # Celery is installed here, so the check is silent; E201 fires only without it.
    with override_settings(HEADROOM={"BACKFILL_EXECUTOR": "celery"}):
        assert "headroom.E201" not in _ids()


#: A Celery app whose workers keep their database connections from task to task.
REUSING = Celery("headroom_backfill_reusing", set_as_current=False)
REUSING.conf["CELERY_DB_REUSE_MAX"] = 100


#: The Celery executor with the tests' app (worker_prefetch_multiplier = 1, and
#: CELERY_DB_REUSE_MAX unset here), and with REUSING (Celery's default multiplier, 4).
CELERY = {"BACKFILL_EXECUTOR": "celery", "BACKFILL_CELERY_APP": "tests.backfill.celery_app.app"}
CELERY_REUSING = {**CELERY, "BACKFILL_CELERY_APP": "tests.backfill.test_units.REUSING"}


def _the(check_id: str) -> checks.CheckMessage:
    [found] = [m for m in checks.run_checks(tags=["headroom"]) if m.id == check_id]
    return found


def test_celery_workers_that_reconnect_for_every_task_are_a_warning() -> None:
    with override_settings(HEADROOM=CELERY):
        warning = _the("headroom.W202")
    assert "app.conf['CELERY_DB_REUSE_MAX'] = 100" in (warning.hint or "")
    with override_settings(HEADROOM=CELERY_REUSING):
        assert "headroom.W202" not in _ids()
    with override_settings(HEADROOM={**CELERY, "BACKFILL_EXECUTOR": "inline"}):
        assert "headroom.W202" not in _ids()


def test_celery_workers_that_reserve_more_than_one_task_are_a_warning() -> None:
    with override_settings(HEADROOM=CELERY):
        assert "headroom.W203" not in _ids()
    with override_settings(HEADROOM=CELERY_REUSING):
        warning = _the("headroom.W203")
    assert "worker_prefetch_multiplier is 4" in warning.msg
    assert "app.conf.worker_prefetch_multiplier = 1" in (warning.hint or "")
    with override_settings(HEADROOM={**CELERY_REUSING, "BACKFILL_EXECUTOR": "inline"}):
        assert "headroom.W203" not in _ids()


def test_only_the_django_fixup_closes_connections_after_each_task() -> None:
    assert reconnects_per_task(Celery("with_django", set_as_current=False))
    assert not reconnects_per_task(REUSING)
    assert not reconnects_per_task(Celery("no_fixups", set_as_current=False, fixups=[]))


def test_releases_that_honour_conn_max_age_reconnect_only_without_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from celery.fixups import django as fixup

    def _close_database(self: Any) -> None:  # as the fixup of 2020 to 2025 releases did
        for conn in self._db.connections.all():
            conn.close_if_unusable_or_obsolete()

    monkeypatch.setattr(fixup.DjangoWorkerFixup, "_close_database", _close_database)
    app = Celery("honouring", set_as_current=False)
    settings = connections["default"].settings_dict
    monkeypatch.setitem(settings, "CONN_MAX_AGE", 0)
    assert reconnects_per_task(app)
    monkeypatch.setitem(settings, "CONN_MAX_AGE", 600)
    assert not reconnects_per_task(app)
    monkeypatch.undo()
    assert reconnects_per_task(app)  # this release closes them whatever CONN_MAX_AGE says


def test_min_batch_size_above_max_is_refused() -> None:
    with override_settings(
        HEADROOM={"BACKFILL_MIN_BATCH_SIZE": 500, "BACKFILL_MAX_BATCH_SIZE": 100}
    ):
        errors = [m for m in checks.run_checks(tags=["headroom"]) if m.id == "headroom.E002"]
    assert errors and "more than BACKFILL_MAX_BATCH_SIZE (100)" in errors[0].msg


def test_the_coordinator_looks_again_when_the_oldest_batch_should_be_done() -> None:
    from headroom.backfill.coordinator import MIN_POLL_SECONDS, POLL_SECONDS, poll_seconds

    # Nothing measured yet: the first batches are small, look again soon.
    assert poll_seconds(1000, None, 0.0) == MIN_POLL_SECONDS
    # Nothing in flight (throttled, or held by the rate cap): the longest pause.
    assert poll_seconds(None, 100_000.0, 0.0) == POLL_SECONDS
    # 10,000 keys at 100,000 a second: a quarter of its 0.1 s, or until it is expected done.
    assert poll_seconds(10_000, 100_000.0, 0.0) == pytest.approx(0.025)
    assert poll_seconds(10_000, 100_000.0, 0.09) == pytest.approx(0.01)
    # Far from done: no longer than POLL_SECONDS; overdue: every MIN_POLL_SECONDS.
    assert poll_seconds(100_000, 200_000.0, 0.0) == POLL_SECONDS
    assert poll_seconds(10_000, 100_000.0, 0.5) == MIN_POLL_SECONDS


def test_a_worker_imports_the_backfills_as_it_starts() -> None:
    # In a process of its own: this one has imported everything already. The signal is the
    # one Celery sends as a worker starts, before it forks its pool's processes.
    root = Path(__file__).resolve().parents[2]
    code = (
        "import sys, django\n"
        "django.setup()\n"
        "from celery.signals import worker_init\n"
        "import headroom.backfill.tasks\n"
        "from headroom.backfill.registry import _registry\n"
        "def seen():\n"
        "    name = 'backfilltests.CountEveryRow'\n"
        "    return 'headroom.backfill.worker' in sys.modules, name in _registry\n"
        "print(seen())\n"
        "worker_init.send(sender=None)\n"
        "print(seen())\n"
    )
    env = {
        **os.environ,
        "PYTHONPATH": f"{root}{os.pathsep}{root / 'src'}",
        "DJANGO_SETTINGS_MODULE": "tests.backfill.process_settings",
    }
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[:2] == ["(False, False)", "(True, True)"]
