"""Choosing indexes for the whole workload, from the planner's costs.

Input: each statement's cost as it is (``base``), its cost with each candidate alone
(``single``), how often it runs (``weights``), and the write cost each candidate would add
(``penalty``: rows written to its table, times a per-row maintenance cost).

:func:`choose` is greedy: it repeatedly takes the candidate with the largest total gain over
the workload (executions x cost saved, on statements whose cost it cuts by at least
``min_saving`` of what they cost with the indexes already chosen), less its write cost, and
stops when no candidate gains anything. One index that serves several statements therefore
wins over one per statement, and a narrower index already chosen makes a wider one
worthless (and the other way round).

Where the best candidate would save nothing more once a narrower one (earlier in ``order``)
is chosen, the narrower one is taken instead: by the advisor's own bar the two serve the
workload equally well, and the narrower one is cheaper to keep. Without this, which of two
such indexes is advised would turn on planner costs a hair apart (a sort of a few rows that
the wider index saves), and so on the sample ``ANALYZE`` happened to take.

:func:`best_single_per_query` is the exhaustive baseline of ``benchmarks/index_advisor.py``:
for each statement alone, the candidate that makes it cheapest.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import TypeVar

C = TypeVar("C", bound=Hashable)
Q = TypeVar("Q", bound=Hashable)


def _gain(
    candidate: C,
    current: Mapping[Q, float],
    single: Mapping[C, Mapping[Q, float]],
    weights: Mapping[Q, float],
    min_saving: float,
) -> float:
    total = 0.0
    for query, cost in single[candidate].items():
        now = current[query]
        if cost <= now * (1.0 - min_saving):
            total += weights.get(query, 1.0) * (now - cost)
    return total


def _with(
    candidate: C,
    current: Mapping[Q, float],
    single: Mapping[C, Mapping[Q, float]],
    min_saving: float,
) -> dict[Q, float]:
    """Each statement's cost once ``candidate`` is chosen too."""
    after = dict(current)
    for query, cost in single[candidate].items():
        if cost <= after[query] * (1.0 - min_saving):
            after[query] = cost
    return after


def choose(
    base: Mapping[Q, float],
    single: Mapping[C, Mapping[Q, float]],
    weights: Mapping[Q, float],
    penalty: Mapping[C, float],
    *,
    min_saving: float,
    order: Mapping[C, tuple[object, ...]] | None = None,
) -> list[C]:
    """The candidates worth building, best first (see the module docstring)."""
    current = dict(base)
    chosen: list[C] = []
    left = list(single)
    while left:
        scored = []
        for candidate in left:
            gain = _gain(candidate, current, single, weights, min_saving)
            gain -= penalty.get(candidate, 0.0)
            tie = order[candidate] if order is not None else ()
            scored.append((-gain, tie, candidate))
        scored.sort(key=lambda item: (item[0], item[1]))
        best_gain, best_tie, best = scored[0]
        if -best_gain <= 0:
            break
        for gain, tie, other in scored[1:]:
            if -gain <= 0:
                break
            if tie < best_tie and not _gain(
                best, _with(other, current, single, min_saving), single, weights, min_saving
            ):
                best = other
                break
        chosen.append(best)
        left.remove(best)
        current = _with(best, current, single, min_saving)
    return chosen


def best_single_per_query(
    base: Mapping[Q, float],
    single: Mapping[C, Mapping[Q, float]],
    *,
    order: Mapping[C, tuple[object, ...]] | None = None,
) -> dict[Q, C]:
    """For each statement, the candidate with the lowest cost for it alone (when it beats the
    statement's cost without any new index)."""
    best: dict[Q, tuple[float, tuple[object, ...], C]] = {}
    for candidate, costs in single.items():
        tie = order[candidate] if order is not None else ()
        for query, cost in costs.items():
            if cost >= base[query]:
                continue
            mine = (cost, tie, candidate)
            if query not in best or (mine[0], mine[1]) < (best[query][0], best[query][1]):
                best[query] = mine
    return {query: item[2] for query, item in best.items()}
