"""Choosing indexes for a workload from planner costs (no database)."""

from __future__ import annotations

import pytest

from headroom.indexes.select import choose

#: Two statements on one table: a count and a list of one owner's rows, ordered by id.
BASE = {"count": 5358.0, "list": 5359.0}
WEIGHTS = {"count": 3.0, "list": 3.0}
ORDER = {"(owner)": (1,), "(owner, id)": (2,)}


@pytest.mark.parametrize(
    ("narrow", "wide", "chosen"),
    [
        # The wider index spares the list a sort of a few rows: cheaper by 0.2 of 42.8.
        ({"count": 42.6, "list": 42.8}, {"count": 42.6, "list": 42.6}, ["(owner)"]),
        # Costs exactly equal.
        ({"count": 42.6, "list": 42.8}, {"count": 42.6, "list": 42.8}, ["(owner)"]),
        # Ordered by id, the wider index stops after 10 rows where the narrower one sorts many:
        # it halves the list's cost again, so it is taken, alone.
        ({"count": 42.6, "list": 900.0}, {"count": 42.6, "list": 40.0}, ["(owner, id)"]),
        # The narrower index helps only the count; the wider one serves both statements.
        ({"count": 42.6, "list": 5359.0}, {"count": 42.6, "list": 42.8}, ["(owner, id)"]),
    ],
    ids=["a-hair-cheaper", "equal", "halves-again", "narrower-serves-less"],
)
def test_a_wider_index_wins_only_where_it_saves_enough_more(
    narrow: dict[str, float], wide: dict[str, float], chosen: list[str]
) -> None:
    single = {"(owner)": narrow, "(owner, id)": wide}
    assert choose(BASE, single, WEIGHTS, {}, min_saving=0.5, order=ORDER) == chosen


def test_without_an_order_the_larger_gain_wins() -> None:
    single = {
        "(owner)": {"count": 42.6, "list": 42.8},
        "(owner, id)": {"count": 42.6, "list": 42.6},
    }
    assert choose(BASE, single, WEIGHTS, {}, min_saving=0.5) == ["(owner, id)"]
