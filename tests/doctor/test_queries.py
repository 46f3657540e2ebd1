from __future__ import annotations

import datetime

import pytest
from django.contrib.auth.models import User
from django.db import connections
from django.utils import timezone

from headroom.doctor.queries import explain, index_name, parse_predicates, prove_index


def staff_since_sql(alias: str = "default") -> tuple[str, list[object]]:
    since = timezone.now() - datetime.timedelta(days=30)
    queryset = (
        User.objects.using(alias)
        .filter(last_name="Staff", date_joined__gte=since)
        .order_by("-date_joined")[:50]
    )
    sql, params = queryset.query.sql_with_params()
    return sql, list(params)


def test_candidate_puts_equality_first_then_the_range() -> None:
    sql, _ = staff_since_sql()
    predicates = parse_predicates(sql)
    assert predicates is not None
    assert predicates.table == "auth_user"
    assert predicates.equality == ["last_name"]
    assert predicates.ranges == ["date_joined"]
    assert predicates.order == ["date_joined"]
    assert predicates.candidate() == ["last_name", "date_joined"]


def test_a_bare_boolean_filter_counts_as_equality() -> None:
    sql, _ = User.objects.filter(email="a@b.c", is_staff=True).query.sql_with_params()
    predicates = parse_predicates(sql)
    assert predicates is not None
    assert predicates.equality == ["email", "is_staff"]


def test_candidate_uses_the_sort_column_without_a_range() -> None:
    sql, _ = User.objects.filter(last_name="x").order_by("first_name").query.sql_with_params()
    predicates = parse_predicates(sql)
    assert predicates is not None
    assert predicates.candidate() == ["last_name", "first_name"]


def test_in_lists_count_as_equality() -> None:
    sql, _ = User.objects.filter(username__in=["a", "b"]).query.sql_with_params()
    predicates = parse_predicates(sql)
    assert predicates is not None
    assert predicates.equality == ["username"]


def test_index_names_fit_djangos_limit() -> None:
    name = index_name("shop_order_with_a_long_table_name", ["status", "placed_at"])
    assert len(name) <= 30
    assert name.endswith("_idx")


def _fill_users(alias: str, count: int) -> None:
    User.objects.using(alias).bulk_create(
        [
            User(username=f"user{i}", last_name="Staff" if i % 50 == 0 else "Customer")
            for i in range(count)
        ]
    )


@pytest.mark.django_db
def test_index_is_proven_on_sqlite_and_rolled_back() -> None:
    _fill_users("default", 3000)
    sql, params = staff_since_sql()
    before = explain("default", sql, params)
    assert "auth_user" in before.full_scans

    proof = prove_index("default", "auth_user", ["last_name", "date_joined"], sql, params)

    assert proof is not None and proof.used
    assert "auth_user" not in proof.after.full_scans
    indexes = connections["default"].introspection.get_constraints(
        connections["default"].cursor(), "auth_user"
    )
    assert proof.index_name not in indexes, "the proving index must be rolled back"


@pytest.mark.django_db(databases=["postgres"])
def test_index_is_proven_on_postgresql_and_rolled_back(postgres: str) -> None:
    _fill_users(postgres, 20000)
    with connections[postgres].cursor() as cursor:
        cursor.execute("ANALYZE auth_user")
    sql, params = staff_since_sql(postgres)
    before = explain(postgres, sql, params)
    assert before.full_scans == ["auth_user"]
    assert before.cost is not None

    proof = prove_index(postgres, "auth_user", ["last_name", "date_joined"], sql, params)

    assert proof is not None and proof.used
    assert proof.after.cost is not None and proof.after.cost < before.cost
    with connections[postgres].cursor() as cursor:
        indexes = connections[postgres].introspection.get_constraints(cursor, "auth_user")
    assert proof.index_name not in indexes
