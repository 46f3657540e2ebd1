"""Indexes as Django code: the ``Meta.indexes`` entry, the migration operation, the file.

Advice is given as the change a Django developer makes, not as raw DDL: the line for the
model's ``Meta.indexes`` and a migration that builds the index without blocking writes
(``AddIndexConcurrently`` on PostgreSQL, in a non-atomic migration).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from headroom.indexes.candidates import Candidate


def model_for_table(table: str) -> Any:
    from django.apps import apps

    for model in apps.get_models(include_auto_created=True):
        if model._meta.db_table == table:
            return model
    return None


def field_for_column(model: Any, column: str) -> Any:
    for f in model._meta.concrete_fields:
        if f.column == column:
            return f
    return None


def index_name(candidate: Candidate) -> str:
    """A Django-style index name (at most 30 characters), stable for the same index."""
    from django.db.backends.utils import names_digest, split_identifier

    _, table = split_identifier(candidate.table)
    columns = list(candidate.key_columns)
    hash_data = [
        table,
        *(
            ("-" if d else "") + c
            for c, d in zip(candidate.columns, candidate.descending, strict=True)
        ),
    ]
    if candidate.expression:
        hash_data.append(candidate.expression[0])
    if candidate.condition is not None:
        hash_data.append(candidate.condition.sql)
    if candidate.method != "btree":
        hash_data.append(candidate.method)
    suffix = "gin" if candidate.method == "gin" else "idx"
    first = columns[0] if columns else "all"
    return f"{table[:11]}_{first[:7]}_{names_digest(*hash_data, length=6)}_{suffix}"


@dataclass
class DjangoIndex:
    """How one candidate reads in Django."""

    model: Any  # the model class, or None for a table no model declares
    expression: str  # models.Index(fields=[...], name="...")
    imports: list[str] = field(default_factory=list)

    @property
    def label(self) -> str | None:
        if self.model is None:
            return None
        return f"{self.model._meta.app_label}.{self.model.__name__}"


def _field_name(model: Any, column: str) -> str:
    found = field_for_column(model, column) if model is not None else None
    return str(found.name) if found is not None else column


def django_index(candidate: Candidate, name: str) -> DjangoIndex:
    model = model_for_table(candidate.table)
    imports = ["from django.db import models"]
    condition = ""
    if candidate.condition is not None:
        cond = candidate.condition
        lookup = cond.lookup.replace(cond.column, _field_name(model, cond.column), 1)
        condition = f", condition=models.Q({lookup}={cond.value!r})"
    if candidate.expression:
        func, column = candidate.expression
        func_name = func.capitalize()
        imports.append(f"from django.db.models.functions import {func_name}")
        inner = f"{func_name}({_field_name(model, column)!r})"
        if candidate.method == "gin":
            imports.append("from django.contrib.postgres.indexes import GinIndex, OpClass")
            text = (
                f"GinIndex(OpClass({inner}, name={candidate.opclass!r}), name={name!r}{condition})"
            )
        else:
            text = f"models.Index({inner}, name={name!r}{condition})"
    else:
        fields = [
            ("-" if d else "") + _field_name(model, c)
            for c, d in zip(candidate.columns, candidate.descending, strict=True)
        ]
        text = f"models.Index(fields={fields!r}, name={name!r}{condition})"
    return DjangoIndex(model, text, imports)


def operation(index: DjangoIndex, vendor: str) -> str:
    model_name = index.model._meta.model_name if index.model is not None else "?"
    op = "AddIndexConcurrently" if vendor == "postgresql" else "migrations.AddIndex"
    return f"{op}(model_name={model_name!r}, index={index.expression})"


def fix_text(index: DjangoIndex, vendor: str) -> str:
    """What to paste: the Meta line, then the migration."""
    if index.model is None:
        return (
            f"No model declares this table; add the index in a migration:\n    {index.expression}"
        )
    name = index.model.__name__
    lines = [
        f"Add the index to {name}.Meta:",
        "    class Meta:",
        f"        indexes = [{index.expression}]",
    ]
    if vendor == "postgresql":
        lines += [
            "and build it without blocking writes, in its own migration "
            "(headroom indexes --write-migration writes it):",
            "    from django.contrib.postgres.operations import AddIndexConcurrently",
            "    class Migration(migrations.Migration):",
            "        atomic = False",
            f"        operations = [{operation(index, vendor)}]",
        ]
    else:
        lines.append(f"then: python manage.py makemigrations {index.model._meta.app_label}")
    return "\n".join(lines)


def migration_source(
    app_label: str, dependencies: list[tuple[str, str]], indexes: list[DjangoIndex], vendor: str
) -> str:
    """A migration module adding ``indexes`` (all on models of ``app_label``)."""
    from headroom import __version__

    imports = {"from django.db import migrations, models"}
    extra_ops: list[str] = []
    for index in indexes:
        imports.update(i for i in index.imports if i != "from django.db import models")
        if "GinIndex" in index.expression and vendor == "postgresql":
            imports.add("from django.contrib.postgres.operations import TrigramExtension")
            if "        TrigramExtension()," not in extra_ops:
                extra_ops.append("        TrigramExtension(),")
    if vendor == "postgresql":
        imports.add("from django.contrib.postgres.operations import AddIndexConcurrently")
    ops = extra_ops + [f"        {operation(index, vendor)}," for index in indexes]
    deps = "".join(f"        ({a!r}, {n!r}),\n" for a, n in dependencies)
    atomic = (
        "    # CREATE INDEX CONCURRENTLY cannot run inside a transaction.\n    atomic = False\n\n"
        if vendor == "postgresql"
        else ""
    )
    return (
        f"# Written by django-headroom {__version__} (headroom indexes --write-migration):\n"
        "# indexes proven by the planner to serve the recorded workload. Add the same\n"
        "# entries to the models' Meta.indexes so makemigrations stays quiet.\n\n"
        + "\n".join(sorted(imports))
        + "\n\n\nclass Migration(migrations.Migration):\n"
        + atomic
        + "    dependencies = [\n"
        + deps
        + "    ]\n\n    operations = [\n"
        + "\n".join(ops)
        + "\n    ]\n"
    )


def write_migrations(indexes: list[DjangoIndex], vendor: str) -> list[Path]:
    """Write one migration per app into its migrations package; return their paths."""
    import importlib

    from django.db.migrations.loader import MigrationLoader

    loader = MigrationLoader(None, ignore_no_migrations=True)
    by_app: dict[str, list[DjangoIndex]] = {}
    for index in indexes:
        if index.model is not None:
            by_app.setdefault(index.model._meta.app_label, []).append(index)
    written = []
    for app_label, app_indexes in sorted(by_app.items()):
        module_name, _ = loader.migrations_module(app_label)
        if module_name is None:
            continue
        module = importlib.import_module(module_name)
        directory = Path(next(iter(module.__path__)))
        leaves = loader.graph.leaf_nodes(app_label)
        numbers = [int(n[:4]) for _, n in leaves if n[:4].isdigit()]
        number = max(numbers, default=0) + 1
        path = directory / f"{number:04d}_headroom_indexes.py"
        path.write_text(migration_source(app_label, leaves, app_indexes, vendor))
        written.append(path)
    return written
