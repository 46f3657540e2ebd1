"""The server settings audit against the real MariaDB: buffer pool against the data, the slow
query log, max_connections; each finding with its SET GLOBAL and my.cnf line."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.core import checks
from django.db import connections

from headroom.cli import main
from headroom.dbconfig import audit

pytestmark = pytest.mark.services

MB = 1 << 20


def by_setting(alias: str, **options: Any) -> dict[str, Any]:
    return {r.setting: r for r in audit(alias, **options).recommendations}


@pytest.fixture
def big_table(mariadb: str) -> Iterator[int]:
    """140 MB of InnoDB data in the test database (more than the stock 128 MB buffer pool)."""
    with connections[mariadb].cursor() as cursor:
        cursor.execute("CREATE TABLE headroom_big (id INT PRIMARY KEY, body LONGBLOB)")
        try:
            cursor.execute(
                "INSERT INTO headroom_big SELECT seq, REPEAT('x', 1048576) FROM seq_1_to_140"
            )
            cursor.execute("ANALYZE TABLE headroom_big")
            cursor.fetchall()
            yield 140 * MB
        finally:
            cursor.execute("DROP TABLE headroom_big")


@pytest.mark.django_db(databases=["default", "mariadb"], transaction=True)
def test_a_buffer_pool_smaller_than_the_data_is_flagged_with_set_global(
    mariadb: str, big_table: int
) -> None:
    result = audit(mariadb, ram="16GB")
    assert result.vendor == "mysql"
    data = result.facts["innodb_data_bytes"]
    pool = result.facts["innodb_buffer_pool_size"]
    assert data >= big_table > pool == 128 * MB  # the stock buffer pool
    (item,) = [r for r in result.recommendations if r.setting == "innodb_buffer_pool_size"]
    assert item.vendor == "MariaDB" and item.check_id == "headroom.W301"
    assert item.current == "128MB"
    wanted = -(-int(data * 1.25) // MB) * MB  # the data and a quarter, in whole MB
    assert item.recommended == f"{wanted // MB}MB"
    assert f"SET GLOBAL innodb_buffer_pool_size = {wanted};" in item.fix
    assert f"[mysqld]: innodb_buffer_pool_size = {wanted // MB}M" in item.fix
    # On a host with 160 MB of RAM the pool is already past 70% of it: nothing to gain.
    assert "innodb_buffer_pool_size" not in by_setting(mariadb, ram="160MB")


@pytest.mark.django_db(databases=["default", "mariadb"])
def test_the_slow_query_log_is_flagged_at_the_latency_budget(mariadb: str, settings: Any) -> None:
    settings.HEADROOM = {"SLO_P95_MS": 500}
    found = by_setting(mariadb, ram="16GB")
    log = found["slow_query_log"]  # off on a stock server
    assert log.current == "OFF" and log.check_id == "headroom.W302"
    assert "SET GLOBAL slow_query_log = 'ON';" in log.fix
    assert "[mysqld]: slow_query_log = ON" in log.fix
    threshold = found["long_query_time"]  # 10 s on a stock server, the budget is 100 ms
    assert threshold.current == "10" and threshold.recommended == "0.1"
    assert "SET GLOBAL long_query_time = 0.1;" in threshold.fix
    # A latency objective of a minute: 10 s is within its budget (12 s).
    settings.HEADROOM = {"SLO_P95_MS": 60_000}
    assert "long_query_time" not in by_setting(mariadb, ram="16GB")


@pytest.mark.django_db(databases=["default", "mariadb"])
def test_max_connections_against_the_deployment(mariadb: str) -> None:
    # 2 x 20 x 4 + 8 = 168 connections against the stock 151.
    found = by_setting(mariadb, ram="16GB", workers=20, threads=4, web_servers=2, celery=8)
    item = found["max_connections"]
    assert item.check_id == "headroom.E301"
    assert item.current == "151" and item.recommended == "178"
    demand = "2 web server(s) x 20 worker(s) x 4 thread(s) + 8 Celery process(es) = 168"
    assert demand in item.why
    assert "SET GLOBAL max_connections = 178;" in item.fix
    assert "[mysqld]: max_connections = 178" in item.fix
    # 3 x 9 x 4 + 8 = 116 fit.
    assert "max_connections" not in by_setting(
        mariadb, ram="16GB", workers=9, threads=4, web_servers=3, celery=8
    )


@pytest.mark.django_db(databases=["default", "mariadb"])
def test_the_verb_and_the_system_check_on_mariadb(
    mariadb: str, capsys: pytest.CaptureFixture[str], settings: Any
) -> None:
    code = main(["dbconfig", "--database", mariadb, "--ram", "16GB"], django_ready=True)
    out = capsys.readouterr().out
    assert code == 1, out
    assert "DATABASES['mariadb'] (mysql)" in out
    assert "headroom.W302  slow_query_log: OFF -> ON" in out
    assert "SET GLOBAL slow_query_log = 'ON';" in out
    settings.HEADROOM = {"DB_HOST_RAM": "16GB"}
    messages = checks.run_checks(tags=[checks.Tags.database], databases=[mariadb])
    (log,) = [m for m in messages if m.id == "headroom.W302" and "slow_query_log" in m.msg]
    assert "SET GLOBAL slow_query_log = 'ON';" in (log.hint or "")
