"""``--database``: real table sizes from PostgreSQL grade the lock findings."""

from __future__ import annotations

import pytest
from django.db import connections

from headroom.migrationlint import lint
from headroom.migrationlint.sizes import table_rows

pytestmark = [pytest.mark.services]


def _make_product_table(rows: int, *, analyse: bool) -> None:
    with connections["postgres"].cursor() as cursor:
        cursor.execute("CREATE TABLE lintcases_product (id bigint PRIMARY KEY, f201 int)")
        cursor.execute(
            "INSERT INTO lintcases_product SELECT g, g FROM generate_series(1, %s) g", [rows]
        )
        if analyse:
            cursor.execute("ANALYZE lintcases_product")


@pytest.mark.django_db(databases=["default", "postgres"])
def test_statistics_of_an_analysed_table(postgres: str, lintcases: None) -> None:
    _make_product_table(20_000, analyse=True)
    assert table_rows(postgres)["lintcases_product"] == 20_000
    result = lint(targets=["lintcases.0021"], database=postgres)
    [finding] = [f for f in result.findings if f.rule == "HR201"]
    assert finding.severity == "error"  # the rule's own: between small and large
    assert finding.table_rows == 20_000
    assert "(~20,000 rows)" in finding.message
    assert result.database == postgres


@pytest.mark.django_db(databases=["default", "postgres"])
def test_a_small_table_never_analysed_is_counted(postgres: str, lintcases: None) -> None:
    _make_product_table(40, analyse=False)
    assert table_rows(postgres)["lintcases_product"] == 40
    result = lint(targets=["lintcases.0021"], database=postgres)
    [finding] = [f for f in result.findings if f.rule == "HR201"]
    assert finding.severity == "info"
    assert "(~40 rows)" in finding.message
    # Compatibility rules do not depend on size: old code breaks on 40 rows too.
    drop = lint(targets=["lintcases.0002"], database=postgres)
    assert [f.severity for f in drop.findings if f.rule == "HR101"] == ["error"]
