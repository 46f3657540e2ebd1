"""Run a check inside the demo shop's own Django process and print the answer as JSON.

The test suite runs on ``tests.settings``; the demo has its own settings, and its planted
and fixed modes differ in models and migrations, so each mode's checks run in a process of
their own: ``python -m tests.demo.inside <command> [args]`` with the demo's environment.
"""

from __future__ import annotations

import json
import sqlite3
import sys
from collections.abc import Callable
from typing import Any

import django

COMMANDS: dict[str, Callable[..., Any]] = {}


def command(function: Callable[..., Any]) -> Callable[..., Any]:
    COMMANDS[function.__name__.replace("_", "-")] = function
    return function


def _client() -> Any:
    from django.test import Client

    return Client(HTTP_HOST="127.0.0.1")


@command
def scenarios() -> Any:
    """The load scenarios, as the doctor reads them."""
    from headroom.conf import conf

    return conf.SCENARIOS


@command
def routes() -> Any:
    """Every URL route of the demo, as ``resolve(path).route`` spells it."""
    from django.urls import URLPattern, URLResolver, get_resolver

    found: list[str] = []

    def walk(patterns: Any, prefix: str) -> None:
        for entry in patterns:
            if isinstance(entry, URLResolver):
                walk(entry.url_patterns, prefix + str(entry.pattern))
            elif isinstance(entry, URLPattern):
                found.append(prefix + str(entry.pattern))

    walk(get_resolver().url_patterns, "")
    return found


@command
def login(username: str) -> Any:
    """A session for ``username``, made directly in the database (the doctor's way)."""
    from django.contrib.auth import (
        BACKEND_SESSION_KEY,
        HASH_SESSION_KEY,
        SESSION_KEY,
        get_user_model,
    )
    from django.contrib.sessions.backends.db import SessionStore

    user = get_user_model().objects.get(username=username)
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    return session.session_key


@command
def queries(path: str) -> Any:
    """Status and number of SQL queries of a GET of ``path`` (after one warm-up request)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = _client()
    client.get(path)
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path)
    return {"status": response.status_code, "queries": len(captured)}


@command
def chunks(path: str) -> Any:
    """The chunks a streaming response of ``path`` is sent in."""
    response = _client().get(path)
    parts = [bytes(part).decode() for part in response.streaming_content]
    return {"status": response.status_code, "chunks": parts}


@command
def explain_order_search() -> Any:
    """SQLite's plan for the staff order search query."""
    import datetime

    from django.db import connection

    from headroom.demo.shop.views import search_orders

    since = datetime.datetime(2025, 1, 1, tzinfo=datetime.UTC)
    sql, params = search_orders("paid", since)[:50].query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
        return [row[-1] for row in cursor.fetchall()]


@command
def checks() -> Any:
    """The ids of the deployment checks tagged headroom."""
    from django.core import checks as django_checks

    found = django_checks.run_checks(tags=["headroom"], include_deployment_checks=True)
    return sorted(message.id for message in found)


@command
def migrate_legacy_sku(*flags: str) -> Any:
    """Roll the shop back to 0001 on a new database, store a product with a legacy SKU as the
    old code did, migrate forwards again (through headroom's migrate guard; ``allow`` passes
    ``--headroom-allow``), and report what the old and the new code see."""
    from django.conf import settings
    from django.core.management import CommandError, call_command
    from django.db import connection

    from headroom.demo.shop.models import Category, Product

    call_command("migrate", verbosity=0)
    call_command("migrate", "shop", "0001", verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO shop_category (slug, name, description) VALUES ('c', 'C', '')")
        cursor.execute(
            "INSERT INTO shop_product (category_id, slug, name, description, price, created_at,"
            " legacy_sku) VALUES (1, 'old', 'Old', '', 1, '2024-01-01', 'SKU-1')"
        )
    try:
        call_command("migrate", verbosity=0, headroom_allow="allow" in flags)
    except CommandError as exc:
        return {"refused": str(exc)}
    connection.close()
    database = sqlite3.connect(settings.DATABASES["default"]["NAME"])
    columns = {
        row[1]: {"notnull": bool(row[3])}
        for row in database.execute("PRAGMA table_info(shop_product)")
    }
    try:
        old_code_reads: Any = database.execute("SELECT legacy_sku FROM shop_product").fetchall()
    except sqlite3.OperationalError as exc:
        old_code_reads = f"error: {exc}"
    database.close()
    Product.objects.create(
        category=Category.objects.get(), slug="new", name="New", price=2, created_at="2025-01-01"
    )
    return {
        "columns": columns,
        "old_code_reads": old_code_reads,
        "products": sorted(Product.objects.values_list("slug", flat=True)),
    }


@command
def pending_model_changes() -> Any:
    """``makemigrations --check``: whether the models differ from the mode's migrations."""
    import io

    from django.core.management import call_command

    out = io.StringIO()
    try:
        call_command("makemigrations", "--check", "--dry-run", stdout=out)
    except SystemExit:
        return out.getvalue()
    return None


@command
def facts() -> Any:
    """Everything the read-only tests look at, in one process."""
    scenario_list = scenarios()
    price_list = next(s["path"] for s in scenario_list if s["path"].endswith(".csv"))
    pages = ("/products/", "/products/?per_page=48", "/products/?per_page=96")
    return {
        "scenarios": scenario_list,
        "routes": routes(),
        "checks": checks(),
        "pending_model_changes": pending_model_changes(),
        "order_search_plan": explain_order_search(),
        "queries": {page: queries(page) for page in pages},
        "price_list": chunks(price_list),
        "sessions": {user: login(user) for user in ("demo-staff", "demo-customer")},
    }


def main(argv: list[str]) -> int:
    django.setup()
    name, *args = argv
    print(json.dumps(COMMANDS[name](*args), default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
