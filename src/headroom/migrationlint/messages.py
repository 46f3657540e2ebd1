"""Every migration-lint rule, keyed by its id: the one file to read them all.

Ids are stable and never reused. Each rule has:

``title``     a short name (also the SARIF rule name and the docs page heading);
``severity``  "error", "warning" or "info" before table sizes are known;
``category``  compatibility (old code on the new schema), locks (PostgreSQL), data
              (RunPython), rollback, phases, meta (the linter's own bookkeeping);
``vendor``    "any", or "postgresql" when the rule is about PostgreSQL's locks;
``graded``    whether a known table size changes the severity: a lock on a small table is
              an info, on a large one an error (``large`` names that severity);
``message``   one line, a ``str.format`` template filled with the real app, model, table and
              column (``{table}``, ``{column}``, ``{model}``, ``{field}``, ...);
``fix``       the safe alternative as code ready to paste, a template filled the same way;
``why``       one paragraph for ``--explain``, SARIF and the docs.

Values common to every template: ``app_label``, ``migration`` ("shop.0002_x"),
``migration_name``, and, for operations on a model, ``model`` (class name), ``model_name``
(lower case), ``table``; for a field ``field``, ``column``. ``table_sql``/``column_sql`` are
quoted for the target database.
"""

from __future__ import annotations

from typing import Literal, TypedDict

Severity = Literal["error", "warning", "info"]
Category = Literal["compatibility", "locks", "data", "rollback", "phases", "meta"]


class RuleSpec(TypedDict, total=False):
    title: str
    severity: Severity
    category: Category
    vendor: Literal["any", "postgresql"]
    graded: bool
    large: Severity
    phase: Literal["expand", "contract"]
    message: str
    fix: str
    why: str


_TWO_RELEASE_DROP = """\
# Release 1, shipped with the code that stops using {model}.{field}: forget the field in
# Django's state only. The column stays, so the code still running keeps working.
{make_nullable}migrations.SeparateDatabaseAndState(
    state_operations=[
        migrations.RemoveField(model_name="{model_name}", name="{field}"),
    ],
),

# Release 2, a later deploy, once no running code reads {table}.{column}:
migrations.RunSQL(
    'ALTER TABLE {table_sql} DROP COLUMN {column_sql}',
    reverse_sql='ALTER TABLE {table_sql} ADD COLUMN {column_sql} {column_type} NULL',
),"""

RULES: dict[str, RuleSpec] = {
    # --- compatibility: the code still running must work on the new schema ---------------
    "HR101": {
        "title": "drop-column",
        "severity": "error",
        "category": "compatibility",
        "vendor": "any",
        "phase": "contract",
        "message": "{migration} drops column {table}.{column} ({model}.{field}) while the "
        "running code still selects it.",
        "fix": _TWO_RELEASE_DROP,
        "why": "During a deploy the old release keeps serving requests, and Django selects "
        "every column a model declares. The moment the column is gone every query on the "
        "model fails, and a rollback of the code cannot bring it back. Remove the field from "
        "the model (state only) in one release and drop the column in a later one.",
    },
    "HR102": {
        "title": "drop-table",
        "severity": "error",
        "category": "compatibility",
        "vendor": "any",
        "phase": "contract",
        "message": "{migration} drops table {table} ({model}) while the running code still "
        "uses it.",
        "fix": """\
# Release 1, shipped with the code that no longer uses {model}: forget it in Django's state.
migrations.SeparateDatabaseAndState(
    state_operations=[migrations.DeleteModel(name="{model}")],
),

# Release 2, a later deploy: drop the table (take a backup first; the rows are gone).
migrations.RunSQL(
    'DROP TABLE {table_sql}',
    reverse_sql=migrations.RunSQL.noop,
),""",
        "why": "The release that is still running during the deploy queries the table; "
        "dropping it turns every one of those requests into a 500, and rolling the code back "
        "does not bring the table back.",
    },
    "HR103": {
        "title": "rename-column",
        "severity": "error",
        "category": "compatibility",
        "vendor": "any",
        "phase": "contract",
        "message": "{migration} renames column {table}.{old_column} to {column}: the running "
        "code still uses the old name.",
        "fix": """\
# Rename the attribute in Django only; the column keeps its name, so old and new code agree.
# In models.py give the field db_column="{old_column}", and migrate with:
migrations.SeparateDatabaseAndState(
    state_operations=[
        migrations.RenameField(
            model_name="{model_name}", old_name="{old_field}", new_name="{field}"
        ),
        migrations.AlterField(
            model_name="{model_name}",
            name="{field}",
            field={field_code_keep_column},
        ),
    ],
),""",
        "why": "Old code selects and writes the old column name; after the rename every one "
        "of its queries on the table fails until the new code is everywhere. A column name "
        "is an implementation detail: keep it and rename the Python attribute only.",
    },
    "HR104": {
        "title": "rename-table",
        "severity": "error",
        "category": "compatibility",
        "vendor": "any",
        "phase": "contract",
        "message": "{migration} renames table {old_table} to {table}: the running code still "
        "uses the old name.",
        "fix": """\
# Keep the table name and rename only the Python class: in models.py give the model
# class Meta: db_table = "{old_table}", and migrate with:
migrations.SeparateDatabaseAndState(
    state_operations=[
        {state_operation}
        migrations.AlterModelTable(name="{model_name}", table="{old_table}"),
    ],
),

# Or, on PostgreSQL, rename it and leave an updatable view under the old name for the old
# code; drop the view in a later release.
migrations.RunSQL(
    'ALTER TABLE "{old_table}" RENAME TO "{table}"; '
    'CREATE VIEW "{old_table}" AS SELECT * FROM "{table}"',
    reverse_sql='DROP VIEW "{old_table}"; ALTER TABLE "{table}" RENAME TO "{old_table}"',
    state_operations=[{state_operation_inline}],
),""",
        "why": "Every query of the release still running names the old table. Renaming it "
        "breaks all of them at once until the deploy finishes, and a rollback of the code "
        "meets a table it does not know.",
    },
    "HR105": {
        "title": "add-not-null-column-without-database-default",
        "severity": "error",
        "category": "compatibility",
        "vendor": "any",
        "phase": "expand",
        "message": "{migration} adds NOT NULL column {table}.{column} without a database "
        "default: inserts by the running code will fail.",
        "fix": """\
migrations.AddField(
    model_name="{model_name}",
    name="{field}",
    field={field_code_safe},
),""",
        "why": "Django's `default=` lives in Python: the migration uses it to fill existing "
        "rows, then drops it from the column. The release still running does not know the "
        "column and inserts rows without it, which a NOT NULL column without a database "
        "default refuses. `db_default=` keeps the default in the database (PostgreSQL 11+ "
        "adds it without rewriting the table); a nullable column works too.",
    },
    "HR106": {
        "title": "set-not-null",
        "severity": "error",
        "category": "compatibility",
        "vendor": "any",
        "phase": "contract",
        "message": "{migration} makes {table}.{column} NOT NULL: running code may still "
        "write NULL, and PostgreSQL scans the whole table under an ACCESS EXCLUSIVE lock.",
        "fix": """\
# Release 1, once every writer sets {model}.{field}: a CHECK constraint, not validated (instant)
from django.contrib.postgres.operations import AddConstraintNotValid, ValidateConstraint

AddConstraintNotValid(
    model_name="{model_name}",
    constraint=models.CheckConstraint(
        condition=models.Q({field}__isnull=False), name="{constraint}"
    ),
),

# Release 1, a separate migration: validate (reads and writes go on meanwhile)
ValidateConstraint(model_name="{model_name}", name="{constraint}"),

# Release 2: set NOT NULL (PostgreSQL 12+ trusts the valid constraint and skips the scan),
# then drop the helper constraint.
migrations.AlterField(model_name="{model_name}", name="{field}", field={field_code}),
migrations.RemoveConstraint(model_name="{model_name}", name="{constraint}"),""",
        "why": "Code that is still running may insert or update the column with NULL and "
        "will then fail. On PostgreSQL, `SET NOT NULL` also reads every row while holding "
        "an ACCESS EXCLUSIVE lock, which blocks reads and writes for as long as the scan "
        "takes.",
    },
    "HR107": {
        "title": "change-column-type",
        "severity": "error",
        "category": "compatibility",
        "vendor": "any",
        "phase": "contract",
        "message": "{migration} changes {table}.{column} from {old_type} to {new_type}, "
        "which is not a safe widening: values the running code writes may be refused.",
        "fix": """\
# Add a new column next to the old one, write both from the code, backfill in batches,
# switch reads, then drop the old column in a later release (see HR101):
migrations.AddField(
    model_name="{model_name}",
    name="{field}_new",
    field={new_field_code_nullable},
),""",
        "why": "Narrowing a type (a shorter varchar, fewer digits, another type altogether) "
        "means values the old code writes can be rejected or silently cut. The safe changes "
        "are widenings: a longer varchar, varchar to text, more numeric precision at the "
        "same scale, a wider integer (which still rewrites the table on PostgreSQL: HR208).",
    },
    "HR108": {
        "title": "change-primary-key",
        "severity": "error",
        "category": "compatibility",
        "vendor": "any",
        "phase": "contract",
        "message": "{migration} changes the primary key of {table} ({model}) to {column}.",
        "fix": """\
# Keep the primary key. Make {column} unique without locking the table instead
# (migration with atomic = False):
migrations.RunSQL(
    'CREATE UNIQUE INDEX CONCURRENTLY "{index_name}" ON {table_sql} ({column_sql})',
    reverse_sql='DROP INDEX CONCURRENTLY IF EXISTS "{index_name}"',
),""",
        "why": "Old code looks rows up, links them and caches them by the old key, and every "
        "foreign key pointing at the table has to be rebuilt: the change rewrites this table "
        "and the referencing ones under exclusive locks.",
    },
    "HR109": {
        "title": "drop-database-default",
        "severity": "error",
        "category": "compatibility",
        "vendor": "any",
        "phase": "contract",
        "message": "{migration} removes the database default of NOT NULL column "
        "{table}.{column}: inserts by running code that rely on it will fail.",
        "fix": """\
# Keep the database default until no running code inserts without {model}.{field};
# drop it in a later release:
migrations.AlterField(
    model_name="{model_name}",
    name="{field}",
    field={old_field_code},
),""",
        "why": "Code that does not set the column, the old release among it, relies on the "
        "database to fill it in. Without the default those inserts violate NOT NULL.",
    },
    "HR110": {
        "title": "state-removal-leaves-required-column",
        "severity": "error",
        "category": "compatibility",
        "vendor": "any",
        "phase": "expand",
        "message": "{migration} removes {model}.{field} from Django's state but "
        "{table}.{column} stays NOT NULL without a database default: inserts by the new "
        "code will fail.",
        "fix": """\
# Before removing the field from the state, let the database fill the column in:
migrations.AlterField(
    model_name="{model_name}",
    name="{field}",
    field={field_code_nullable},
),""",
        "why": "Once the field is gone from the model, Django stops writing the column. A "
        "column that is still NOT NULL without a database default then refuses every new "
        "row until the column is finally dropped.",
    },
    # --- locks: PostgreSQL statements that block reads or writes --------------------------
    "HR201": {
        "title": "create-index-without-concurrently",
        "severity": "error",
        "category": "locks",
        "vendor": "postgresql",
        "graded": True,
        "large": "error",
        "phase": "expand",
        "message": "{migration} builds index {index_name} on existing table {table} without "
        "CONCURRENTLY: writes to {table} are blocked until it is built.",
        "fix": """\
# In a migration of its own (CONCURRENTLY cannot run in a transaction):
from django.contrib.postgres.operations import AddIndexConcurrently

class Migration(migrations.Migration):
    atomic = False
    dependencies = [...]
    operations = [
        {before}AddIndexConcurrently(
            model_name="{model_name}",
            index={index_code},
        ),
    ]""",
        "why": "CREATE INDEX takes a SHARE lock: reads go on, but every INSERT, UPDATE and "
        "DELETE waits until the whole table has been read and sorted. CREATE INDEX "
        "CONCURRENTLY builds it while writes continue.",
    },
    "HR202": {
        "title": "drop-index-without-concurrently",
        "severity": "warning",
        "category": "locks",
        "vendor": "postgresql",
        "graded": True,
        "large": "error",
        "phase": "expand",
        "message": "{migration} drops index {index_name} on {table} without CONCURRENTLY: "
        "it waits for, and then blocks, every query on {table}.",
        "fix": """\
from django.contrib.postgres.operations import RemoveIndexConcurrently

class Migration(migrations.Migration):
    atomic = False
    dependencies = [...]
    operations = [
        RemoveIndexConcurrently(model_name="{model_name}", name="{index_name}"),
    ]""",
        "why": "DROP INDEX takes an ACCESS EXCLUSIVE lock on the table. It is quick once "
        "granted, but it queues behind any long query, and every query queues behind it.",
    },
    "HR203": {
        "title": "concurrently-in-atomic-migration",
        "severity": "error",
        "category": "locks",
        "vendor": "postgresql",
        "phase": "expand",
        "message": "{migration} runs {what} CONCURRENTLY inside a transaction: PostgreSQL "
        "refuses it and the migration fails.",
        "fix": """\
class Migration(migrations.Migration):
    atomic = False  # CONCURRENTLY cannot run inside a transaction
    # Keep this migration to the concurrent operation alone: without a transaction, a
    # failure half-way leaves the other operations applied.""",
        "why": "CREATE/DROP INDEX CONCURRENTLY cannot run inside a transaction block, and "
        "Django wraps each migration in one unless the migration says `atomic = False`.",
    },
    "HR204": {
        "title": "unique-constraint-without-index",
        "severity": "error",
        "category": "locks",
        "vendor": "postgresql",
        "graded": True,
        "large": "error",
        "phase": "contract",
        "message": "{migration} adds unique constraint {constraint} on {table} "
        "({columns}) by building its index under a lock that blocks writes.",
        "fix": """\
# Migration 1 (atomic = False): build the unique index without blocking writes.
migrations.RunSQL(
    'CREATE UNIQUE INDEX CONCURRENTLY "{index_name}" ON {table_sql} ({columns_sql})',
    reverse_sql='DROP INDEX CONCURRENTLY IF EXISTS "{index_name}"',
),

# Migration 2: attach the ready index as the constraint (instant), and tell Django.
migrations.SeparateDatabaseAndState(
    database_operations=[
        migrations.RunSQL(
            'ALTER TABLE {table_sql} ADD CONSTRAINT "{constraint}" '
            'UNIQUE USING INDEX "{index_name}"',
            reverse_sql='ALTER TABLE {table_sql} DROP CONSTRAINT "{constraint}"',
        ),
    ],
    state_operations=[
        {state_operation}
    ],
),""",
        "why": "A unique constraint is backed by an index, and building it inside ALTER "
        "TABLE blocks writes for the whole build. Old code may also still write duplicates, "
        "which the constraint then refuses. Build the index CONCURRENTLY, then attach it.",
    },
    "HR205": {
        "title": "foreign-key-without-not-valid",
        "severity": "warning",
        "category": "locks",
        "vendor": "postgresql",
        "graded": True,
        "large": "error",
        "phase": "expand",
        "message": "{migration} adds foreign key {table}.{column} -> {ref_table} and "
        "validates every row while writes to both tables are blocked.",
        "fix": """\
# Migration 1: the column without its constraint
migrations.AddField(
    model_name="{model_name}",
    name="{field}",
    field={field_code_no_constraint},
),

# Migration 2: the constraint NOT VALID (instant), and Django's state
migrations.SeparateDatabaseAndState(
    database_operations=[
        migrations.RunSQL(
            'ALTER TABLE {table_sql} ADD CONSTRAINT "{constraint}" FOREIGN KEY '
            '({column_sql}) REFERENCES "{ref_table}" ("{ref_column}") '
            'DEFERRABLE INITIALLY DEFERRED NOT VALID',
            reverse_sql='ALTER TABLE {table_sql} DROP CONSTRAINT "{constraint}"',
        ),
    ],
    state_operations=[
        migrations.AlterField(model_name="{model_name}", name="{field}", field={field_code}),
    ],
),

# Migration 3: validate without blocking writes
migrations.RunSQL(
    'ALTER TABLE {table_sql} VALIDATE CONSTRAINT "{constraint}"',
    reverse_sql=migrations.RunSQL.noop,
),""",
        "why": "Adding a foreign key takes SHARE ROW EXCLUSIVE locks on both tables and "
        "checks every existing row before releasing them. Added NOT VALID it is instant; "
        "VALIDATE CONSTRAINT later only takes a lock that lets reads and writes go on.",
    },
    "HR206": {
        "title": "check-constraint-without-not-valid",
        "severity": "error",
        "category": "locks",
        "vendor": "postgresql",
        "graded": True,
        "large": "error",
        "phase": "contract",
        "message": "{migration} adds check constraint {constraint} to {table} and checks "
        "every row under an ACCESS EXCLUSIVE lock.",
        "fix": """\
from django.contrib.postgres.operations import AddConstraintNotValid, ValidateConstraint

# Migration 1: instant; new rows are checked from now on
AddConstraintNotValid(model_name="{model_name}", constraint={constraint_code}),

# Migration 2: check the existing rows while reads and writes go on
ValidateConstraint(model_name="{model_name}", name="{constraint}"),""",
        "why": "ADD CONSTRAINT ... CHECK reads the whole table while holding an ACCESS "
        "EXCLUSIVE lock. With NOT VALID it is instant, and VALIDATE CONSTRAINT in a later "
        "transaction only needs a lock that lets reads and writes continue.",
    },
    "HR207": {
        "title": "volatile-default-rewrites-table",
        "severity": "error",
        "category": "locks",
        "vendor": "postgresql",
        "graded": True,
        "large": "error",
        "phase": "expand",
        "message": "{migration} adds {table}.{column} with the volatile default {default}: "
        "PostgreSQL rewrites the whole table under an ACCESS EXCLUSIVE lock.",
        "fix": """\
# Add the column without a default (instant), then give only new rows the default:
migrations.AddField(
    model_name="{model_name}",
    name="{field}",
    field={field_code_nullable_plain},
),
migrations.AlterField(
    model_name="{model_name}",
    name="{field}",
    field={field_code_nullable},
),
# Backfill the existing rows in batches (headroom.backfill), then make the column NOT NULL
# in a later release (see HR106).""",
        "why": "PostgreSQL 11+ adds a column with a constant default without touching the "
        "rows, but a volatile default (random(), gen_random_uuid(), clock_timestamp()) has to "
        "be computed per row: the table is rewritten while every query on it waits.",
    },
    "HR208": {
        "title": "alter-column-rewrites-table",
        "severity": "error",
        "category": "locks",
        "vendor": "postgresql",
        "graded": True,
        "large": "error",
        "phase": "expand",
        "message": "{migration} changes {table}.{column} from {old_type} to {new_type}: "
        "PostgreSQL rewrites the table and its indexes under an ACCESS EXCLUSIVE lock.",
        "fix": """\
# Add a column of the new type, keep it in sync from the code (or a trigger), backfill in
# batches, then swap the columns in a later release:
migrations.AddField(
    model_name="{model_name}",
    name="{field}_new",
    field={new_field_code_nullable},
),""",
        "why": "Only a few type changes are binary compatible (a longer varchar, varchar to "
        "text, more numeric precision). Any other change, int to bigint included, copies "
        "every row and rebuilds every index while reads and writes wait.",
    },
    "HR209": {
        "title": "missing-lock-timeout",
        "severity": "info",
        "category": "locks",
        "vendor": "postgresql",
        "graded": True,
        "large": "warning",
        "phase": "expand",
        "message": "{migration} takes an ACCESS EXCLUSIVE lock on {table} without a "
        "lock_timeout: if it has to wait, every query on {table} waits behind it.",
        "fix": """\
# First operation of the migration:
migrations.RunSQL("SET lock_timeout = '5s'", reverse_sql="SET lock_timeout = '5s'"),

# Or for every connection, in settings.py:
DATABASES["{alias}"].setdefault("OPTIONS", {{}})["options"] = "-c lock_timeout=5000"
""",
        "why": "An ALTER TABLE waiting for its lock behind a long query blocks every query "
        "that arrives after it, so a one-millisecond change can stall the site for as long "
        "as the slowest transaction. A lock_timeout makes it give up (and the deploy retry) "
        "instead.",
    },
    # --- data migrations -----------------------------------------------------------------
    "HR301": {
        "title": "data-migration-mixed-with-schema-changes",
        "severity": "warning",
        "category": "data",
        "vendor": "any",
        "graded": True,
        "large": "error",
        "phase": "expand",
        "message": "{migration} runs {code_name} in the same migration as schema changes to "
        "{table}: the locks they take are held while the data migration runs.",
        "fix": """\
# Put the data migration in a migration of its own, after the schema change:
class Migration(migrations.Migration):
    dependencies = [("{app_label}", "{migration_name}")]
    operations = [
        migrations.RunPython({code_name}, reverse_code={reverse_name}),
    ]""",
        "why": "A migration is one transaction: the ALTER TABLE locks taken first are only "
        "released when the whole migration commits, so every query on the table waits for "
        "the data migration to finish.",
    },
    "HR302": {
        "title": "data-migration-uses-live-model",
        "severity": "error",
        "category": "data",
        "vendor": "any",
        "phase": "expand",
        "message": "{migration}: {code_name} uses the model class {model_ref} imported from "
        "the code instead of the historical one.",
        "fix": """\
def {code_name}(apps, schema_editor):
    {model} = apps.get_model("{model_app_label}", "{model}")
    ...""",
        "why": "The imported class is today's model. When the migration runs on a database "
        "that is several releases behind, or after the model changes, its fields do not "
        "match the tables and the migration fails or writes the wrong columns.",
    },
    # --- rollback ------------------------------------------------------------------------
    "HR401": {
        "title": "irreversible-data-migration",
        "severity": "warning",
        "category": "rollback",
        "vendor": "any",
        "phase": "expand",
        "message": "{migration}: RunPython({code_name}) has no reverse_code, so the migration "
        "cannot be rolled back.",
        "fix": """\
migrations.RunPython({code_name}, reverse_code=migrations.RunPython.noop),""",
        "why": "Without reverse_code, `migrate {app_label} <previous>` stops with "
        "IrreversibleError, so a bad release cannot be rolled back with its migrations. "
        "When undoing needs no work, say so with RunPython.noop.",
    },
    "HR402": {
        "title": "irreversible-sql",
        "severity": "warning",
        "category": "rollback",
        "vendor": "any",
        "phase": "expand",
        "message": "{migration}: RunSQL has no reverse_sql, so the migration cannot be "
        "rolled back.",
        "fix": """\
migrations.RunSQL(
    {sql_code},
    reverse_sql={reverse_code},
),""",
        "why": "Without reverse_sql Django refuses to migrate backwards past this migration, "
        "so the release cannot be rolled back with its migrations.",
    },
    "HR403": {
        "title": "reverse-readds-required-column",
        "severity": "warning",
        "category": "rollback",
        "vendor": "any",
        "phase": "contract",
        "message": "{migration}: rolling back re-adds {table}.{column} as NOT NULL without a "
        "default, which fails on a table that has rows.",
        "fix": """\
# Make the column nullable before removing it, so that the reverse can re-add it:
migrations.AlterField(
    model_name="{model_name}",
    name="{field}",
    field={field_code_nullable},
),""",
        "why": "The reverse of RemoveField is AddField with the old definition. A NOT NULL "
        "column without a default cannot be added to a table that has rows, so the "
        "rollback stops half-way.",
    },
    "HR404": {
        "title": "reverse-restores-not-null",
        "severity": "info",
        "category": "rollback",
        "vendor": "any",
        "phase": "expand",
        "message": "{migration}: rolling back makes {table}.{column} NOT NULL again, which "
        "fails once a NULL has been written.",
        "fix": """\
migrations.AlterField(...),  # the operation as it is, then, for the rollback:
migrations.RunSQL(
    migrations.RunSQL.noop,
    reverse_sql='''UPDATE {table_sql} SET {column_sql} = {fill_value}
    WHERE {column_sql} IS NULL''',
),""",
        "why": "Allowing NULL is safe going forward, but the reverse sets NOT NULL again and "
        "fails on the rows written meanwhile. Fill them in first, in the reverse direction.",
    },
    # --- phases --------------------------------------------------------------------------
    "HR501": {
        "title": "mixed-expand-and-contract",
        "severity": "error",
        "category": "phases",
        "vendor": "any",
        "phase": "contract",
        "message": "{migration} mixes expand operations ({expand_ops}) with contract "
        "operations ({contract_ops}): it is neither safe before nor after the deploy.",
        "fix": """\
# Split it: the expand operations in one migration, applied before the new code ships;
# the contract operations in a later migration, applied after every server runs it.
# Expand: {expand_ops}
# Contract: {contract_ops}""",
        "why": "Expand operations (add a table, a nullable column, an index) must run before "
        "the new code starts; contract operations (drop, rename, tighten) only after the old "
        "code has stopped. A migration holding both has no safe moment to run.",
    },
    # --- the linter's own bookkeeping ----------------------------------------------------
    "HR901": {
        "title": "invalid-suppression",
        "severity": "error",
        "category": "meta",
        "vendor": "any",
        "phase": "expand",
        "message": "{migration}: headroom_ignore[{key!r}] {problem}",
        "fix": """\
class Migration(migrations.Migration):
    headroom_ignore = {{"HR101": "column unused since release 4.2"}}""",
        "why": "A suppression must name a rule id (optionally `HR101:3` for operation 3) and "
        "say why the finding does not apply, so the next reader knows it was a decision.",
    },
    "HR902": {
        "title": "stale-suppression",
        "severity": "warning",
        "category": "meta",
        "vendor": "any",
        "phase": "expand",
        "message": "{migration}: headroom_ignore[{key!r}] no longer matches any finding.",
        "fix": """\
# Remove the entry from headroom_ignore:
headroom_ignore = {{{remaining}}}""",
        "why": "A suppression that matches nothing hides nothing today but will silently hide "
        "a real problem added to the migration later.",
    },
    "HR903": {
        "title": "sql-not-parsed",
        "severity": "info",
        "category": "meta",
        "vendor": "any",
        "phase": "expand",
        "message": "{migration}: a RunSQL statement could not be parsed ({problem}), so no "
        "rule judged it.",
        "fix": """\
# Review it by hand, then record the decision:
headroom_ignore = {{"HR903": "reviewed: <why it is safe>"}}""",
        "why": "The linter reads RunSQL with PostgreSQL's own parser; statements in another "
        "dialect or built at run time cannot be judged.",
    },
    "HR904": {
        "title": "state-replay-failed",
        "severity": "warning",
        "category": "meta",
        "vendor": "any",
        "phase": "expand",
        "message": "{migration}: replaying operation {operation_index} ({operation}) failed "
        "({problem}); later findings on this app may be off.",
        "fix": """\
# Check that `python manage.py makemigrations --check` passes and that this migration
# applies on a fresh database.""",
        "why": "The linter judges each operation against the model state just before it; "
        "when an operation cannot be replayed, that state is a guess from there on.",
    },
}

SEVERITIES: tuple[Severity, ...] = ("error", "warning", "info")


def docs_path(rule_id: str) -> str:
    """The rule's documentation page, relative to the repository root."""
    return f"docs/migrationlint/{rule_id}.md"
