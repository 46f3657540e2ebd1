"""Real services the tests use, and what to do when one is missing.

A test that needs PostgreSQL, Redis, RabbitMQ or Varnish calls :func:`require`. When the
service does not answer, the test is skipped with the reason, or fails when
``HEADROOM_REQUIRE_SERVICES=1`` (as in ``.ci/run``), so a missing service is never a silent
pass.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

PORTS = {
    "postgresql": ("127.0.0.1", 5432),
    "mariadb": ("127.0.0.1", 3306),
    "redis": ("127.0.0.1", 6379),
    "rabbitmq": ("127.0.0.1", 5672),
}


def services_required() -> bool:
    return os.environ.get("HEADROOM_REQUIRE_SERVICES", "") not in ("", "0", "false")


def is_up(name: str, timeout: float = 1.0) -> bool:
    host, port = PORTS[name]
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def require(name: str) -> None:
    """Skip (or, under HEADROOM_REQUIRE_SERVICES=1, fail) unless ``name`` answers."""
    if is_up(name):
        return
    host, port = PORTS[name]
    reason = f"{name} is not answering on {host}:{port}"
    if services_required():
        pytest.fail(f"{reason} and HEADROOM_REQUIRE_SERVICES=1", pytrace=False)
    pytest.skip(reason)


CHROMIUM = "/usr/bin/chromium"


def require_browser() -> str:
    """The path of a headless-capable Chromium, or skip (fail under the flag) without one."""
    import importlib.util

    if os.path.exists(CHROMIUM) and importlib.util.find_spec("playwright") is not None:
        return CHROMIUM
    reason = f"needs Chromium at {CHROMIUM} (Debian package chromium) and the playwright package"
    if services_required():
        pytest.fail(f"{reason}; HEADROOM_REQUIRE_SERVICES=1", pytrace=False)
    pytest.skip(reason)


@contextmanager
def chromium_page() -> Iterator[Any]:
    """A page of a headless Chromium driven by Playwright (skip, or fail under the flag,
    without one); the browser is closed afterwards."""
    chromium = require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            yield browser.new_page()
        finally:
            browser.close()


def pg_admin(dbname: str | None = None) -> Any:
    """An autocommit psycopg connection to the test PostgreSQL server (database ``dbname``,
    by default ``HEADROOM_TEST_PG_NAME`` or ``test``)."""
    import psycopg

    return psycopg.connect(
        host=os.environ.get("HEADROOM_TEST_PG_HOST", "127.0.0.1"),
        port=int(os.environ.get("HEADROOM_TEST_PG_PORT", "5432")),
        user=os.environ.get("HEADROOM_TEST_PG_USER", "postgres"),
        dbname=dbname or os.environ.get("HEADROOM_TEST_PG_NAME", "test"),
        autocommit=True,
    )


@contextmanager
def scratch_database(prefix: str) -> Iterator[str]:
    """A new, empty PostgreSQL database named ``<prefix>_<random>``, dropped afterwards."""
    require("postgresql")
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with pg_admin() as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield name
    finally:
        with pg_admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
