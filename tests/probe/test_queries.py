from __future__ import annotations

import re

import pytest
from django.test import Client

from tests.probe.conftest import JINJA_TEMPLATES, Capture, line_of
from tests.testapp.models import Category, Product


def test_raw_cursor_sql_is_captured_with_its_parameters(
    client: Client, capture: Capture, shop: list[Product]
) -> None:
    response = client.get("/raw/")

    assert response.json() == {"count": 8}
    (query,) = capture.last()["queries"]
    assert query["alias"] == "default"
    assert query["sql"] == "SELECT COUNT(*) FROM testapp_product WHERE id > %s"
    assert query["fingerprint"] == query["sql"]
    assert query["params"] == [0]
    assert query["count"] == 1
    assert query["rows"] is None  # sqlite3 does not report rows for SELECT
    assert query["many"] is False
    assert query["location"]["function"] == "raw_count"
    assert query["location"]["line"] == line_of('cursor.execute("SELECT COUNT(*) FROM')
    assert query["template"] is None


def test_capture_mode_locates_every_statement(
    client: Client, capture: Capture, shop: list[Product]
) -> None:
    client.get("/pages/products/")

    located = {q["count"]: (q["location"], q["template"]) for q in capture.last()["queries"]}
    # The product list is evaluated by the template's {% for %}; each category by line 4.
    assert located[1][1] == {"name": "testapp/products.html", "line": 2}
    assert located[8][1] == {"name": "testapp/products.html", "line": 4}
    assert located[8][0]["function"] == "products_page"


def test_capture_mode_locates_statements_run_by_a_jinja2_template(
    client: Client, capture: Capture, shop: list[Product]
) -> None:
    client.get("/pages/products/jinja/")

    located = {q["count"]: (q["location"], q["template"]) for q in capture.last()["queries"]}
    template = JINJA_TEMPLATES / "testapp" / "categories.html"
    # The product list is evaluated by the {% for %}; each category by the attribute access.
    loop = line_of("{% for product in products %}", template)
    access = line_of("{{ product.category.name }}", template)
    assert located[1][1] == {"name": "testapp/categories.html", "line": loop}
    assert located[8][1] == {"name": "testapp/categories.html", "line": access}
    assert located[8][0]["function"] == "products_page_jinja"


def test_repeated_statements_are_grouped_by_fingerprint(
    client: Client, capture: Capture, shop: list[Product]
) -> None:
    client.get("/categories/")

    record = capture.last()
    counts = sorted(q["count"] for q in record["queries"])
    assert counts == [1, 8]
    assert record["db"]["count"] == 9
    assert record["db"]["time_ms"] == pytest.approx(sum(q["time_ms"] for q in record["queries"]))
    for query in record["queries"]:
        assert query["max_ms"] <= query["time_ms"]


def test_route_view_method_and_status_are_recorded(
    client: Client, capture: Capture, shop: list[Product]
) -> None:
    response = client.get(f"/products/{shop[0].pk}/?q=1")

    assert response.status_code == 200
    record = capture.last()
    assert record["route"] == "products/<int:pk>/"
    assert record["view"] == "tests.testapp.views.product_detail"
    assert (record["method"], record["path"], record["status"]) == (
        "GET",
        f"/products/{shop[0].pk}/",
        200,
    )
    assert record["duration_ms"] > 0


def test_unresolved_and_failing_requests_are_recorded(client: Client, capture: Capture) -> None:
    client.get("/no/such/page/")
    missing = capture.last()
    assert (missing["status"], missing["route"], missing["view"]) == (404, None, None)

    client.raise_request_exception = False
    response = client.get("/broken/")
    assert response.status_code == 500
    assert capture.last()["status"] == 500


@pytest.mark.django_db(databases=["default", "postgres"])
def test_queries_on_the_postgres_alias_with_rows(
    client: Client, capture: Capture, postgres: str
) -> None:
    category = Category.objects.using(postgres).create(name="pg")
    for n in range(3):
        Product.objects.using(postgres).create(name=f"p{n}", category=category)

    response = client.get("/postgres/")

    assert response.json()["updated"] == 3
    queries = {q["fingerprint"].split()[0]: q for q in capture.last()["queries"]}
    assert {q["alias"] for q in queries.values()} == {"postgres"}
    select = next(q for q in capture.last()["queries"] if "testapp_product" in q["sql"])
    assert select["fingerprint"].startswith("SELECT")
    assert select["rows"] == 3  # psycopg reports the rows a SELECT returned
    assert queries["UPDATE"]["rows"] == 3
    assert queries["UPDATE"]["params"] == ["x", "p%"]


@pytest.mark.django_db(databases=["default", "postgres"])
def test_slow_query_on_postgres_has_sql_params_time_and_location(
    client: Client, capture: Capture, postgres: str
) -> None:
    capture.configure(SLOW_QUERY_MS=40)

    client.get("/postgres/?sleep=0.06")

    (slow,) = capture.last()["slow_queries"]
    assert slow["alias"] == "postgres"
    assert slow["sql"] == "SELECT pg_sleep(%s)"
    assert slow["params"] == [0.06]
    assert slow["time_ms"] >= 60
    assert slow["location"]["function"] == "postgres_products"
    assert slow["location"]["line"] == line_of('cursor.execute("SELECT pg_sleep(%s)"')


def test_slow_query_on_sqlite(client: Client, capture: Capture, db: None) -> None:
    capture.configure(SLOW_QUERY_MS=5)

    client.get("/slow/?n=300000")
    client.get("/slow/?n=10")

    fast, slow = capture.records()[-1], capture.records()[-2]
    assert fast["slow_queries"] == []
    (event,) = slow["slow_queries"]
    assert event["time_ms"] > 5
    assert event["params"] == [300000]
    assert event["fingerprint"].startswith("WITH RECURSIVE c(x) AS (SELECT ? UNION ALL")


def test_server_timing_and_request_id_headers(
    client: Client, capture: Capture, shop: list[Product]
) -> None:
    response = client.get("/categories/", headers={"X-Headroom-Request-Id": "load-42.a_b"})

    assert response["X-Headroom-Request-Id"] == "load-42.a_b"
    assert capture.last()["request_id"] == "load-42.a_b"
    timing = response["Server-Timing"]
    assert re.fullmatch(r'db;dur=\d+\.\d;desc="9 queries", app;dur=\d+\.\d', timing), timing


def test_an_unsafe_request_id_is_replaced(client: Client, capture: Capture, db: None) -> None:
    response = client.get("/echo/", headers={"X-Headroom-Request-Id": "<script>"})

    assert re.fullmatch(r"[0-9a-f]{32}", response["X-Headroom-Request-Id"])
    assert capture.last()["request_id"] == response["X-Headroom-Request-Id"]


def test_headers_can_be_turned_off(client: Client, capture: Capture, db: None) -> None:
    capture.configure(SERVER_TIMING=False, REQUEST_ID_HEADER=False)

    response = client.get("/echo/", headers={"X-Headroom-Request-Id": "doctor-1"})

    assert "Server-Timing" not in response
    assert "X-Headroom-Request-Id" not in response
    # The record still carries the caller's id: headroom doctor joins on it.
    assert capture.last()["request_id"] == "doctor-1"
