from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import override_settings

from headroom import conf
from headroom.checks.settings_checks import check_headroom_setting


def test_defaults_are_typed_values() -> None:
    settings = conf.build({}, environ={})
    assert settings.PROBE_MODE == "production"
    assert settings.SLO_P95_MS == 500.0
    assert settings.IGNORE_PATHS == ["/static/", "/media/"]


def test_conf_reads_settings_and_clears_on_change() -> None:
    assert conf.conf.SLO_P95_MS == 500.0
    with override_settings(HEADROOM={"SLO_P95_MS": 250}):
        assert conf.conf.SLO_P95_MS == 250
    assert conf.conf.SLO_P95_MS == 500.0


def test_unknown_key_is_a_system_check_error_naming_it() -> None:
    with override_settings(HEADROOM={"SLO_P59_MS": 250}):
        errors = check_headroom_setting()
    assert [e.id for e in errors] == ["headroom.E001"]
    assert "'SLO_P59_MS'" in errors[0].msg
    assert "SLO_P95_MS" in errors[0].hint


def test_wrong_type_is_a_system_check_error_naming_it() -> None:
    with override_settings(HEADROOM={"MAX_USERS": "lots"}):
        errors = check_headroom_setting()
    assert [e.id for e in errors] == ["headroom.E002"]
    assert "'MAX_USERS'" in errors[0].msg
    assert "expected int, got str 'lots'" in errors[0].msg


def test_bad_scenario_names_the_entry_and_field() -> None:
    scenarios = [{"path": "/"}, {"path": "/cart/", "method": "POST", "weight": 0}]
    with override_settings(HEADROOM={"SCENARIOS": scenarios}):
        errors = check_headroom_setting()
    assert errors[0].id == "headroom.E002"
    assert "SCENARIOS[1].weight" in errors[0].msg


def test_valid_settings_pass_the_check() -> None:
    good = {"SLO_P95_MS": 300, "SCENARIOS": [{"path": "/", "weight": 3}]}
    with override_settings(HEADROOM=good):
        assert check_headroom_setting() == []


def test_manage_check_fails_on_a_bad_key() -> None:
    with override_settings(HEADROOM={"NOPE": 1}), pytest.raises(SystemCheckError) as info:
        call_command("check", tags=["headroom"])
    assert "headroom.E001" in str(info.value)


def test_environment_overrides_the_probe_mode() -> None:
    settings = conf.build(
        {}, environ={"HEADROOM_PROBE_MODE": "capture", "HEADROOM_SPOOL_DIR": "/tmp/spool"}
    )
    assert settings.PROBE_MODE == "capture"
    assert settings.SPOOL_DIR == "/tmp/spool"


def test_capture_mode_needs_a_spool_dir() -> None:
    with pytest.raises(conf.ConfigError, match="SPOOL_DIR"):
        conf.build({"PROBE_MODE": "capture"}, environ={})
