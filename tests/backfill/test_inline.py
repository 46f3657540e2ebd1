"""The inline runner over real tables: every row exactly once, keyset and range batches."""

from __future__ import annotations

import pytest
from django.test import override_settings

from headroom.backfill import run_backfill
from tests.backfill.conftest import fill_counters, hits

pytestmark = pytest.mark.django_db(databases=["default", "postgres"], transaction=True)


def test_100000_rows_each_processed_exactly_once(alias: str) -> None:
    fill_counters(alias, 100_000)
    with override_settings(HEADROOM={"BACKFILL_MAX_TRANSACTION_SECONDS": None}):
        run = run_backfill("backfilltests.CountEveryRow", database=alias)
    assert run.state == "succeeded"
    assert hits(alias) == {1: 100_000}
    assert run.rows_done == 100_000
    assert run.batches_done > 5  # small batches, grown toward the target time
    assert run.percent == 100.0
