"""``headroom lint-migrations``: what a user runs and what they see."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from headroom.cli import main

pytestmark = pytest.mark.usefixtures("lintcases")

SCHEMA = Path(__file__).parent / "schemas" / "sarif-schema-2.1.0.json"
REPORT_SCHEMA = (
    Path(__file__).resolve().parents[2] / "src/headroom/migrationlint/report.schema.json"
)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["lint-migrations", *argv], django_ready=True)
    out, err = capsys.readouterr()
    return code, out, err


def test_clean_migration_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _err = run(capsys, "lintcases.0001")
    assert code == 0
    assert "1 migration(s) linted (postgresql rules): 0 error(s), 0 warning(s)" in out


def test_errors_exit_1_and_show_the_fix(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _err = run(capsys, "lintcases.0002")
    assert code == 1
    assert (
        "tests/migrationlint/lintcases/migrations/0002_hr101_bad.py:10: HR101 error [contract]"
        in out
    )
    assert "Safe alternative:" in out
    assert "migrations.SeparateDatabaseAndState(" in out
    assert "Why: docs/migrationlint/HR101.md" in out


def test_warnings_alone_exit_0_unless_promoted(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "lintcases.0042")[0] == 0
    assert run(capsys, "lintcases.0042", "--warnings-as-errors")[0] == 1
    assert run(capsys, "lintcases.0042", "--warnings-as-errors", "HR401")[0] == 1
    assert run(capsys, "lintcases.0042", "--warnings-as-errors", "HR101")[0] == 0


def test_notes_are_shown_with_verbose(capsys: pytest.CaptureFixture[str]) -> None:
    _code, out, _err = run(capsys, "lintcases.0036")
    assert "HR209" not in out
    assert "1 note(s) (notes shown with --verbose)" in out
    _code, out, _err = run(capsys, "lintcases.0036", "--verbose")
    assert "HR209 info" in out


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["nosuchapp"], "no app labelled 'nosuchapp' has migrations"),
        (["lintcases.9999"], "app 'lintcases' has no migration '9999'"),
        (["lintcases.00"], "matches more than one migration"),
        (["--database", "nope"], "no database alias 'nope'"),
        (["--disable", "HR1"], "unknown rule id(s): HR1"),
    ],
)
def test_bad_usage_exits_2(
    capsys: pytest.CaptureFixture[str], argv: list[str], expected: str
) -> None:
    code, _out, err = run(capsys, *argv)
    assert code == 2
    assert expected in err


def test_json_output(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _err = run(capsys, "lintcases.0047", "--format", "json")
    assert code == 1
    data = json.loads(out)
    assert data["version"] == 1
    assert data["summary"]["errors"] == 2
    [drop] = [f for f in data["findings"] if f["rule"] == "HR101"]
    for key in (
        "rule",
        "severity",
        "app_label",
        "migration_name",
        "operation_index",
        "file",
        "line",
        "message",
        "fix",
        "phase",
        "docs",
    ):
        assert key in drop
    assert drop["operation_index"] == 1
    assert data["migrations"] == [
        {
            "app_label": "lintcases",
            "name": "0047_hr501_bad",
            "file": "tests/migrationlint/lintcases/migrations/0047_hr501_bad.py",
            "phase": "contract",
            "atomic": True,
            "operations": 2,
        }
    ]
    assert run(capsys, "lintcases.0047", "--json")[1] == out


def test_json_output_validates_against_its_schema(capsys: pytest.CaptureFixture[str]) -> None:
    schema = json.loads(REPORT_SCHEMA.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    for target in ("lintcases", "lintcases.0050_suppressed", "lintcases.0001"):
        _code, out, _err = run(capsys, target, "--format", "json")
        jsonschema.validate(json.loads(out), schema)


def test_sarif_output_validates_against_the_2_1_0_schema(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _err = run(capsys, "lintcases", "--format", "sarif")
    assert code == 1
    document = json.loads(out)
    jsonschema.validate(document, json.loads(SCHEMA.read_text()))
    run_ = document["runs"][0]
    rules = run_["tool"]["driver"]["rules"]
    results = run_["results"]
    assert {r["ruleId"] for r in results} >= {"HR101", "HR201", "HR501"}
    for result in results:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
        location = result["locations"][0]["physicalLocation"]
        assert location["artifactLocation"]["uri"].startswith("tests/migrationlint/lintcases/")
        assert location["region"]["startLine"] >= 1


def test_sarif_of_a_clean_run_validates(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _err = run(capsys, "lintcases.0001", "--format", "sarif")
    assert code == 0
    document = json.loads(out)
    jsonschema.validate(document, json.loads(SCHEMA.read_text()))
    assert document["runs"][0]["results"] == []


def test_github_annotations(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _err = run(capsys, "lintcases.0002", "--format", "github")
    assert code == 1
    lines = out.splitlines()
    assert lines[0].startswith(
        "::error file=tests/migrationlint/lintcases/migrations/0002_hr101_bad.py,line=10,"
        "title=HR101 drop-column::"
    )
    assert all("\n" not in line for line in lines)
    assert "%0A" in lines[0]
