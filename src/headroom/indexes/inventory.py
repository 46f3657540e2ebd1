"""The index inventory: indexes that cost every write and serve no read.

- unused: no scan since the statistics were last reset, on the primary and on every replica
  ``DATABASES`` lists (a replica's reads count: an index only replicas use is not unused),
  at least ``min_size_bytes`` big, and not backing a primary key, unique or exclusion
  constraint;
- duplicate: the same columns as another index of the table, or a plain btree whose columns
  are a leading prefix of another's (``(queue_id)`` next to ``(queue_id, created_at)``);
- invalid: left behind by a failed ``CREATE INDEX CONCURRENTLY``; never used, still written.

Each is mapped to what declares it in Django: a ``Meta.indexes`` entry (fix: remove it,
``RemoveIndexConcurrently``), a field's ``db_index`` / foreign key index (fix:
``db_index=False``), the ``_like`` index Django adds beside a text field's index, or nothing
(created by hand or ``RunSQL``). With hypopg's ``hypopg_hide_index`` (hypopg 1.4+), or with
``allow_build`` on a non-production database (the index dropped inside a transaction that
is rolled back), the recorded workload is planned without the index to show nothing gets
slower. PostgreSQL only; on other databases the inventory reports nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from headroom.indexes.djangocode import field_for_column, model_for_table

#: Unused indexes smaller than this are not worth a migration.
MIN_SIZE_BYTES = 1024 * 1024

_INDEXES = """
SELECT c.relname, i.relname, ix.indisunique, ix.indisprimary, ix.indisvalid,
       pg_relation_size(i.oid), ix.indexrelid,
       ARRAY(SELECT a.attname FROM unnest(ix.indkey) WITH ORDINALITY k(attnum, n)
             JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum
             ORDER BY k.n),
       ix.indexprs IS NOT NULL, ix.indpred IS NOT NULL, am.amname,
       EXISTS (SELECT 1 FROM pg_constraint con WHERE con.conindid = ix.indexrelid),
       pg_get_indexdef(ix.indexrelid), ix.indoption::text
FROM pg_index ix
JOIN pg_class i ON i.oid = ix.indexrelid
JOIN pg_class c ON c.oid = ix.indrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_am am ON am.oid = i.relam
WHERE n.nspname = current_schema() AND c.relkind = 'r'
ORDER BY c.relname, i.relname
"""


@dataclass
class IndexInfo:
    table: str
    name: str
    unique: bool
    primary: bool
    valid: bool
    size: int
    oid: int
    columns: list[str]
    expression: bool
    partial: bool
    method: str
    constraint: bool
    definition: str
    options: str
    scans: int = 0

    @property
    def plain(self) -> bool:
        # An operator class (varchar_pattern_ops: Django's "_like" index) serves other
        # lookups than the plain index on the same column: never a duplicate of it.
        return (
            self.method == "btree"
            and not self.expression
            and not self.partial
            and "_ops" not in self.definition
        )


@dataclass
class Problem:
    kind: str  # "unused", "duplicate", "invalid"
    table: str
    index: str
    size: int
    reason: str
    declared_by: str
    fix: str
    model: str | None = None
    field: str | None = None
    proof: str | None = None

    @property
    def size_text(self) -> str:
        for unit, div in (("GB", 1 << 30), ("MB", 1 << 20), ("kB", 1 << 10)):
            if self.size >= div:
                return f"{self.size / div:.1f} {unit}"
        return f"{self.size} bytes"

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "table": self.table,
            "index": self.index,
            "size_bytes": self.size,
            "reason": self.reason,
            "declared_by": self.declared_by,
            "model": self.model,
            "field": self.field,
            "fix": self.fix,
            "proof": self.proof,
        }


@dataclass
class InventoryReport:
    alias: str
    vendor: str
    problems: list[Problem] = field(default_factory=list)
    counted_on: list[str] = field(default_factory=list)
    stats_since: str | None = None
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "alias": self.alias,
            "vendor": self.vendor,
            "counted_on": self.counted_on,
            "stats_since": self.stats_since,
            "problems": [p.to_dict() for p in self.problems],
            "notes": self.notes,
        }


def replicas_of(alias: str) -> list[str]:
    """Aliases that replicate ``alias``: ``TEST["MIRROR"]`` names it, or the same database
    name and engine on another host."""
    from django.conf import settings

    databases: dict[str, Any] = settings.DATABASES
    mine = databases[alias]
    found = []
    for other, config in databases.items():
        if other == alias:
            continue
        if (config.get("TEST") or {}).get("MIRROR") == alias or (
            config.get("ENGINE") == mine.get("ENGINE")
            and config.get("NAME") == mine.get("NAME")
            and (config.get("HOST"), config.get("PORT")) != (mine.get("HOST"), mine.get("PORT"))
        ):
            found.append(other)
    return found


def _read_indexes(alias: str) -> list[IndexInfo]:
    from django.db import connections

    with connections[alias].cursor() as cursor:
        cursor.execute(_INDEXES)
        return [IndexInfo(*row) for row in cursor.fetchall()]


def _scans(alias: str) -> dict[tuple[str, str], int]:
    from django.db import connections

    with connections[alias].cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute("SELECT relname, indexrelname, idx_scan FROM pg_stat_user_indexes")
        return {(t, i): int(n or 0) for t, i, n in cursor.fetchall()}


def _stats_since(alias: str) -> str | None:
    from django.db import connections

    with connections[alias].cursor() as cursor:
        cursor.execute(
            "SELECT COALESCE(stats_reset, pg_postmaster_start_time()) FROM pg_stat_database "
            "WHERE datname = current_database()"
        )
        row = cursor.fetchone()
    return row[0].isoformat(timespec="seconds") if row and row[0] else None


def _declared_by(info: IndexInfo, vendor: str) -> tuple[str, str, str | None, str | None]:
    """(what declares it, the fix, model label, field name)."""
    model = model_for_table(info.table)
    drop = (
        "migrations.RunSQL(\n"
        f"    'DROP INDEX CONCURRENTLY IF EXISTS \"{info.name}\"',\n"
        f"    reverse_sql={info.definition.replace(' INDEX ', ' INDEX CONCURRENTLY ', 1)!r},\n"
        ")  # in a migration with atomic = False"
    )
    if model is None:
        return "no model (the table is not a Django model's)", drop, None, None
    label = f"{model._meta.app_label}.{model.__name__}"
    for index in model._meta.indexes:
        if index.name == info.name:
            op = "RemoveIndexConcurrently" if vendor == "postgresql" else "migrations.RemoveIndex"
            fix = (
                f"Remove the entry from {model.__name__}.Meta.indexes, then in a migration"
                f"{' with atomic = False' if vendor == 'postgresql' else ''}:\n"
                f"    {op}(model_name={model._meta.model_name!r}, name={info.name!r})"
            )
            return f"{label}.Meta.indexes: {info.name}", fix, label, None
    if len(info.columns) == 1:
        found = field_for_column(model, info.columns[0])
        if found is not None and (found.db_index or found.is_relation):
            kind = type(found).__name__
            if info.name.endswith("_like"):
                return (
                    f"{label}.{found.name} ({kind}): the LIKE index Django adds beside its "
                    "index on PostgreSQL",
                    f"Set db_index=False on {model.__name__}.{found.name} (drops both of its "
                    f"indexes), or drop only this one:\n{drop}",
                    label,
                    found.name,
                )
            return (
                f"{label}.{found.name} ({kind}, db_index)",
                f"{model.__name__}.{found.name} = models.{kind}(..., db_index=False)\n"
                f"then: python manage.py makemigrations {model._meta.app_label}",
                label,
                found.name,
            )
    return f"no declaration in {label} (created by RunSQL or by hand)", drop, label, None


def inventory(
    alias: str = "default",
    *,
    workload: Any = None,
    min_size_bytes: int = MIN_SIZE_BYTES,
    allow_build: bool = False,
) -> InventoryReport:
    """The unused, duplicate and invalid indexes of ``alias`` (see the module docstring)."""
    from django.db import DatabaseError, connections

    vendor = connections[alias].vendor
    report = InventoryReport(alias, vendor)
    if vendor != "postgresql":
        report.notes.append(f"the index inventory reads PostgreSQL statistics; {vendor} skipped")
        return report
    indexes = _read_indexes(alias)
    complete = True
    totals: dict[tuple[str, str], int] = {}
    for name in [alias, *replicas_of(alias)]:
        try:
            for key, n in _scans(name).items():
                totals[key] = totals.get(key, 0) + n
            report.counted_on.append(name)
        except DatabaseError as exc:
            complete = False
            report.notes.append(
                f"replica {name!r} could not be read ({str(exc).strip()}): unused indexes are "
                "not reported, since that replica's reads are unknown"
            )
    report.stats_since = _stats_since(alias)
    for info in indexes:
        info.scans = totals.get((info.table, info.name), 0)
    by_table: dict[str, list[IndexInfo]] = {}
    for info in indexes:
        by_table.setdefault(info.table, []).append(info)
    flagged: set[str] = set()
    for info in indexes:
        if not info.valid:
            report.problems.append(
                _problem(
                    "invalid",
                    info,
                    "invalid (a failed CREATE INDEX CONCURRENTLY): "
                    "never used for reads, still updated on every write",
                    vendor,
                )
            )
            flagged.add(info.name)
    for infos in by_table.values():
        for info in infos:
            if info.name in flagged or info.constraint or info.primary or not info.plain:
                continue
            if info.size < min_size_bytes:
                continue  # a duplicate this small costs nothing worth a migration
            for other in infos:
                if other is info or not other.valid or not other.plain:
                    continue
                n = len(info.columns)
                same = other.columns == info.columns
                prefix = len(other.columns) > n and other.columns[:n] == info.columns
                if same and (other.constraint or (other.name < info.name and not info.unique)):
                    why = f"same columns as {other.name}"
                elif prefix and not info.unique:
                    why = (
                        f"its columns ({', '.join(info.columns)}) lead {other.name} "
                        f"({', '.join(other.columns)}), which serves the same lookups"
                    )
                else:
                    continue
                report.problems.append(_problem("duplicate", info, why, vendor))
                flagged.add(info.name)
                break
    if complete:
        since = f" since {report.stats_since}" if report.stats_since else ""
        for info in indexes:
            if info.name in flagged or info.constraint or info.primary or info.unique:
                continue
            if info.scans == 0 and info.size >= min_size_bytes:
                where = " or any replica" if len(report.counted_on) > 1 else ""
                report.problems.append(
                    _problem("unused", info, f"0 scans{since} on {alias!r}{where}", vendor)
                )
    if workload is not None and report.problems:
        from headroom.indexes.hiding import prove_removals

        prove_removals(alias, report.problems, indexes, workload, allow_build=allow_build)
    return report


def _problem(kind: str, info: IndexInfo, why: str, vendor: str) -> Problem:
    declared, fix, model, field_name = _declared_by(info, vendor)
    return Problem(kind, info.table, info.name, info.size, why, declared, fix, model, field_name)
