"""Every rule is documented, and the pre-commit hook runs a command that exists."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest

from headroom.cli import main
from headroom.migrationlint import RULES

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs" / "migrationlint"


@pytest.mark.parametrize("rule", sorted(RULES))
def test_every_rule_has_a_page_with_bad_why_and_safe(rule: str) -> None:
    text = (DOCS / f"{rule}.md").read_text()
    assert text.startswith(f"# {rule} {RULES[rule]['title']}\n")
    for heading in ("## Bad", "## Why", "## Safe"):
        assert heading in text


def test_index_lists_every_rule_and_the_api() -> None:
    text = (DOCS / "index.md").read_text()
    for rule in RULES:
        assert f"[{rule}]({rule}.md)" in text
    for name in ("lint(", "project_only", "operation_index", "to_dict()", "--headroom-allow"):
        assert name in text


def test_pre_commit_hook_entry_is_a_real_command(capsys: pytest.CaptureFixture[str]) -> None:
    lines = (ROOT / ".pre-commit-hooks.yaml").read_text().splitlines()
    fields = dict(
        line.strip().lstrip("- ").split(": ", 1)
        for line in lines
        if not line.lstrip().startswith("#") and ": " in line
    )
    assert fields["id"] == "headroom-lint-migrations"
    assert fields["pass_filenames"] == "false"
    program, *argv = shlex.split(fields["entry"])
    assert program == "headroom"
    with pytest.raises(SystemExit) as info:
        main([*argv, "--help"])
    assert info.value.code == 0
    assert "--since GIT_REV" in capsys.readouterr().out
