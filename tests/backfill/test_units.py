"""Pieces with no database: batch sizing, parameters, registration, checks."""

from __future__ import annotations

import datetime

import pytest
from django.core import checks
from django.test import override_settings

from headroom.backfill.params import Param
from headroom.backfill.registry import UnknownBackfill, get_backfill
from headroom.backfill.sizing import BatchSizer


def test_the_size_grows_at_most_twofold_and_aims_at_the_target() -> None:
    sizer = BatchSizer(target=0.5, size=1000, low=10, high=100_000)
    sizer.observe(1000, 0.01)  # 100,000 keys/s: the target allows 50,000
    assert sizer.size == 2000
    for _ in range(20):
        sizer.observe(sizer.size, sizer.size / 100_000)
    assert sizer.size == 50_000
    sizer.observe(50_000, 2.0)  # suddenly 25,000 keys/s: shrink at once
    assert sizer.size < 50_000
    assert sizer.shrink(3000) == 1500
    assert BatchSizer(target=0.5, size=5, low=10, high=20).size == 10


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


def test_min_batch_size_above_max_is_refused() -> None:
    with override_settings(
        HEADROOM={"BACKFILL_MIN_BATCH_SIZE": 500, "BACKFILL_MAX_BATCH_SIZE": 100}
    ):
        errors = [m for m in checks.run_checks(tags=["headroom"]) if m.id == "headroom.E002"]
    assert errors and "more than BACKFILL_MAX_BATCH_SIZE (100)" in errors[0].msg


def test_the_coordinator_polls_faster_while_batches_are_short() -> None:
    from headroom.backfill.coordinator import MIN_POLL_SECONDS, POLL_SECONDS, poll_seconds

    # Nothing measured yet: the first batches are small, look again soon.
    assert poll_seconds(1000, None) == MIN_POLL_SECONDS
    # A quarter of the next batch's expected time, within the bounds.
    assert poll_seconds(4000, 100_000.0) == pytest.approx(0.01)
    assert poll_seconds(100, 1_000_000.0) == MIN_POLL_SECONDS
    assert poll_seconds(100_000, 200_000.0) == POLL_SECONDS
