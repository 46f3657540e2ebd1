"""Choosing indexes for a workload from planner costs (no database)."""

from __future__ import annotations

from headroom.indexes.select import choose

#: Two statements on one table: a count and a list of one owner's rows, ordered by id.
BASE = {"count": 5358.0, "list": 5359.0}
ORDER = {"(owner)": (1,), "(owner, id)": (2,)}


def _choose(single: dict[str, dict[str, float]]) -> list[str]:
    return choose(BASE, single, {"count": 3, "list": 3}, {}, min_saving=0.5, order=ORDER)


def test_a_wider_index_that_saves_a_hair_more_loses_to_the_narrower_one() -> None:
    # The wider index spares the list a sort of a few rows: cheaper by 0.2 of 42.8.
    single = {
        "(owner)": {"count": 42.6, "list": 42.8},
        "(owner, id)": {"count": 42.6, "list": 42.6},
    }
    assert _choose(single) == ["(owner)"]


def test_costs_exactly_equal_go_to_the_narrower_index() -> None:
    single = {
        "(owner)": {"count": 42.6, "list": 42.8},
        "(owner, id)": {"count": 42.6, "list": 42.8},
    }
    assert _choose(single) == ["(owner)"]


def test_a_wider_index_that_halves_a_statement_again_is_taken_alone() -> None:
    # Ordered by id, the wider index stops after 10 rows where the narrower one sorts many.
    single = {
        "(owner)": {"count": 42.6, "list": 900.0},
        "(owner, id)": {"count": 42.6, "list": 40.0},
    }
    assert _choose(single) == ["(owner, id)"]


def test_a_narrower_index_that_serves_less_is_not_preferred() -> None:
    # The narrower index helps only the count; the wider one serves both statements.
    single = {
        "(owner)": {"count": 42.6, "list": 5359.0},
        "(owner, id)": {"count": 42.6, "list": 42.8},
    }
    assert _choose(single) == ["(owner, id)"]


def test_without_an_order_the_larger_gain_wins() -> None:
    single = {
        "(owner)": {"count": 42.6, "list": 42.8},
        "(owner, id)": {"count": 42.6, "list": 42.6},
    }
    chosen = choose(BASE, single, {"count": 3, "list": 3}, {}, min_saving=0.5)
    assert chosen == ["(owner, id)"]
