"""The server settings audit against the real test servers."""

from __future__ import annotations

import pytest
from django.core import checks
from django.core.management import call_command

from headroom.cli import main
from headroom.dbconfig import audit


def by_setting(alias: str, **options: object) -> dict[str, object]:
    return {r.setting: r for r in audit(alias, **options).recommendations}  # type: ignore[arg-type]


@pytest.mark.services
@pytest.mark.django_db(databases=["default", "postgres"])
def test_the_stock_shared_buffers_is_flagged_with_its_alter_system_line(postgres: str) -> None:
    found = by_setting(postgres, ram="16GB")
    item = found["shared_buffers"]
    assert item.current == "128MB" and item.recommended == "4GB"  # type: ignore[attr-defined]
    assert item.check_id == "headroom.W301"  # type: ignore[attr-defined]
    assert "ALTER SYSTEM SET shared_buffers = '4GB';" in item.fix  # type: ignore[attr-defined]
    assert item.restart  # type: ignore[attr-defined]
    assert found["effective_cache_size"].recommended == "12GB"  # type: ignore[attr-defined]


@pytest.mark.services
@pytest.mark.django_db(databases=["default", "postgres"])
def test_a_small_host_needs_no_more_memory(postgres: str) -> None:
    # 512MB of RAM: a quarter is 128MB, exactly the stock shared_buffers.
    assert "shared_buffers" not in by_setting(postgres, ram="512MB")


@pytest.mark.services
@pytest.mark.django_db(databases=["default", "postgres"])
def test_connection_demand_from_the_deployment_against_max_connections(postgres: str) -> None:
    found = by_setting(postgres, ram="16GB", workers=9, threads=4, web_servers=3, celery=8)
    item = found["max_connections"]
    assert item.check_id == "headroom.E301"  # type: ignore[attr-defined]
    assert "3 web server(s) x 9 worker(s) x 4 thread(s) + 8 Celery process(es) = 116" in (
        item.why  # type: ignore[attr-defined]
    )
    assert "max_connections" not in by_setting(postgres, ram="16GB", workers=4, threads=1)


@pytest.mark.services
@pytest.mark.django_db(databases=["default", "postgres"])
def test_log_min_duration_statement_follows_the_latency_objective(
    postgres: str, settings: object
) -> None:
    settings.HEADROOM = {"SLO_P95_MS": 250}  # type: ignore[attr-defined]
    item = by_setting(postgres, ram="16GB")["log_min_duration_statement"]
    assert item.recommended == "50ms"  # type: ignore[attr-defined]


@pytest.mark.services
@pytest.mark.django_db(databases=["default", "postgres"])
def test_it_runs_as_a_system_check_with_check_database(
    postgres: str, capsys: pytest.CaptureFixture[str], settings: object
) -> None:
    settings.HEADROOM = {"DB_HOST_RAM": "16GB"}  # type: ignore[attr-defined]
    messages = checks.run_checks(tags=[checks.Tags.database], databases=[postgres])
    ids = {m.id for m in messages}
    assert "headroom.W301" in ids
    (shared,) = [m for m in messages if "shared_buffers" in m.msg]
    assert "ALTER SYSTEM SET shared_buffers = '4GB';" in (shared.hint or "")
    # Without --database, Django does not run database checks: nothing is read.
    assert not [m for m in checks.run_checks() if m.id and m.id.startswith("headroom.W30")]
    call_command("check", "--database", postgres)
    assert "headroom.W301" in capsys.readouterr().err


@pytest.mark.django_db
def test_sqlite_without_wal_is_flagged_for_several_workers() -> None:
    found = by_setting("default", workers=3)
    assert found["journal_mode"].check_id == "headroom.W304"  # type: ignore[attr-defined]
    assert "PRAGMA journal_mode=WAL" in found["journal_mode"].fix  # type: ignore[attr-defined]
    assert "transaction_mode" in found


@pytest.mark.django_db
def test_sqlite_with_one_worker_is_left_alone() -> None:
    assert by_setting("default", workers=1, threads=1) == {}


@pytest.mark.services
@pytest.mark.django_db(databases=["default", "postgres"])
def test_the_verb_prints_each_setting_and_exits_1(
    postgres: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["dbconfig", "--database", postgres, "--ram", "16GB"], django_ready=True)
    out = capsys.readouterr().out
    assert code == 1
    assert "headroom.W301  shared_buffers: 128MB -> 4GB" in out
    assert "ALTER SYSTEM SET shared_buffers = '4GB';" in out
    assert main(["dbconfig", "--ram", "lots"], django_ready=True) == 2
