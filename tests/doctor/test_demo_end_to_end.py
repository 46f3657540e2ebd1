"""The doctor on the demo shop, end to end: gunicorn, Locust, the probe, the report.

Planted mode must report every planted problem at its URL pattern and marked line; fixed
mode (HEADROOM_DEMO_FIXED=1) must report none of them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from headroom.demo import PLANTED, locate
from tests import services

pytestmark = pytest.mark.slow

#: How the doctor reports each planted kind.
REPORTED_AS = {
    "slow_query": {"missing_index", "slow_query"},
    "drop_column": {"HR101"},
}


def run_demo(tmp: Path, *extra: str) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    report_dir = tmp / "report"
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env.pop("HEADROOM_DEMO_FIXED", None)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "headroom",
            "demo",
            "--small",
            "--step-seconds",
            "3",
            "--max-users",
            "8",
            "--workdir",
            str(tmp / "work"),
            "--report-dir",
            str(report_dir),
            *extra,
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    report = json.loads((report_dir / "report.json").read_text())
    return result, report


def matches(finding: dict[str, Any], planted: dict[str, Any]) -> bool:
    kinds = REPORTED_AS.get(planted["kind"], {planted["kind"]})
    if finding["kind"] not in kinds:
        return False
    pattern = planted["url_pattern"]
    return pattern is None or finding["url_pattern"] == "/" + pattern


def where(finding: dict[str, Any]) -> set[tuple[str, int]]:
    loc = finding.get("location") or {}
    places = set()
    if loc.get("file"):
        places.add((loc["file"], loc["line"]))
    if loc.get("template"):
        places.add((loc["template"], loc["template_line"]))
    return places


def at_planted_line(places: set[tuple[str, int]], key: str) -> bool:
    """Whether one of the reported (file, line) places is the planted marker's line; a
    reported file is shown relative to a directory, so it is matched as a path suffix."""
    path, line = locate(key)
    return any(
        number == line and (str(path) == shown or str(path).endswith("/" + shown))
        for shown, number in places
    )


@pytest.fixture(scope="module")
def planted_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, dict[str, Any]]:
    return run_demo(tmp_path_factory.mktemp("planted"))


@pytest.fixture(scope="module")
def fixed_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, dict[str, Any]]:
    return run_demo(tmp_path_factory.mktemp("fixed"), "--fixed")


@pytest.mark.parametrize("planted", PLANTED, ids=[p["key"] for p in PLANTED])
def test_every_planted_problem_is_found_at_its_line(
    planted_run: tuple[Any, dict[str, Any]], planted: dict[str, Any]
) -> None:
    _, report = planted_run
    candidates = [f for f in report["findings"] if matches(f, planted)]
    assert candidates, f"{planted['key']}: no {planted['kind']} finding at {planted['url_pattern']}"
    places = set().union(*(where(f) for f in candidates))
    assert at_planted_line(places, planted["key"]), (
        f"{planted['key']}: reported at {sorted(places)}, planted at {locate(planted['key'])}"
    )
    assert all(f["fix"] for f in candidates)


def test_the_fixed_shop_reports_none_of_them(fixed_run: tuple[Any, dict[str, Any]]) -> None:
    _, report = fixed_run
    for planted in PLANTED:
        found = [f["title"] for f in report["findings"] if matches(f, planted)]
        assert not found, f"{planted['key']} reported on the fixed shop: {found}"


def test_the_headline_names_a_throughput_and_what_broke(
    planted_run: tuple[Any, dict[str, Any]],
) -> None:
    result, report = planted_run
    head = report["headroom"]
    assert head["slo_p95_ms"] == 500
    assert head["stopped_because"] in {"slo", "errors", "throughput", "max_users"}
    assert [s["users"] for s in report["steps"]][:2] == [1, 2]
    assert report["meta"]["joined_fraction"] > 0.95
    # Staff pages (a session made for demo-staff) and checkout POSTs (CSRF) all succeeded.
    assert sum(s["failures"] for s in report["steps"]) == 0
    loaded = {name for s in report["steps"] for name in s["targets"]}
    assert {"GET /staff/orders/", "POST /checkout/", "GET /admin/shop/order/"} <= loaded
    if head["first_to_break"]:
        assert head["first_to_break"]["reason"]
    assert "requests/s" in result.stdout


def test_the_html_report_is_one_self_contained_file(
    planted_run: tuple[Any, dict[str, Any]], tmp_path: Path
) -> None:
    result, report = planted_run
    html_path = Path(result.args[result.args.index("--report-dir") + 1]) / "index.html"
    html = html_path.read_text()
    assert "<svg" in html
    # Nothing is fetched: no scripts, stylesheets, images or fonts from anywhere.
    lowered = html.lower()
    for fetches in ("<script", "<link", "<img", "<iframe", "@import", "url("):
        assert fetches not in lowered, fetches
    assert 'src="' not in lowered
    for finding in report["findings"][:5]:
        assert finding["kind"] in html


def test_the_html_report_renders_in_a_real_browser_without_fetching_anything(
    planted_run: tuple[Any, dict[str, Any]],
) -> None:
    result, report = planted_run
    html_path = Path(result.args[result.args.index("--report-dir") + 1]) / "index.html"
    fetched: list[str] = []
    errors: list[str] = []
    with services.chromium_page() as page:
        page.on("request", lambda request: fetched.append(request.url))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto(html_path.as_uri())
        headline = page.locator("#headline").inner_text()
        findings = page.locator("article.finding").count()
        charts = page.locator("#charts svg").count()
        titles = page.locator("article.finding h3").all_inner_texts()

    assert fetched == [html_path.as_uri()]
    assert errors == []
    assert f"{report['headroom']['rps_at_slo']:.1f}" in headline
    assert findings == len(report["findings"])
    targets = {name for step in report["steps"] for name in step["targets"]}
    assert charts == len(targets) + 1  # one per target, and throughput
    assert any("N+1 on /products/" in title for title in titles)


def test_compare_gates_the_planted_shop_against_the_fixed_one(
    planted_run: tuple[Any, dict[str, Any]],
    fixed_run: tuple[Any, dict[str, Any]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    from headroom.cli import main

    def report_path(run: tuple[Any, dict[str, Any]]) -> str:
        args = run[0].args
        return str(Path(args[args.index("--report-dir") + 1]) / "report.json")

    planted, fixed = report_path(planted_run), report_path(fixed_run)
    # Going from the fixed shop to the planted one brings back every error-level finding.
    assert main(["compare", fixed, planted, "--max-rps-drop", "100"]) == 1
    out = capsys.readouterr().out
    assert "REGRESSION" in out and "new error-level finding" in out
    assert "n_plus_one" in out
    # The other way round, the planted problems are gone and nothing new is an error.
    assert main(["compare", planted, fixed, "--max-rps-drop", "100"]) == 0
    out = capsys.readouterr().out
    assert "no regression" in out
    assert "gone:" in out


def test_compare_refuses_a_file_that_is_not_a_report(tmp_path: Path) -> None:
    from headroom.cli import main

    bogus = tmp_path / "x.json"
    bogus.write_text('{"hello": 1}')
    assert main(["compare", str(bogus), str(bogus)]) == 2


def test_load_from_several_locust_processes_is_joined_the_same(tmp_path: Path) -> None:
    # Worker processes ship their samples to the master, which files them by step.
    _, report = run_demo(tmp_path, "--load-processes", "2", "--max-users", "2")
    assert report["meta"]["load_generator"]["processes"] == 2
    assert [s["users"] for s in report["steps"]] == [1, 2]
    assert all(s["requests"] > 0 for s in report["steps"])
    assert report["meta"]["joined_fraction"] > 0.95
    assert any(f["kind"] == "n_plus_one" for f in report["findings"])


def test_both_reports_validate_against_the_published_schema(
    planted_run: tuple[Any, dict[str, Any]], fixed_run: tuple[Any, dict[str, Any]]
) -> None:
    from importlib.resources import files

    import jsonschema

    schema = json.loads((files("headroom.report") / "report.schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    for _, report in (planted_run, fixed_run):
        jsonschema.Draft202012Validator(schema).validate(report)
