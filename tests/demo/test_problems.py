"""Each planted problem shows in planted mode, and its fix removes it in fixed mode."""

from __future__ import annotations

import contextlib
import json
import re
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest

from headroom.demo import DEMO_DIR, PLANTED, locate
from headroom.demo.environment import DemoEnvironment
from tests.demo.conftest import Server, inside


def test_planted_product_list_queries_per_product(facts: dict[str, Any]) -> None:
    page_24 = facts["planted"]["queries"]["/products/"]
    page_48 = facts["planted"]["queries"]["/products/?per_page=48"]
    assert page_24["status"] == page_48["status"] == 200
    # Two more queries for every product shown: its category and its review count.
    assert page_48["queries"] - page_24["queries"] == 2 * 24
    assert page_24["queries"] >= 2 * 24


def test_fixed_product_list_runs_the_same_few_queries_for_any_page_size(
    facts: dict[str, Any],
) -> None:
    page_24 = facts["fixed"]["queries"]["/products/"]
    page_96 = facts["fixed"]["queries"]["/products/?per_page=96"]
    assert page_24["status"] == page_96["status"] == 200
    assert page_24["queries"] == page_96["queries"] <= 3


def _checkout(server: Server, scenarios: list[dict[str, Any]]) -> tuple[float, str]:
    """Place the load test's order; return the seconds the POST took and the order ref."""
    scenario = next(s for s in scenarios if s.get("method") == "POST")
    session = server.session()
    url = server.url + scenario["path"]
    session.get(url, timeout=30)
    data = {**scenario["data"], "csrfmiddlewaretoken": session.cookies["csrftoken"]}
    began = time.monotonic()
    response = session.post(url, data=data, timeout=30)
    elapsed = time.monotonic() - began
    assert response.status_code == 200
    reference = re.search(r"<strong>(HR-[0-9A-F]+)</strong>", response.text)
    assert reference, response.text
    return elapsed, reference.group(1)


def _order(database: Path, reference: str) -> tuple[str, str]:
    with contextlib.closing(sqlite3.connect(database)) as db:
        row = db.execute(
            "SELECT status, payment_reference FROM shop_order WHERE reference = ?", (reference,)
        ).fetchone()
    return row[0], row[1]


def test_planted_checkout_waits_for_the_mail_server_and_the_payment_api(
    planted_server: Server, facts: dict[str, Any]
) -> None:
    demo = planted_server.demo
    demo.smtp.delay, demo.payment.delay = 1.0, 0.5
    mails, charges = len(demo.smtp.messages), len(demo.payment.charges)
    elapsed, reference = _checkout(planted_server, facts["planted"]["scenarios"])
    # The customer waited for both slow services.
    assert elapsed >= 1.5
    mail = demo.smtp.messages[mails]
    assert mail.recipients == ("load-tester@example.com",)
    assert mail.message["Subject"] == f"Your order {reference}"
    assert "Total: £" in mail.message.get_content()
    charge = demo.payment.charges[charges]
    assert charge.request["order"] == reference
    assert _order(demo.database, reference) == ("paid", charge.id)


def test_fixed_checkout_answers_before_mail_and_payment_and_both_still_happen(
    fixed_server: Server, facts: dict[str, Any]
) -> None:
    demo = fixed_server.demo
    demo.smtp.delay, demo.payment.delay = 2.0, 2.0
    mails, charges = len(demo.smtp.messages), len(demo.payment.charges)
    elapsed, reference = _checkout(fixed_server, facts["fixed"]["scenarios"])
    assert elapsed < 1.5
    mail = demo.smtp.wait_for_messages(mails + 1, timeout=20)[mails]
    assert mail.message["Subject"] == f"Your order {reference}"
    charge = demo.payment.wait_for_charges(charges + 1, timeout=20)[charges]
    assert charge.request["order"] == reference
    deadline = time.monotonic() + 10
    while _order(demo.database, reference)[0] != "paid" and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _order(demo.database, reference) == ("paid", charge.id)


def _price_list(facts: dict[str, Any], mode: str) -> list[str]:
    answer = facts[mode]["price_list"]
    assert answer["status"] == 200
    return list(answer["chunks"])


def test_planted_csv_export_streams_one_character_per_chunk(facts: dict[str, Any]) -> None:
    chunks = _price_list(facts, "planted")
    assert len(chunks) > 500
    assert {len(chunk) for chunk in chunks} == {1}
    assert "".join(chunks).startswith("product,price\r\n")


def test_fixed_csv_export_streams_whole_lines(facts: dict[str, Any]) -> None:
    chunks = _price_list(facts, "fixed")
    assert chunks[0] == "product,price\r\n"
    assert all(chunk.endswith("\r\n") and chunk.count("\r\n") == 1 for chunk in chunks)
    # The same file, in far fewer pieces.
    assert "".join(chunks) == "".join(_price_list(facts, "planted"))


def test_planted_order_search_reads_the_whole_orders_table(facts: dict[str, Any]) -> None:
    plan = facts["planted"]["order_search_plan"]
    assert "SCAN shop_order" in plan
    assert any("TEMP B-TREE FOR ORDER BY" in step for step in plan)


def test_fixed_order_search_uses_the_index(facts: dict[str, Any]) -> None:
    plan = facts["fixed"]["order_search_plan"]
    search = [step for step in plan if step.startswith("SEARCH shop_order ")]
    assert search == [
        "SEARCH shop_order USING INDEX shop_order_status_placed_idx (status=? AND placed_at>?)"
    ]
    assert not any("TEMP B-TREE" in step for step in plan)


def test_planted_migration_drops_the_column_under_the_old_code(
    planted: DemoEnvironment, tmp_path: Path
) -> None:
    # headroom's migrate guard refuses it ...
    refused = inside(planted, "migrate-legacy-sku", HEADROOM_DEMO_DB=str(tmp_path / "a.sqlite3"))
    assert "shop.0002_remove_product_legacy_sku drops column" in refused["refused"]
    # ... and when told to go ahead, the column is gone.
    database = tmp_path / "b.sqlite3"
    after = inside(planted, "migrate-legacy-sku", "allow", HEADROOM_DEMO_DB=str(database))
    assert "legacy_sku" not in after["columns"]
    # The release still running during the deploy selects the column, and fails.
    assert after["old_code_reads"] == "error: no such column: legacy_sku"
    assert after["products"] == ["new", "old"]


def test_fixed_migration_keeps_the_column_nullable_for_the_old_code(
    fixed: DemoEnvironment, tmp_path: Path
) -> None:
    # No --headroom-allow: the expand/contract migrations pass headroom's migrate guard.
    database = tmp_path / "migrate.sqlite3"
    after = inside(fixed, "migrate-legacy-sku", HEADROOM_DEMO_DB=str(database))
    assert after["columns"]["legacy_sku"] == {"notnull": False}
    # The old code still reads it; the new code inserts without it.
    assert after["old_code_reads"] == [["SKU-1"]]
    assert after["products"] == ["new", "old"]


def test_each_mode_has_migrations_for_its_models(facts: dict[str, Any]) -> None:
    # The fixed mode's index lives in its own migrations package, the planted one has none.
    assert facts["planted"]["pending_model_changes"] is None
    assert facts["fixed"]["pending_model_changes"] is None


def test_the_settings_checks_flag_the_planted_cache_and_email_only(facts: dict[str, Any]) -> None:
    assert {"headroom.W001", "headroom.W005"} <= set(facts["planted"]["checks"])
    assert facts["fixed"]["checks"] == []


@pytest.mark.parametrize("entry", PLANTED, ids=[p["key"] for p in PLANTED])
def test_every_planted_problem_is_marked_where_it_is(entry: dict[str, object]) -> None:
    expected = {
        "n_plus_one_category": "{{ product.category.name }}",
        "n_plus_one_count": "item.reviews.count()",
        "slow_query_order_search": "list(wanted[:50])",
        "sync_email": "send_mail(",
        "blocking_call": "requests.post(url, json=payload)",
        "tiny_chunks": "StreamingHttpResponse(content",
        "file_cache": '"BACKEND": FILE_CACHE',
        "drop_column": "migrations.RemoveField(",
    }
    path, line = locate(str(entry["key"]))
    assert path == DEMO_DIR / str(entry["file"])
    text = path.read_text().splitlines()[line - 1]
    assert expected[str(entry["key"])] in text
    assert f"headroom-demo: planted {entry['key']}" in text
    assert "timeout" not in text


def test_planted_url_patterns_are_the_shops_routes(facts: dict[str, Any]) -> None:
    routes = set(facts["planted"]["routes"])
    for entry in PLANTED:
        assert entry["url_pattern"] is None or entry["url_pattern"] in routes, entry["key"]
    kinds = {p["kind"] for p in PLANTED}
    assert {"n_plus_one", "slow_query", "sync_email", "blocking_call", "tiny_chunks"} <= kinds


def test_the_probe_reports_each_request_time_problem_at_its_marked_line(
    planted: DemoEnvironment, facts: dict[str, Any], tmp_path: Path
) -> None:
    """What `headroom doctor` reads: the probe's capture records of the planted shop."""
    spool = tmp_path / "spool"
    scenarios = facts["planted"]["scenarios"]
    server = Server(
        planted,
        facts["planted"]["sessions"],
        HEADROOM_PROBE_MODE="capture",
        HEADROOM_SPOOL_DIR=str(spool),
    )
    try:
        session = server.session()
        session.get(server.url + "/products/", timeout=30)
        csv_path = next(s["path"] for s in scenarios if ".csv" in s["path"])
        session.get(server.url + csv_path, timeout=30)
        _checkout(server, scenarios)
    finally:
        server.stop()
    records = [
        json.loads(line) for path in spool.glob("*.jsonl") for line in path.read_text().splitlines()
    ]
    found: dict[str, set[tuple[str, int]]] = {}
    for record in records:
        for group in ("n_plus_one", "outbound", "emails"):
            for event in record.get(group) or []:
                where = event.get("template") or event["location"]
                name = where.get("name") or where["file"]
                found.setdefault(record["route"], set()).add((name, where["line"]))
        if record["response"]["streaming"]:
            found.setdefault(record["route"], set()).add(("chunks", record["response"]["chunks"]))

    def reported(route: str, key: str) -> bool:
        """Whether the probe reported something on ``route`` at ``key``'s marked line."""
        path, line = locate(key)
        # Files are shown relative to the working directory or their sys.path entry,
        # templates by their name: compare the tail of the path.
        tail = path.relative_to(DEMO_DIR.parents[1]).as_posix()
        return any(
            (tail.endswith(name) or name.endswith(tail)) and at == line
            for name, at in found.get(route, ())
        )

    assert reported("products/", "n_plus_one_count")
    assert reported("products/", "n_plus_one_category")
    assert reported("checkout/", "blocking_call")
    assert reported("checkout/", "sync_email")
    [(_, chunks)] = found["categories/<slug:slug>/prices.csv"]
    assert chunks > 500
