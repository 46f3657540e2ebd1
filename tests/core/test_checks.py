from __future__ import annotations

import pytest
from django.core import checks
from django.test import override_settings


def deploy_ids() -> set[str]:
    found = checks.run_checks(tags=["headroom"], include_deployment_checks=True)
    return {m.id for m in found if m.id}


FILE_CACHE = {
    "default": {
        "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
        "LOCATION": "/tmp/headroom-test-cache",
    }
}
LOCMEM = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
PG = {"default": {"ENGINE": "django.db.backends.postgresql", "NAME": "x"}}


def test_file_cache_fires_and_locmem_is_silent() -> None:
    with override_settings(CACHES=FILE_CACHE):
        assert "headroom.W001" in deploy_ids()
    with override_settings(CACHES=LOCMEM):
        assert "headroom.W001" not in deploy_ids()


def test_debug_fires_only_when_on() -> None:
    with override_settings(DEBUG=True):
        assert "headroom.W002" in deploy_ids()
    with override_settings(DEBUG=False):
        assert "headroom.W002" not in deploy_ids()


@pytest.mark.filterwarnings("ignore:Overriding setting DATABASES")
def test_conn_max_age_zero_on_postgres() -> None:
    with override_settings(DATABASES={"default": {**PG["default"], "CONN_MAX_AGE": 0}}):
        found = checks.run_checks(tags=["headroom"], include_deployment_checks=True)
    w003 = [m for m in found if m.id == "headroom.W003"]
    assert w003 and "CONN_MAX_AGE'] = 60" in (w003[0].hint or "")
    with override_settings(DATABASES={"default": {**PG["default"], "CONN_MAX_AGE": 60}}):
        assert "headroom.W003" not in deploy_ids()


@pytest.mark.filterwarnings("ignore:Overriding setting DATABASES")
def test_conn_max_age_is_not_about_sqlite() -> None:
    sqlite = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
    with override_settings(DATABASES=sqlite):
        assert "headroom.W003" not in deploy_ids()


def test_missing_logging() -> None:
    with override_settings(LOGGING={}):
        assert "headroom.W004" in deploy_ids()
    with override_settings(LOGGING={"version": 1}):
        assert "headroom.W004" not in deploy_ids()


def test_synchronous_smtp_backend() -> None:
    with override_settings(EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend"):
        assert "headroom.W005" in deploy_ids()
    with override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend"):
        assert "headroom.W005" not in deploy_ids()


def test_deployment_checks_stay_out_of_a_plain_check() -> None:
    with override_settings(DEBUG=True):
        found = checks.run_checks(tags=["headroom"])
    assert "headroom.W002" not in {m.id for m in found}
