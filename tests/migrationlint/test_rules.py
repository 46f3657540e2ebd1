"""Every rule fires on its unsafe example and stays silent on the safe one.

The examples are the migrations of the ``lintcases`` test app (tests/migrationlint/lintcases),
one linear chain, so each is judged against the state the earlier ones left.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from headroom.migrationlint import RULES, lint

pytestmark = pytest.mark.usefixtures("lintcases")

#: rule id -> (migration where it must fire, migration where it must stay silent)
CASES: dict[str, tuple[str, str]] = {
    "HR101": ("0002_hr101_bad", "0003_hr101_safe"),
    "HR102": ("0006_hr102_bad", "0007_hr102_safe"),
    "HR103": ("0008_hr103_bad", "0009_hr103_safe"),
    "HR104": ("0010_hr104_bad", "0011_hr104_safe"),
    "HR105": ("0012_hr105_bad", "0013_hr105_safe"),
    "HR106": ("0014_hr106_bad", "0015_hr106_safe"),
    "HR107": ("0017_hr107_bad", "0018_hr107_safe"),
    "HR108": ("0054_hr108_bad", "0013_hr105_safe"),
    "HR109": ("0019_hr109_bad", "0020_hr109_safe"),
    "HR110": ("0005_hr110_bad", "0003_hr101_safe"),
    "HR201": ("0021_hr201_bad", "0022_hr201_safe"),
    "HR202": ("0023_hr202_bad", "0024_hr202_safe"),
    "HR203": ("0025_hr203_bad", "0022_hr201_safe"),
    "HR204": ("0026_hr204_bad", "0028_hr204_safe"),
    "HR205": ("0029_hr205_bad", "0030_hr205_safe"),
    "HR206": ("0032_hr206_bad", "0015_hr106_safe"),
    "HR207": ("0033_hr207_bad", "0034_hr207_safe"),
    "HR208": ("0035_hr208_bad", "0018_hr107_safe"),
    "HR209": ("0036_hr209_bad", "0037_hr209_safe"),
    "HR301": ("0038_hr301_bad", "0039_hr301_safe"),
    "HR302": ("0040_hr302_bad", "0041_hr302_safe"),
    "HR401": ("0042_hr401_bad", "0039_hr301_safe"),
    "HR402": ("0043_hr402_bad", "0044_hr402_safe"),
    "HR403": ("0002_hr101_bad", "0045_hr403_safe"),
    "HR404": ("0046_hr404_bad", "0018_hr107_safe"),
    "HR501": ("0047_hr501_bad", "0013_hr105_safe"),
    "HR901": ("0048_hr901_bad", "0050_suppressed"),
    "HR902": ("0049_hr902_bad", "0050_suppressed"),
    "HR903": ("0051_hr903_bad", "0044_hr402_safe"),
    "HR904": ("0055_hr904_bad", "0013_hr105_safe"),
}


def rules_in(migration: str) -> set[str]:
    return {f.rule for f in lint(targets=[f"lintcases.{migration}"]).findings}


def test_every_rule_has_an_unsafe_and_a_safe_example() -> None:
    assert set(CASES) == set(RULES)


@pytest.mark.parametrize("rule", sorted(CASES))
def test_rule_fires_on_unsafe_example(rule: str) -> None:
    unsafe, _safe = CASES[rule]
    assert rule in rules_in(unsafe)


@pytest.mark.parametrize("rule", sorted(CASES))
def test_rule_is_silent_on_safe_example(rule: str) -> None:
    _unsafe, safe = CASES[rule]
    assert rule not in rules_in(safe)


def test_the_contract_step_of_a_two_release_drop_is_clean() -> None:
    result = lint(targets=["lintcases.0004_hr101_contract"])
    assert {f.rule for f in result.findings} <= {"HR209"}
    assert result.migrations[0].phase == "contract"


def test_runsql_is_judged_by_the_same_rules() -> None:
    found = rules_in("0052_sql_bad")
    assert {
        "HR101",
        "HR102",
        "HR103",
        "HR104",
        "HR105",
        "HR106",
        "HR109",
        "HR201",
        "HR202",
        "HR203",
        "HR204",
        "HR205",
        "HR206",
        "HR207",
        "HR208",
    } <= found


def test_safe_runsql_is_clean() -> None:
    assert rules_in("0053_sql_safe") == set()


def test_tables_created_in_the_same_migration_are_never_locked() -> None:
    # 0001 adds an index and a unique NOT NULL column to tables it creates.
    assert rules_in("0001_initial") == set()


def test_lock_rules_apply_only_to_postgresql(settings: object) -> None:
    from django.test import override_settings

    with override_settings(HEADROOM={"MIGRATION_LINT_VENDOR": "sqlite"}):
        assert rules_in("0021_hr201_bad") == set()
        assert "HR101" in rules_in("0002_hr101_bad")


def test_message_names_the_real_table_column_and_model() -> None:
    [finding] = [f for f in lint(targets=["lintcases.0002"]).findings if f.rule == "HR101"]
    assert finding.message == (
        "lintcases.0002_hr101_bad drops column lintcases_product.f101 (Product.f101) while "
        "the running code still selects it."
    )
    assert finding.severity == "error"
    assert finding.phase == "contract"
    assert (finding.app_label, finding.migration_name) == ("lintcases", "0002_hr101_bad")
    assert finding.file == "tests/migrationlint/lintcases/migrations/0002_hr101_bad.py"
    source = Path(finding.file).read_text().splitlines()
    assert "migrations.RemoveField" in source[finding.line - 1]
    # The fix is the two-release sequence, with the real names, ready to paste.
    assert 'migrations.RemoveField(model_name="product", name="f101")' in finding.fix
    assert "field=models.CharField(max_length=20, null=True)" in finding.fix, (
        "a NOT NULL column is made nullable before Django forgets it"
    )
    assert 'ALTER TABLE "lintcases_product" DROP COLUMN "f101"' in finding.fix


def test_every_fix_is_python_that_parses() -> None:
    result = lint(targets=["lintcases"])
    assert result.findings
    for finding in result.findings:
        assert "{" + "migration}" not in finding.message
        try:
            ast.parse(finding.fix)
        except SyntaxError as exc:  # pragma: no cover - the assertion message shows it
            pytest.fail(f"{finding.rule} fix does not parse: {exc}\n{finding.fix}")


def test_operation_lines_point_at_each_operation() -> None:
    result = lint(targets=["lintcases.0047_hr501_bad"])
    by_rule = {f.rule: f for f in result.findings}
    lines = Path(by_rule["HR101"].file).read_text().splitlines()
    assert "RemoveField" in lines[by_rule["HR101"].line - 1]
    assert by_rule["HR501"].operation_index is None


def test_suppression_with_reason_silences_and_is_reported_as_suppressed() -> None:
    result = lint(targets=["lintcases.0050_suppressed"])
    assert "HR101" not in {f.rule for f in result.findings}
    [(finding, reason)] = [(f, r) for f, r in result.suppressed if f.rule == "HR101"]
    assert reason == "fsup unused since release 4.2"
    assert finding.operation_index == 0


def test_suppression_without_reason_does_not_silence() -> None:
    result = lint(targets=["lintcases.0048_hr901_bad"])
    messages = [f.message for f in result.findings if f.rule == "HR901"]
    assert any("has no reason" in m for m in messages)
    assert any("HR999 does not exist" in m for m in messages)
    assert "HR101" in {f.rule for f in result.findings}


def test_table_sizes_grade_lock_findings() -> None:
    def severity(rows: int) -> str:
        result = lint(targets=["lintcases.0021"], table_sizes={"lintcases_product": rows})
        [finding] = [f for f in result.findings if f.rule == "HR201"]
        return finding.severity

    assert severity(40) == "info"
    assert severity(50_000) == "error"
    assert severity(40_000_000) == "error"
    small = lint(targets=["lintcases.0023"], table_sizes={"lintcases_product": 40})
    assert [f.severity for f in small.findings if f.rule == "HR202"] == ["info"]
    large = lint(targets=["lintcases.0023"], table_sizes={"lintcases_product": 10**7})
    [finding] = [f for f in large.findings if f.rule == "HR202"]
    assert finding.severity == "error"
    assert "(~10,000,000 rows)" in finding.message


def test_warnings_can_be_promoted() -> None:
    assert lint(targets=["lintcases.0042"]).errors == []
    promoted = lint(targets=["lintcases.0042"], warnings_as_errors=["HR401"])
    assert [f.rule for f in promoted.errors] == ["HR401"]
    assert lint(targets=["lintcases.0042"], warnings_as_errors=["*"]).errors


def test_disabled_rules_are_not_reported() -> None:
    assert "HR101" not in {
        f.rule for f in lint(targets=["lintcases.0002"], disable=["HR101"]).findings
    }


def test_unmanaged_models_have_no_table_to_break() -> None:
    assert rules_in("0056_unmanaged_safe") == set()
