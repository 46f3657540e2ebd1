from __future__ import annotations

from typing import Any

from headroom.doctor.load import concurrency_steps
from headroom.doctor.summary import headline


def step(users: int, rps: float, targets: dict[str, Any], broken: list[str]) -> dict[str, Any]:
    return {
        "users": users,
        "rps": rps,
        "error_rate": 0.0,
        "p95_ms": 0.0,
        "targets": targets,
        "broken_targets": broken,
    }


def t(p95: float, errors: float = 0.0) -> dict[str, Any]:
    return {"p95_ms": p95, "error_rate": errors, "requests": 100}


def test_steps_double_up_to_the_limit() -> None:
    assert concurrency_steps(1) == [1]
    assert concurrency_steps(16) == [1, 2, 4, 8, 16]
    assert concurrency_steps(12) == [1, 2, 4, 8, 12]


def test_headline_takes_the_best_step_within_the_slo_and_names_the_breaker() -> None:
    steps = [
        step(1, 10.0, {"GET /": t(50), "POST /checkout/": t(300)}, []),
        step(2, 19.0, {"GET /": t(60), "POST /checkout/": t(450)}, []),
        step(4, 30.0, {"GET /": t(90), "POST /checkout/": t(900)}, ["POST /checkout/"]),
    ]
    head = headline(
        steps=steps,
        stopped_because="slo",
        slo_p95_ms=500,
        max_error_rate=0.01,
        target_patterns={"GET /": "/", "POST /checkout/": "/checkout/"},
        routes={},
        findings=[],
    )
    assert head["rps_at_slo"] == 19.0
    assert head["users_at_slo"] == 2
    assert head["first_to_break"]["url_pattern"] == "/checkout/"
    assert head["first_to_break"]["users"] == 4


def test_nothing_breaks_when_the_largest_step_holds() -> None:
    steps = [step(1, 10.0, {"GET /": t(50)}, []), step(2, 20.0, {"GET /": t(55)}, [])]
    head = headline(
        steps=steps,
        stopped_because="max_users",
        slo_p95_ms=500,
        max_error_rate=0.01,
        target_patterns={"GET /": "/"},
        routes={},
        findings=[],
    )
    assert head["rps_at_slo"] == 20.0
    assert head["first_to_break"] is None


def test_saturation_names_the_slowest_pattern_without_calling_it_broken() -> None:
    steps = [
        step(1, 100.0, {"GET /": t(20), "GET /admin/": t(90)}, []),
        step(2, 150.0, {"GET /": t(25), "GET /admin/": t(120)}, []),
        step(4, 140.0, {"GET /": t(50), "GET /admin/": t(300)}, []),
    ]
    head = headline(
        steps=steps,
        stopped_because="throughput",
        slo_p95_ms=500,
        max_error_rate=0.01,
        target_patterns={"GET /": "/", "GET /admin/": "/admin/"},
        routes={},
        findings=[],
    )
    assert head["rps_at_slo"] == 150.0
    assert head["first_to_break"] is None
    assert head["saturated_at_users"] == 4
    assert head["slowest"]["url_pattern"] == "/admin/"
