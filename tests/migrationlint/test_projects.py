"""Real migration histories: Django's contrib apps, the bundled demo shop, a git repository."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import override_settings

from headroom.migrationlint import LintError, lint

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("vendor", ["sqlite", "postgresql"])
def test_django_contrib_migrations(vendor: str) -> None:
    with override_settings(HEADROOM={"MIGRATION_LINT_VENDOR": vendor}):
        result = lint(targets=["auth", "contenttypes", "admin", "sessions"])
    assert "contenttypes.0002_remove_content_type_name" in result.flagged
    drops = [f for f in result.findings if f.rule == "HR101"]
    assert [(f.migration, f.table, f.column) for f in drops] == [
        ("contenttypes.0002_remove_content_type_name", "django_content_type", "name")
    ]
    assert drops[0].file.endswith(
        "django/contrib/contenttypes/migrations/0002_remove_content_type_name.py"
    )
    # Widening a varchar keeps old code working and rewrites nothing.
    assert "auth.0008_alter_user_username_max_length" not in result.flagged
    widen = [
        f for f in result.findings if f.migration == "auth.0008_alter_user_username_max_length"
    ]
    if vendor == "sqlite":
        assert widen == []
    else:
        # Only the note that the brief ACCESS EXCLUSIVE lock has no lock_timeout.
        assert [(f.rule, f.severity) for f in widen] == [("HR209", "info")]


def test_project_only_leaves_out_django_and_libraries() -> None:
    with override_settings(
        INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth", "headroom"],
    ):
        everything = lint()
        project = lint(project_only=True)
    assert "contenttypes.0002_remove_content_type_name" in everything.flagged
    assert project.migrations == []
    assert project.findings == []


def test_the_demo_shop_drop_column_is_reported_with_file_and_line(tmp_path: Path) -> None:
    """What the doctor asks: the demo shop's RemoveField as an HR rule error, file and line."""
    env = {
        **os.environ,
        "HEADROOM_DEMO_DB": str(tmp_path / "shop.sqlite3"),
        "PYTHONPATH": str(ROOT / "src"),
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "headroom",
            "lint-migrations",
            "--settings",
            "headroom.demo.settings",
            "--project-only",
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
    )
    assert result.returncode == 1, result.stderr
    data = json.loads(result.stdout)
    assert {m["app_label"] for m in data["migrations"]} == {"shop"}
    [drop] = [f for f in data["findings"] if f["rule"] == "HR101"]
    assert drop["severity"] == "error"
    assert drop["migration_name"].startswith("0002_")
    assert drop["file"].endswith("demo/shop/migrations/" + drop["migration_name"] + ".py")
    source = ROOT / "src/headroom/demo/shop/migrations" / f"{drop['migration_name']}.py"
    assert "RemoveField" in source.read_text().splitlines()[drop["line"] - 1]


# --- --since on a real git repository ----------------------------------------------------

SETTINGS = """\
SECRET_KEY = "x"
INSTALLED_APPS = ["django.contrib.contenttypes", "django.contrib.auth", "headroom", "store"]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": "db.sqlite3"}}
USE_TZ = True
"""
INITIAL = """\
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True
    dependencies = []
    operations = [
        migrations.CreateModel(
            name="Item",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                ("name", models.CharField(max_length=20)),
                ("code", models.CharField(max_length=20)),
            ],
        ),
    ]
"""
DROP = """\
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("store", "{previous}")]
    operations = [migrations.RemoveField(model_name="item", name="{field}")]
"""


def _git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True
    ).stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A project in a git repository: 0001 and 0002 committed, then 0003 added."""
    (tmp_path / "proj").mkdir()
    (tmp_path / "proj" / "__init__.py").write_text("")
    (tmp_path / "proj" / "settings.py").write_text(SETTINGS)
    migrations = tmp_path / "store" / "migrations"
    migrations.mkdir(parents=True)
    (tmp_path / "store" / "__init__.py").write_text("")
    (migrations / "__init__.py").write_text("")
    (migrations / "0001_initial.py").write_text(INITIAL)
    (migrations / "0002_remove_item_name.py").write_text(
        DROP.format(previous="0001_initial", field="name")
    )
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "-c", "user.name=t", "-c", "user.email=t@t", "add", ".")
    _git(tmp_path, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "one")
    return tmp_path


def _lint_in(repo: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": f"{repo}{os.pathsep}{ROOT / 'src'}"}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return subprocess.run(
        [sys.executable, "-m", "headroom", "lint-migrations", "--settings", "proj.settings", *argv],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
    )


def test_since_lints_only_files_added_after_the_revision(repo: Path) -> None:
    base = _git(repo, "rev-parse", "HEAD")
    clean = _lint_in(repo, "--since", base, "--format", "json")
    assert clean.returncode == 0, clean.stderr
    assert json.loads(clean.stdout)["migrations"] == []

    # A new migration, not yet committed (not even added): it is new.
    (repo / "store" / "migrations" / "0003_remove_item_code.py").write_text(
        DROP.format(previous="0002_remove_item_name", field="code")
    )
    found = _lint_in(repo, "--since", base, "--format", "json")
    assert found.returncode == 1, found.stderr
    data = json.loads(found.stdout)
    assert [m["name"] for m in data["migrations"]] == ["0003_remove_item_code"]
    assert {(f["migration_name"], f["rule"]) for f in data["findings"]} >= {
        ("0003_remove_item_code", "HR101")
    }

    # Committed: still new relative to the base revision, no longer relative to HEAD.
    _git(repo, "add", ".")
    _git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "two")
    assert _lint_in(repo, "--since", base).returncode == 1
    assert _lint_in(repo, "--since", "HEAD").returncode == 0

    # Without --since the whole history is linted, the committed drop included.
    everything = json.loads(_lint_in(repo, "store", "--format", "json").stdout)
    assert {f["migration_name"] for f in everything["findings"] if f["rule"] == "HR101"} == {
        "0002_remove_item_name",
        "0003_remove_item_code",
    }


def test_since_with_an_unknown_revision_is_bad_usage(repo: Path) -> None:
    result = _lint_in(repo, "--since", "no-such-rev")
    assert result.returncode == 2
    assert "--since no-such-rev" in result.stderr


def test_since_outside_a_git_repository(tmp_path: Path) -> None:
    with pytest.raises(LintError, match="--since HEAD"):
        cwd = os.getcwd()
        os.chdir(tmp_path)
        try:
            lint(since="HEAD")
        finally:
            os.chdir(cwd)
