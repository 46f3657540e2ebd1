from __future__ import annotations

import pytest

from headroom.probe import sql
from headroom.probe.sql import cached_fingerprint, fingerprint_sql, table_and_column


@pytest.mark.parametrize(
    ("statement", "expected"),
    [
        ("SELECT * FROM t WHERE id = 42", "SELECT * FROM t WHERE id = ?"),
        ("SELECT * FROM t WHERE name = 'O''Brien'", "SELECT * FROM t WHERE name = ?"),
        ("SELECT * FROM t WHERE x > 3.5e3 AND y=-2", "SELECT * FROM t WHERE x > ? AND y=?"),
        ("SELECT * FROM t WHERE id = %s", "SELECT * FROM t WHERE id = %s"),
        ("SELECT * FROM t WHERE id = %(id)s", "SELECT * FROM t WHERE id = %(id)s"),
        ("SELECT * FROM t WHERE a = ? AND b = $2 AND c = :c", None),
        ('SELECT "t2"."col1" FROM "t2" LIMIT 21', 'SELECT "t2"."col1" FROM "t2" LIMIT ?'),
    ],
)
def test_literals_become_placeholders_and_placeholders_stay(
    statement: str, expected: str | None
) -> None:
    assert fingerprint_sql(statement) == (expected or statement)


def test_in_lists_collapse_whatever_their_length() -> None:
    short = fingerprint_sql('SELECT * FROM "t" WHERE "t"."id" IN (%s, %s)')
    long = fingerprint_sql('SELECT * FROM "t" WHERE "t"."id" IN (%s, %s, %s, %s, %s)')
    literal = fingerprint_sql("SELECT * FROM t WHERE id in (1,2,3)")
    assert short == long == 'SELECT * FROM "t" WHERE "t"."id" IN (...)'
    assert literal == "SELECT * FROM t WHERE id IN (...)"


def test_a_subquery_in_in_is_kept() -> None:
    assert (
        fingerprint_sql("SELECT * FROM t WHERE id IN (SELECT t_id FROM u WHERE k = 5)")
        == "SELECT * FROM t WHERE id IN (SELECT t_id FROM u WHERE k = ?)"
    )


def test_values_lists_collapse_for_any_batch_size() -> None:
    one = fingerprint_sql('INSERT INTO "t" ("a", "b") VALUES (%s, %s)')
    three = fingerprint_sql('INSERT INTO "t" ("a", "b") VALUES (%s, %s), (%s, %s), (%s, %s)')
    literals = fingerprint_sql('INSERT INTO "t" ("a", "b") VALUES (1, \'x\'), (2, NULL)')
    assert one == three == literals == 'INSERT INTO "t" ("a", "b") VALUES (...)'


def test_whitespace_and_comments_do_not_change_the_fingerprint() -> None:
    spaced = "SELECT  *\n   FROM t\n\tWHERE id = %s  "
    commented = "/* controller='cart' */ SELECT * FROM t -- trailing\nWHERE id = %s"
    assert fingerprint_sql(spaced) == fingerprint_sql(commented) == "SELECT * FROM t WHERE id = %s"


def test_quoted_identifiers_with_digits_and_quotes_are_kept() -> None:
    assert (
        fingerprint_sql('SELECT "2fa", "it\'s" FROM "t1" WHERE "x" = 1')
        == 'SELECT "2fa", "it\'s" FROM "t1" WHERE "x" = ?'
    )


def test_fingerprints_are_cached_by_text_and_the_cache_is_bounded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sql, "CACHE_SIZE", 3)
    for n in range(10):
        cached_fingerprint(f"SELECT {n} FROM t")
    assert len(sql._cache) <= 3
    assert cached_fingerprint("SELECT 9 FROM t") == "SELECT ? FROM t"


def test_table_and_filtered_column_are_read_from_the_fingerprint() -> None:
    fingerprint = 'SELECT "a"."id" FROM "shop_review" WHERE "shop_review"."product_id" = %s'
    assert table_and_column(fingerprint) == ("shop_review", "product_id")
    assert table_and_column("SELECT 1") == (None, None)
