from __future__ import annotations

import logging
import os
import re
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from pytest_django.fixtures import Settings

from headroom.conf import clear_cache
from headroom.probe import snapshot
from tests.probe.conftest import Capture, line_of
from tests.testapp.models import Product

DOCS = Path(__file__).resolve().parents[2] / "docs" / "spool.md"


def test_off_mode_passes_requests_through(
    client: Client, settings: Settings, shop: list[Product], tmp_path: Path
) -> None:
    settings.HEADROOM = {"PROBE_MODE": "off"}

    response = client.get("/categories/")

    assert response.status_code == 200
    assert "Server-Timing" not in response
    assert "X-Headroom-Request-Id" not in response
    assert snapshot()["routes"] == {}


def test_the_environment_can_turn_the_probe_off(
    client: Client, capture: Capture, db: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HEADROOM_PROBE_MODE", "off")
    clear_cache()
    try:
        response = client.get("/echo/")
    finally:
        monkeypatch.delenv("HEADROOM_PROBE_MODE")
        clear_cache()
    assert "Server-Timing" not in response
    assert capture.records() == []


def test_ignored_paths_are_untouched(client: Client, capture: Capture, db: None) -> None:
    response = client.get("/static/echo/")

    assert response.status_code == 200
    assert "Server-Timing" not in response
    assert capture.records() == []


def test_production_mode_keeps_route_totals_and_events_in_memory(
    client: Client,
    settings: Settings,
    shop: list[Product],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings.HEADROOM = {"PROBE_MODE": "production", "SPOOL_DIR": str(tmp_path)}
    client.raise_request_exception = False

    with caplog.at_level(logging.WARNING, logger="headroom.probe"):
        for _ in range(3):
            client.get("/categories/")
        client.get("/categories/joined/")
        client.get("/broken/")
        client.get(f"/products/{shop[0].pk}/")

    seen = snapshot()
    routes = seen["routes"]
    assert set(routes) == {
        "categories/",
        "categories/joined/",
        "broken/",
        "products/<int:pk>/",
    }
    assert routes["categories/"]["count"] == 3
    assert routes["categories/"]["queries"] == 27
    assert routes["categories/"]["errors"] == 0
    assert routes["categories/"]["db_ms"] > 0
    assert routes["categories/"]["max_ms"] >= routes["categories/"]["mean_ms"] > 0
    assert routes["categories/joined/"]["queries"] == 1
    assert routes["broken/"] == {**routes["broken/"], "count": 1, "errors": 1}
    events = seen["events"]
    assert [e["kind"] for e in events] == ["n_plus_one"] * 3
    assert events[0]["route"] == "categories/"
    assert events[0]["relation"] == "Product.category"
    assert events[0]["location"]["line"] == line_of("one query per product: the N+1")
    assert len([r for r in caplog.records if "N+1 queries" in r.getMessage()]) == 3
    assert list(tmp_path.iterdir()) == []  # production mode writes no spool


def test_production_event_buffer_is_bounded_and_records_slow_requests(
    client: Client, settings: Settings, shop: list[Product]
) -> None:
    settings.HEADROOM = {"EVENT_BUFFER_SIZE": 2, "SLOW_REQUEST_MS": 0.001}

    for _ in range(3):
        client.get("/categories/")

    events = snapshot()["events"]
    assert len(events) == 2
    assert events[-1]["kind"] == "slow_request"
    assert events[-1]["queries"] == 9
    assert events[-1]["status"] == 200


# --- capture records against docs/spool.md -------------------------------------------------

LOCATION = {"file": str, "line": int, "function": str}
NUMBER = (int, float)
OPTIONAL_LOCATION = (dict, type(None))
SCHEMA: dict[str, Any] = {
    "v": int,
    "request_id": str,
    "start": float,
    "method": str,
    "path": str,
    "route": (str, type(None)),
    "view": (str, type(None)),
    "status": int,
    "duration_ms": float,
    "db": dict,
    "queries": list,
    "n_plus_one": list,
    "slow_queries": list,
    "outbound": list,
    "emails": list,
    "response": dict,
    "probe_errors": int,
}
ITEMS: dict[str, dict[str, Any]] = {
    "db": {"count": int, "time_ms": float},
    "queries[]": {
        "alias": str,
        "fingerprint": str,
        "count": int,
        "time_ms": float,
        "max_ms": float,
        "rows": (int, type(None)),
        "sql": str,
        "params": (list, dict, type(None)),
        "many": bool,
        "location": OPTIONAL_LOCATION,
        "template": OPTIONAL_LOCATION,
    },
    "n_plus_one[]": {
        "alias": str,
        "fingerprint": str,
        "count": int,
        "time_ms": float,
        "relation": (str, type(None)),
        "fix": (str, type(None)),
        "table": (str, type(None)),
        "column": (str, type(None)),
        "location": OPTIONAL_LOCATION,
        "template": OPTIONAL_LOCATION,
    },
    "slow_queries[]": {
        "alias": str,
        "fingerprint": str,
        "sql": str,
        "params": (list, dict, type(None)),
        "time_ms": float,
        "location": OPTIONAL_LOCATION,
        "template": OPTIONAL_LOCATION,
    },
    "outbound[]": {
        "library": str,
        "method": str,
        "host": str,
        "port": int,
        "url": str,
        "status": (int, type(None)),
        "duration_ms": float,
        "timeout": (float, type(None)),
        "error": (str, type(None)),
        "location": OPTIONAL_LOCATION,
    },
    "emails[]": {
        "backend": str,
        "messages": int,
        "recipients": int,
        "duration_ms": float,
        "error": (str, type(None)),
        "location": OPTIONAL_LOCATION,
    },
    "response": {
        "bytes": (int, type(None)),
        "streaming": bool,
        "chunks": (int, type(None)),
        "mean_chunk_bytes": (float, type(None)),
        "content_type": (str, type(None)),
        "stream_ms": (float, type(None)),
    },
}


def _documented_top_level_keys() -> set[str]:
    keys = set()
    for line in DOCS.read_text().splitlines():
        if line.startswith("| `"):
            first_cell = line.split("|")[1]
            keys.update(re.findall(r"`(\w+)`", first_cell))
    return keys


def _documented_item_keys(name: str) -> set[str]:
    """The keys listed in the paragraph that starts with `name`: (parentheses dropped)."""
    text = DOCS.read_text()
    start = text.index(f"`{name}`:")
    paragraph = text[start : text.find("\n\n", start)]
    paragraph = paragraph.split(":", 1)[1]
    while re.search(r"\([^()]*\)", paragraph):
        paragraph = re.sub(r"\([^()]*\)", "", paragraph)
    return set(re.findall(r"`(\w+)`", paragraph))


def _check(value: dict[str, Any], schema: dict[str, Any], where: str) -> None:
    assert set(value) == set(schema), f"{where}: keys {sorted(value)} != {sorted(schema)}"
    for key, expected in schema.items():
        assert isinstance(value[key], expected), f"{where}.{key} = {value[key]!r}"
        if key in ("location", "template") and value[key] is not None:
            shape = LOCATION if key == "location" else {"name": str, "line": int}
            _check(value[key], shape, f"{where}.{key}")


def test_the_schema_here_is_the_documented_one() -> None:
    assert _documented_top_level_keys() == set(SCHEMA)
    for name, schema in ITEMS.items():
        if name == "db":
            continue
        documented = _documented_item_keys(name)
        assert documented <= set(schema), f"{name}: {documented - set(schema)} not recorded"
        # Keys recorded beyond the v1 list are documented under "Additions".
        for extra in set(schema) - documented:
            assert f"`{name}` `{extra}`" in DOCS.read_text(), f"{name}.{extra} undocumented"


@pytest.mark.django_db(databases=["default", "postgres"])
def test_capture_records_match_docs_spool_md(
    client: Client,
    capture: Capture,
    shop: list[Product],
    postgres: str,
    http_server: str,
    settings: Settings,
) -> None:
    capture.configure(SLOW_QUERY_MS=40)
    client.get("/pages/products/")
    client.get("/postgres/?sleep=0.05")
    client.get(f"/call-out/?url={http_server}/ok&timeout=1")
    client.get("/email/?how=connection")
    b"".join(client.get("/stream/lines/").streaming_content)  # type: ignore[attr-defined]

    records = capture.records()
    assert len(records) == 5
    assert [os.path.basename(p) for p in os.listdir(capture.directory)] == [
        f"probe-{os.getpid()}.jsonl"
    ]
    seen: set[str] = set()
    for record in records:
        _check(record, SCHEMA, "record")
        assert record["v"] == 1
        for name, schema in ITEMS.items():
            if name.endswith("[]"):
                for item in record[name[:-2]]:
                    _check(item, schema, name)
                    seen.add(name)
            else:
                _check(record[name], schema, name)
    # Every kind of list entry was produced and checked at least once.
    assert seen == {k for k in ITEMS if k.endswith("[]")}
