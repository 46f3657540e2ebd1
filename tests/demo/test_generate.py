from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

import pytest

from headroom.demo import generate
from headroom.demo.catalogue import product_slug
from headroom.demo.environment import DemoEnvironment, DemoError, is_built, prepare


def _rows(database: Path, sql: str) -> list[tuple[object, ...]]:
    with contextlib.closing(sqlite3.connect(database)) as db:
        return db.execute(sql).fetchall()


def _count(database: Path, table: str) -> int:
    return int(_rows(database, f"SELECT COUNT(*) FROM {table}")[0][0])


def test_the_small_shop_has_the_expected_rows(planted: DemoEnvironment) -> None:
    db = planted.database
    assert db.name == "shop-small-planted.sqlite3"
    assert _count(db, "shop_category") == 30
    assert _count(db, "shop_product") == 2_000
    assert _count(db, "shop_customer") == 2_000
    # Checkouts made by other tests add a few orders; the generator made 20,000.
    assert _count(db, "shop_order") >= 20_000
    assert _count(db, "shop_order WHERE reference LIKE 'HR-0%'") == 20_000
    assert 6_000 <= _count(db, "shop_review") <= 10_000
    assert 20_000 <= _count(db, "shop_orderitem") <= 60_000
    assert _rows(db, f"SELECT name FROM shop_product WHERE slug = '{product_slug(42)}'")


def test_the_demo_users_exist_without_usable_passwords(planted: DemoEnvironment) -> None:
    users = {
        name: (bool(staff), bool(superuser), password)
        for name, staff, superuser, password in _rows(
            planted.database,
            "SELECT username, is_staff, is_superuser, password FROM auth_user ORDER BY username",
        )
    }
    assert users.keys() == {"demo-customer", "demo-staff"}
    assert users["demo-staff"][:2] == (True, True)
    assert users["demo-customer"][:2] == (False, False)
    # Django marks an unusable password with a leading "!": nobody can sign in with one.
    assert all(password.startswith("!") for _, _, password in users.values())
    linked = _rows(
        planted.database,
        "SELECT c.email FROM shop_customer c JOIN auth_user u ON c.user_id = u.id "
        "WHERE u.username = 'demo-customer'",
    )
    assert linked == [("customer1@example.com",)]


def test_both_modes_hold_the_same_seeded_rows(
    planted: DemoEnvironment, fixed: DemoEnvironment
) -> None:
    sql = (
        "SELECT o.reference, o.customer_id, o.status, o.placed_at, o.total, p.slug, p.price "
        "FROM shop_order o JOIN shop_orderitem i ON i.order_id = o.id "
        "JOIN shop_product p ON p.id = i.product_id WHERE o.id <= 500 ORDER BY i.id"
    )
    assert fixed.database != planted.database
    assert _rows(planted.database, sql) == _rows(fixed.database, sql)
    assert len(_rows(planted.database, sql)) >= 500


def test_prepare_reuses_a_built_database(planted: DemoEnvironment, demo_workdir: Path) -> None:
    before = planted.database.stat().st_mtime_ns
    with prepare(size="small", fixed=False, workdir=demo_workdir, progress=False) as again:
        assert again.database == planted.database
        assert again.env["HEADROOM_DEMO_DB"] == str(planted.database)
    assert planted.database.stat().st_mtime_ns == before


def test_an_unfinished_file_is_not_taken_for_a_built_database(tmp_path: Path) -> None:
    half_built = tmp_path / "shop-small-planted.sqlite3"
    sqlite3.connect(half_built).close()
    assert not is_built(half_built)
    assert not is_built(tmp_path / "missing.sqlite3")


def test_prepare_rejects_an_unknown_size(tmp_path: Path) -> None:
    with (
        pytest.raises(DemoError, match="unknown demo size 'huge'"),
        prepare(size="huge", fixed=False, workdir=tmp_path),
    ):
        pass


def test_the_generator_refuses_to_overwrite_a_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    existing = tmp_path / "shop.sqlite3"
    existing.write_bytes(b"")
    with pytest.raises(SystemExit) as info:
        generate.main(["--size", "small", "--database", str(existing)])
    assert info.value.code == 2
    assert "exists; the generator only fills a new file" in capsys.readouterr().err
