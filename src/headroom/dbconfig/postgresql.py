"""PostgreSQL settings against the host and the deployment.

Memory follows the long-standing rules for a dedicated database server serving a web
application (the ones pgtune encodes): shared_buffers a quarter of RAM, effective_cache_size
three quarters, maintenance_work_mem a sixteenth (at most 2GB), and work_mem what is left
after shared_buffers shared by max_connections x 3 sorts, over the parallel workers. A
setting is flagged when it is under half of that, so a deliberate choice near it is left
alone.
"""

from __future__ import annotations

from typing import Any

from headroom.dbconfig.findings import Audit, Recommendation
from headroom.dbconfig.host import Demand, format_size

_UNITS = {"B": 1, "kB": 1024, "8kB": 8192, "MB": 1 << 20, "16MB": 16 << 20, "GB": 1 << 30}
GB = 1 << 30


def _settings(alias: str) -> dict[str, dict[str, Any]]:
    from django.db import connections

    with connections[alias].cursor() as cursor:
        cursor.execute("SELECT name, setting, unit, context FROM pg_settings")
        return {
            name: {"setting": setting, "unit": unit, "context": context}
            for name, setting, unit, context in cursor.fetchall()
        }


def _bytes(entry: dict[str, Any]) -> int:
    return int(float(entry["setting"]) * _UNITS.get(entry["unit"] or "B", 1))


def _alter(name: str, value: str, context: str) -> tuple[str, bool]:
    line = f"ALTER SYSTEM SET {name} = '{value}';"
    if context == "postmaster":
        return f"{line}\n-- then restart PostgreSQL (this setting is read at start)", True
    return f"{line}\nSELECT pg_reload_conf();", False


def audit_postgresql(
    alias: str, audit: Audit, demand: Demand, storage: str, budget_ms: float
) -> None:
    found = _settings(alias)
    ram = audit.ram or 0
    max_conn = int(found["max_connections"]["setting"])
    reserved = int(found["superuser_reserved_connections"]["setting"])
    audit.facts.update(
        max_connections=max_conn,
        connection_demand=demand.total,
        connection_demand_from=demand.explain(),
        storage=storage,
        log_budget_ms=budget_ms,
    )

    def add(category: str, name: str, recommended: str, why: str, current: str = "") -> None:
        entry = found[name]
        fix, restart = _alter(name, recommended, entry["context"])
        shown = current or (
            format_size(_bytes(entry)) if entry["unit"] in _UNITS else str(entry["setting"])
        )
        audit.recommendations.append(
            Recommendation(
                alias, "PostgreSQL", category, name, shown, recommended, why, fix, restart
            )
        )

    ram_text = f"{ram / GB:.1f} GB of RAM ({audit.ram_source})"
    if ram:
        memory = {
            "shared_buffers": (
                ram // 4,
                f"a quarter of the host's {ram_text}: PostgreSQL's own "
                "page cache; at the stock 128MB most reads go to the kernel",
            ),
            "effective_cache_size": (
                ram * 3 // 4,
                f"three quarters of {ram_text}: tells the "
                "planner how much is cached, so it picks index scans",
            ),
            "maintenance_work_mem": (
                min(ram // 16, 2 * GB),
                f"a sixteenth of {ram_text} (at most 2GB): faster VACUUM and CREATE INDEX",
            ),
        }
        gather = max(int(found["max_parallel_workers_per_gather"]["setting"]), 1)
        work = (ram - ram // 4) // (max(max_conn, 1) * 3) // gather
        memory["work_mem"] = (
            max(work, 4 << 20),
            f"({ram_text} - shared_buffers) / (max_connections {max_conn} x 3) / "
            f"{gather} parallel workers: sorts and hashes stay in memory",
        )
        for name, (target, why) in memory.items():
            if _bytes(found[name]) < target / 2:
                add("memory", name, format_size(target), why)
    usable = max_conn - reserved
    if demand.total > usable:
        add(
            "connections",
            "max_connections",
            str(demand.total + reserved + 10),
            f"the deployment can open {demand.explain()} connections, but only {usable} "
            f"are available ({max_conn} minus {reserved} reserved): the rest fail with "
            "'too many clients'. Raise it, or put PgBouncer in front and keep it small",
            current=str(max_conn),
        )
    if storage == "ssd" and float(found["random_page_cost"]["setting"]) > 2:
        add(
            "planner",
            "random_page_cost",
            "1.1",
            "the storage is SSD, where a random read costs about as much as a sequential "
            "one; at 4 (spinning disks) the planner shuns index scans it should use",
        )
    if _bytes(found["max_wal_size"]) < 2 * GB:
        add(
            "planner",
            "max_wal_size",
            "4GB",
            "at 1GB, a burst of writes forces a checkpoint every few minutes, each one "
            "writing every dirty page and full-page images after it",
        )
    if float(found["checkpoint_completion_target"]["setting"]) < 0.9:
        add(
            "planner",
            "checkpoint_completion_target",
            "0.9",
            "spreads each checkpoint's writes over the interval instead of a burst",
        )
    if found["autovacuum"]["setting"] != "on":
        add(
            "planner",
            "autovacuum",
            "on",
            "without autovacuum, dead rows pile up, tables bloat and statistics go stale",
        )
    if found.get("jit", {}).get("setting") == "on":
        add(
            "planner",
            "jit",
            "off",
            "a web application's short queries pay JIT compilation (tens of ms) whenever "
            "the planner's cost estimate passes jit_above_cost, and gain nothing from it",
        )
    current_log = int(found["log_min_duration_statement"]["setting"])
    target_log = int(budget_ms)
    if current_log < 0 or current_log > target_log:
        add(
            "observability",
            "log_min_duration_statement",
            f"{target_log}ms",
            f"a fifth of the latency objective (p95 {budget_ms * 5:.0f} ms): one statement "
            "taking that long is worth seeing in the log (and headroom indexes --slow-log "
            "reads it)",
            current="off" if current_log < 0 else f"{current_log}ms",
        )
    preload = str(found["shared_preload_libraries"]["setting"])
    if "pg_stat_statements" not in preload:
        libraries = ", ".join(
            [p.strip() for p in preload.split(",") if p.strip()] + ["pg_stat_statements"]
        )
        add(
            "observability",
            "shared_preload_libraries",
            libraries,
            "pg_stat_statements records every statement's calls and time: the workload "
            "headroom indexes and PgHero-style reports read. After the restart: "
            "CREATE EXTENSION pg_stat_statements;",
            current=preload or "(empty)",
        )
