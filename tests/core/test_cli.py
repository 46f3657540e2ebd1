from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import override_settings

from headroom.cli import discover, main


def test_help_lists_verbs(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    for name in discover():
        assert name in out


def test_every_verb_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    verbs = discover()
    assert verbs, "no verbs registered"
    for name in verbs:
        with pytest.raises(SystemExit) as info:
            main([name, "--help"])
        assert info.value.code == 0
        assert f"usage: headroom {name}" in capsys.readouterr().out


def test_no_verb_prints_usage_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "usage: headroom" in capsys.readouterr().out


def test_unknown_verb_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["frobnicate"])
    assert info.value.code == 2
    assert "invalid choice: 'frobnicate'" in capsys.readouterr().err


def test_console_script_module_runs() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "headroom", "--version"], capture_output=True, text=True
    )
    assert result.returncode == 0
    assert result.stdout.startswith("django-headroom ")


def test_call_command_headroom_reaches_the_same_cli(capsys: pytest.CaptureFixture[str]) -> None:
    with override_settings(DEBUG=True), pytest.raises(SystemExit) as info:
        call_command("headroom", "check", "--json")
    assert info.value.code == 1
    rows = json.loads(capsys.readouterr().out)
    assert "headroom.W002" in {row["id"] for row in rows}


def test_manage_py_headroom_help(tmp_path: Path) -> None:
    manage = tmp_path / "manage.py"
    manage.write_text(
        "import sys\nfrom django.core.management import execute_from_command_line\n"
        "execute_from_command_line(sys.argv)\n"
    )
    result = subprocess.run(
        [sys.executable, str(manage), "headroom", "check", "--help"],
        capture_output=True,
        text=True,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings", "PYTHONPATH": os.getcwd()},
    )
    assert result.returncode == 0, result.stderr
    assert "usage: headroom check" in result.stdout
