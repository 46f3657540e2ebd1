"""Benchmark: ``headroom lint-migrations`` against django-migration-linter on Wagtail.

    python benchmarks/migration_lint.py [--repeat 3] [--venv DIR] [--sqlite]

Installs Wagtail and django-migration-linter from PyPI into a throwaway virtualenv (or
``--venv DIR``, kept for the next run), makes a Wagtail project, migrates it once (django-
migration-linter runs ``sqlmigrate``, which needs a migrated database; headroom needs none),
then lints the whole migration history with both tools in the same run:

- whole process: ``python -m headroom lint-migrations`` vs ``manage.py lintmigrations``,
  what a user waits for, Python and Django start-up included;
- lint phase: each tool's lint call timed inside one process after ``django.setup()``.

Both are run ``--repeat`` times; the median counts. The database is PostgreSQL on
127.0.0.1:5432 when it answers (a throwaway database), else SQLite (``--sqlite`` forces it).
Then every difference between the two tools' findings is listed with its explanation. The
last line is the whole-process ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ["wagtail", "django-migration-linter", "pglast>=6", "psycopg[binary]>=3.1"]

SETTINGS = """\
import os
SECRET_KEY = "benchmark"
USE_TZ = True
ROOT_URLCONF = "benchsite.urls"
WAGTAIL_SITE_NAME = "bench"
WAGTAILADMIN_BASE_URL = "http://127.0.0.1"
INSTALLED_APPS = [
    "wagtail.contrib.forms",
    "wagtail.contrib.redirects",
    "wagtail.contrib.settings",
    "wagtail.embeds",
    "wagtail.sites",
    "wagtail.users",
    "wagtail.snippets",
    "wagtail.documents",
    "wagtail.images",
    "wagtail.search",
    "wagtail.admin",
    "wagtail",
    "modelcluster",
    "taggit",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_migration_linter",
    "headroom",
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]
STATIC_URL = "/static/"
DATABASES = {"default": DATABASE}
"""
URLS = "urlpatterns = []\n"
MANAGE = (
    "import sys\n"
    "from django.core.management import execute_from_command_line\n"
    "execute_from_command_line(sys.argv)\n"
)

# Runs inside the throwaway environment: time one tool's lint call after django.setup().
PHASE = """\
import contextlib, io, json, sys, time
import django
django.setup()
tool = sys.argv[1]
if tool == "headroom":
    from headroom.migrationlint import lint
    start = time.perf_counter()
    result = lint()
    elapsed = time.perf_counter() - start
    count = len(result.migrations)
else:
    from django.core.management import call_command
    buffer = io.StringIO()
    start = time.perf_counter()
    with contextlib.redirect_stdout(buffer):
        try:
            call_command("lintmigrations", no_cache=True, ignore_sqlmigrate_errors=True)
        except SystemExit:
            pass
    elapsed = time.perf_counter() - start
    count = buffer.getvalue().count(")... ")
print(json.dumps({"seconds": elapsed, "migrations": count}))
"""

# Runs inside the throwaway environment: which migrations squashed migrations replace.
REPLACEMENTS = """\
import json
import django
django.setup()
from django.db.migrations.loader import MigrationLoader
loader = MigrationLoader(None, ignore_no_migrations=True)
print(json.dumps({
    f"{key[0]}.{key[1]}": [f"{a}.{b}" for a, b in migration.replaces]
    for key, migration in loader.replacements.items()
}))
"""

# django-migration-linter's messages -> the nearest headroom rules.
DML_CATEGORIES = [
    ("DROPPING columns", "drop column", {"HR101"}),
    ("DROPPING table", "drop table", {"HR102"}),
    ("RENAMING columns", "rename column", {"HR103"}),
    ("RENAMING tables", "rename table", {"HR104"}),
    ("NOT NULL constraint", "NOT NULL", {"HR105", "HR106", "HR110"}),
    ("ALTERING columns", "alter column", {"HR107", "HR208", "HR109"}),
    ("ADDING unique", "unique", {"HR204"}),
    ("CREATE INDEX prolongs", "index in transaction", {"HR201", "HR204"}),
    ("CREATE INDEX", "create index", {"HR201", "HR204"}),
    ("DROP INDEX", "drop index", {"HR202"}),
    ("REINDEX", "reindex", set()),
    ("RunPython data migration is not reversible", "irreversible RunPython", {"HR401"}),
    ("RunSQL data migration is not reversible", "irreversible RunSQL", {"HR402"}),
    ("Importing the model directly", "live model in RunPython", {"HR302"}),
    ("By convention, RunPython names", "RunPython argument names", set()),
    ("Model variable name", "RunPython variable names", set()),
]

WHY_ONLY_DML = {
    "alter column": "django-migration-linter flags every ALTER COLUMN ... TYPE in the SQL, "
    "widenings included; headroom compares the field with its previous state and lets safe "
    "widenings (a longer varchar, varchar to text, more digits) through.",
    "NOT NULL": "django-migration-linter matches 'NOT NULL' in the generated SQL; headroom "
    "knows whether the column is new on an existing table (HR105), was made NOT NULL (HR106), "
    "or belongs to a table created in the same migration (fine).",
    "unique": "headroom reports a unique constraint on an existing table as HR204 on "
    "PostgreSQL only; the rest of the time it is a lock question, not a compatibility one.",
    "create index": "the index is built on a table created in the same migration, or in a "
    "non-atomic migration, which headroom knows from the state.",
    "index in transaction": "the same CREATE INDEX is reported once by headroom (HR201).",
    "drop index": "django-migration-linter also judges RunSQL's reverse_sql, which runs only "
    "on a rollback; headroom judges what runs forwards (and reports a forward DROP INDEX, "
    "RemoveConstraint of an index-backed unique constraint included, as HR202).",
    "RunPython argument names": "a naming convention, not a deploy risk: headroom has no "
    "such rule.",
    "RunPython variable names": "a naming convention, not a deploy risk: headroom has no "
    "such rule.",
    "live model in RunPython": "django-migration-linter's regex saw `Name.objects` without "
    "an `apps.get_model` assignment of the same name; headroom looks at what the function "
    "really references and found no model class of the running code.",
    "irreversible RunPython": "headroom reports it as HR401.",
    "irreversible RunSQL": "headroom reports it as HR402.",
    "drop column": "headroom reports a dropped column as HR101 unless Django's state no "
    "longer has the field (the second step of a two-release drop).",
}
WHY_ONLY_HEADROOM = {
    "HR101": "django-migration-linter did not see the DROP COLUMN in the SQL it got.",
    "HR105": "a NOT NULL column added with a Python default: Django drops the default after "
    "filling the rows, so old code's inserts fail; the generated SQL sets and drops the "
    "default in one migration, which django-migration-linter takes as safe.",
    "HR109": "dropping a database default the old code relies on: no SQL pattern matches it.",
    "HR110": "a field removed from the state only, its column left NOT NULL: invisible in SQL "
    "(SeparateDatabaseAndState emits none).",
    "HR201": "an index built on an existing table without CONCURRENTLY.",
    "HR202": "an index dropped without CONCURRENTLY.",
    "HR204": "a unique constraint built under a write lock.",
    "HR205": "a foreign key validated under a write lock on both tables: no equivalent rule.",
    "HR206": "a CHECK constraint validated under an ACCESS EXCLUSIVE lock: no equivalent rule.",
    "HR208": "a type change that rewrites the table (int to bigint): no equivalent rule.",
    "HR301": "a data migration in the same transaction as schema changes: no equivalent rule.",
    "HR302": "a RunPython using today's model class.",
    "HR403": "the reverse of the migration re-adds a NOT NULL column: no rollback rules there.",
    "HR501": "a migration mixing expand and contract operations: no phase rules there.",
    "HR901": "an invalid suppression.",
    "HR902": "a stale suppression.",
}


def log(text: str) -> None:
    print(text, flush=True)


def run(cmd: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, check=False, **kwargs)


def make_venv(venv: Path) -> Path:
    python = venv / "bin" / "python"
    if not python.exists():
        log(f"creating a throwaway virtualenv in {venv}")
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    log("pip install " + " ".join(PACKAGES) + " (this takes a minute the first time)")
    result = run([str(python), "-m", "pip", "install", "-q", *PACKAGES])
    if result.returncode != 0:
        raise SystemExit(f"pip install failed:\n{result.stderr}")
    versions = run(
        [
            str(python),
            "-c",
            "import importlib.metadata as m; print(', '.join(f'{p} {m.version(p)}' for p in "
            "('Django', 'wagtail', 'django-taggit', 'django-migration-linter', 'pglast')))",
        ]
    )
    log("installed: " + versions.stdout.strip())
    return python


def postgres_admin(python: Path, sql: str, *, check: bool = False) -> None:
    """Run one statement on the PostgreSQL server, outside a transaction."""
    code = (
        "import psycopg, sys\n"
        "dsn = 'host=127.0.0.1 user=postgres dbname=postgres'\n"
        "psycopg.connect(dsn, autocommit=True).execute(sys.argv[1])\n"
    )
    subprocess.run([str(python), "-c", code, sql], check=check)


def postgres_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=1):
            return True
    except OSError:
        return False


def make_project(directory: Path, database: dict[str, Any]) -> None:
    site = directory / "benchsite"
    site.mkdir(parents=True, exist_ok=True)
    (site / "__init__.py").write_text("")
    (site / "settings.py").write_text(f"DATABASE = {database!r}\n" + SETTINGS)
    (site / "urls.py").write_text(URLS)
    (directory / "manage.py").write_text(MANAGE)


def timed(
    cmd: list[str], env: dict[str, str], cwd: Path
) -> tuple[float, subprocess.CompletedProcess[str]]:
    start = time.perf_counter()
    result = run(cmd, env=env, cwd=cwd)
    return time.perf_counter() - start, result


def median_run(
    label: str, cmd: list[str], env: dict[str, str], cwd: Path, repeat: int
) -> tuple[float, subprocess.CompletedProcess[str]]:
    times = []
    last: subprocess.CompletedProcess[str] | None = None
    for _ in range(repeat):
        seconds, last = timed(cmd, env, cwd)
        times.append(seconds)
    assert last is not None
    value = statistics.median(times)
    log(f"  {label}: {value:.2f} s (median of {repeat}: {', '.join(f'{t:.2f}' for t in times)})")
    return value, last


def parse_dml(output: str) -> tuple[dict[str, set[str]], set[str], int]:
    """(migration -> categories flagged, migrations it could not lint, migrations seen)."""
    found: dict[str, set[str]] = {}
    current = None
    seen = 0
    for line in output.splitlines():
        head = re.match(r"^\((\w+), (\w+)\)\.\.\. (.*)$", line)
        if head:
            seen += 1
            current = f"{head.group(1)}.{head.group(2)}"
            continue
        if current and line.startswith("\t"):
            for needle, category, _rules in DML_CATEGORIES:
                if needle in line:
                    found.setdefault(current, set()).add(category)
                    break
    failed = set()
    for match in re.finditer(r"sqlmigrate on \((\w+), (\w+)\)", output):
        failed.add(f"{match.group(1)}.{match.group(2)}")
    return found, failed, seen


def explain(
    dml: dict[str, set[str]],
    dml_failed: set[str],
    headroom: dict[str, Any],
    replaced_by: dict[str, str],
) -> list[str]:
    """Every difference between the two tools' findings, one line each, with its reason."""
    linted_by_dml_apps = {"admin", "auth", "contenttypes", "sessions"}
    ours: dict[str, dict[str, str]] = {}
    for f in headroom["findings"]:
        if f["severity"] == "info":
            continue
        ours.setdefault(f["migration"], {})[f["rule"]] = f["message"]
    lines = []
    migrations = sorted(set(dml) | set(ours) | dml_failed)
    for migration in migrations:
        app = migration.split(".")[0]
        if migration in replaced_by:
            squashed = replaced_by[migration]
            found = ", ".join(sorted(dml.get(migration, set()))) or "nothing"
            if migration in dml_failed:
                found = "sqlmigrate failed"
            verdict = ", ".join(sorted(ours.get(squashed, {}))) or "clean"
            lines.append(
                f"  {migration}: django-migration-linter: {found}; headroom does not lint it "
                f"on its own: it is replaced by {squashed}, which migrate applies instead on a "
                f"new database and headroom lints ({verdict})."
            )
            continue
        if app in linted_by_dml_apps:
            rules = ", ".join(sorted(ours.get(migration, {})))
            lines.append(
                f"  {migration}: headroom {rules}; django-migration-linter skips Django's "
                "own apps (admin, auth, contenttypes, sessions) by design."
            )
            continue
        theirs = dml.get(migration, set())
        mine = ours.get(migration, {})
        if migration in dml_failed:
            lines.append(
                f"  {migration}: django-migration-linter could not run sqlmigrate on it "
                "(it needs the database's introspection to generate the SQL) and judged "
                f"nothing; headroom judged it from the state: {', '.join(sorted(mine)) or 'clean'}."
            )
            continue
        matched_rules: set[str] = set()
        for category in sorted(theirs):
            rules = next(r for _n, c, r in DML_CATEGORIES if c == category)
            hit = rules & set(mine)
            if hit:
                matched_rules |= hit
                continue
            lines.append(
                f"  {migration}: only django-migration-linter ({category}): "
                f"{WHY_ONLY_DML.get(category, 'no equivalent headroom rule.')}"
            )
        for rule in sorted(set(mine) - matched_rules):
            if any(rule in r for _n, c, r in DML_CATEGORIES if c in theirs):
                continue
            lines.append(
                f"  {migration}: only headroom {rule}: {mine[rule]} "
                f"[{WHY_ONLY_HEADROOM.get(rule, 'no equivalent django-migration-linter check.')}]"
            )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--venv", type=Path, help="Reuse (or create and keep) this virtualenv.")
    parser.add_argument(
        "--sqlite", action="store_true", help="Use SQLite even if PostgreSQL is up."
    )
    args = parser.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="headroom-bench-"))
    venv = args.venv or work / "venv"
    dbname = None
    try:
        python = make_venv(venv)
        if postgres_up() and not args.sqlite:
            dbname = f"headroom_bench_{uuid.uuid4().hex[:8]}"
            postgres_admin(python, f"CREATE DATABASE {dbname}", check=True)
            database = {
                "ENGINE": "django.db.backends.postgresql",
                "NAME": dbname,
                "USER": "postgres",
                "HOST": "127.0.0.1",
                "PORT": "5432",
            }
        else:
            database = {"ENGINE": "django.db.backends.sqlite3", "NAME": str(work / "db.sqlite3")}
        project = work / "project"
        make_project(project, database)
        env = {
            **{
                k: v
                for k, v in os.environ.items()
                if k not in ("DJANGO_SETTINGS_MODULE", "PYTHONPATH")
            },
            "DJANGO_SETTINGS_MODULE": "benchsite.settings",
            "PYTHONPATH": f"{project}{os.pathsep}{ROOT / 'src'}",
        }
        log(
            f"database: {database['ENGINE'].rsplit('.', 1)[-1]}; migrating it once for "
            "django-migration-linter (not timed)"
        )
        migrate = run([str(python), "manage.py", "migrate", "-v", "0"], env=env, cwd=project)
        if migrate.returncode != 0:
            raise SystemExit(f"migrate failed:\n{migrate.stderr[-3000:]}")

        log("django-migration-linter without --ignore-sqlmigrate-errors:")
        strict = run(
            [str(python), "manage.py", "lintmigrations", "--no-cache"], env=env, cwd=project
        )
        last_error = (strict.stderr.strip().splitlines() or ["(no error)"])[-1]
        log(f"  exit {strict.returncode}; stops with: {last_error[:200]}")

        log(f"timing ({args.repeat} runs each):")
        startup, _ = median_run(
            "Python + django.setup() alone",
            [str(python), "-c", "import django; django.setup()"],
            env,
            project,
            args.repeat,
        )
        ours_whole, ours = median_run(
            "headroom lint-migrations (whole process)",
            [str(python), "-m", "headroom", "lint-migrations", "--format", "json"],
            env,
            project,
            args.repeat,
        )
        theirs_whole, theirs = median_run(
            "manage.py lintmigrations --ignore-sqlmigrate-errors (whole process)",
            [
                str(python),
                "manage.py",
                "lintmigrations",
                "--no-cache",
                "--ignore-sqlmigrate-errors",
            ],
            env,
            project,
            args.repeat,
        )
        phase_script = work / "phase.py"
        phase_script.write_text(PHASE)
        phases: dict[str, list[float]] = {"headroom": [], "dml": []}
        counts: dict[str, int] = {}
        for _ in range(args.repeat):
            for tool in phases:
                result = run([str(python), str(phase_script), tool], env=env, cwd=project)
                if result.returncode != 0:
                    raise SystemExit(f"{tool} lint phase failed:\n{result.stderr[-3000:]}")
                data = json.loads(result.stdout.strip().splitlines()[-1])
                phases[tool].append(data["seconds"])
                counts[tool] = data["migrations"]
        ours_phase = statistics.median(phases["headroom"])
        theirs_phase = statistics.median(phases["dml"])
        log(f"  headroom lint phase: {ours_phase:.3f} s over {counts['headroom']} migrations")
        log(
            f"  django-migration-linter lint phase: {theirs_phase:.3f} s "
            f"over {counts['dml']} migrations"
        )

        report = json.loads(ours.stdout)
        dml, dml_failed, seen = parse_dml(theirs.stdout + theirs.stderr)
        replacements_script = work / "replacements.py"
        replacements_script.write_text(REPLACEMENTS)
        squashes = json.loads(
            run([str(python), str(replacements_script)], env=env, cwd=project).stdout
        )
        replaced_by = {old: new for new, olds in squashes.items() for old in olds}
        errors = report["summary"]["errors"]
        warnings = report["summary"]["warnings"]
        log("")
        flagged = {f["migration"] for f in report["findings"] if f["severity"] != "info"}
        log(
            f"findings: headroom linted {report['summary']['migrations']} migrations "
            f"(every app), {errors} error(s) and {warnings} warning(s) in "
            f"{len(flagged)} migration(s); django-migration-linter linted {seen}, "
            f"flagged {len(dml)}, could not lint {len(dml_failed)}."
        )
        log("differences, each explained:")
        log(
            f"  (headroom lints the graph migrate applies to a new database: "
            f"{len(squashes)} squashed migration(s) stand for the {len(replaced_by)} they "
            "replace; django-migration-linter lints every file, both kinds, and leaves out "
            "admin, auth, contenttypes and sessions.)"
        )
        for line in explain(dml, dml_failed, report, replaced_by) or ["  none"]:
            log(line)
        log("")
        log(f"Django start-up with these apps: {startup:.2f} s of each whole-process run.")
        log(
            f"ratio lint phase: {theirs_phase / ours_phase:.1f}x faster "
            f"(django-migration-linter {theirs_phase:.3f} s / headroom {ours_phase:.3f} s)"
        )
        log(
            f"ratio whole process: {theirs_whole / ours_whole:.1f}x faster "
            f"(django-migration-linter {theirs_whole:.2f} s / headroom {ours_whole:.2f} s)"
        )
        return 0
    finally:
        if dbname:
            postgres_admin(
                venv / "bin" / "python", f"DROP DATABASE IF EXISTS {dbname} WITH (FORCE)"
            )
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
