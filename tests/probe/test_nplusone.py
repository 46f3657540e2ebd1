from __future__ import annotations

import logging
from pathlib import Path

import pytest
from django.test import Client

from headroom.doctor.analyse import n_plus_one_findings
from tests.probe.conftest import JINJA_TEMPLATES, Capture, line_of
from tests.testapp.models import Product


def test_n_plus_one_in_a_view_names_the_relation_and_the_loop_line(
    client: Client, capture: Capture, shop: list[Product]
) -> None:
    response = client.get("/categories/")

    assert response.status_code == 200
    (event,) = capture.last()["n_plus_one"]
    assert event["relation"] == "Product.category"
    assert event["fix"] == 'select_related("category")'
    assert event["count"] == 8
    assert event["table"] == "testapp_category"
    assert event["column"] == "id"
    assert event["location"]["file"].endswith("tests/testapp/views.py")
    assert event["location"]["line"] == line_of("one query per product: the N+1")
    assert event["location"]["function"] == "category_names"
    assert event["template"] is None
    assert event["time_ms"] > 0


def test_n_plus_one_in_a_template_reports_template_line_and_view(
    client: Client, capture: Capture, shop: list[Product]
) -> None:
    response = client.get("/pages/products/")

    assert response.status_code == 200
    (event,) = capture.last()["n_plus_one"]
    assert event["relation"] == "Product.category"
    assert event["template"] == {"name": "testapp/products.html", "line": 4}
    # The innermost project frame is the view that rendered the template.
    assert event["location"]["function"] == "products_page"
    assert event["location"]["line"] == line_of('render(request, "testapp/products.html"')


def test_n_plus_one_in_a_jinja2_template_reports_the_source_line_and_view(
    client: Client, capture: Capture, shop: list[Product]
) -> None:
    response = client.get("/pages/products/jinja/")

    assert response.status_code == 200
    (event,) = capture.last()["n_plus_one"]
    assert event["relation"] == "Product.category"
    assert event["fix"] == 'select_related("category")'
    # The line of the template's source, not of the Python code Jinja2 compiled it to.
    template = JINJA_TEMPLATES / "testapp" / "categories.html"
    line = line_of("{{ product.category.name }}", template)
    assert event["template"] == {"name": "testapp/categories.html", "line": line}
    # The compiled template is not project code: the location is the view that rendered it.
    assert event["location"]["file"].endswith("tests/testapp/views.py")
    assert event["location"]["function"] == "products_page_jinja"
    assert event["location"]["line"] == line_of('render(request, "testapp/categories.html"')


@pytest.mark.parametrize(
    ("path", "template", "marker", "view_call"),
    [
        (
            "/pages/products/",
            Path(__file__).resolve().parents[1] / "testapp/templates/testapp/products.html",
            "{{ product.category.name }}",
            'render(request, "testapp/products.html"',
        ),
        (
            "/pages/products/jinja/",
            JINJA_TEMPLATES / "testapp" / "categories.html",
            "{{ product.category.name }}",
            'render(request, "testapp/categories.html"',
        ),
    ],
    ids=["django", "jinja2"],
)
def test_the_doctor_points_an_n_plus_one_at_the_template_line(
    client: Client,
    capture: Capture,
    shop: list[Product],
    path: str,
    template: Path,
    marker: str,
    view_call: str,
) -> None:
    client.get(path)

    (finding,) = n_plus_one_findings(capture.records(), {})
    where = finding.location
    assert where is not None
    assert where.file.endswith("tests/testapp/views.py")
    shown = f"testapp/{template.name}:{line_of(marker, template)}"
    assert str(where) == f"{shown} (via {where.file}:{line_of(view_call)})"


def test_reverse_relation_counted_per_row_is_named_with_the_annotate_fix(
    client: Client, capture: Capture, shop: list[Product]
) -> None:
    client.get("/reviews/counts/")

    (event,) = capture.last()["n_plus_one"]
    assert event["relation"] == "Product.reviews"
    assert event["fix"] == 'annotate(Count("reviews"))'
    assert event["column"] == "product_id"
    assert event["location"]["line"] == line_of("one COUNT per product")


def test_reverse_relation_iterated_in_a_template_is_named_from_the_schema(
    client: Client, capture: Capture, shop: list[Product]
) -> None:
    client.get("/pages/reviews/")

    (event,) = capture.last()["n_plus_one"]
    assert event["relation"] == "Product.reviews"
    assert event["fix"] == 'prefetch_related("reviews")'
    assert event["template"] == {"name": "testapp/reviews.html", "line": 3}


def test_many_to_many_read_per_row_is_named(
    client: Client, capture: Capture, shop: list[Product]
) -> None:
    client.get("/tags/")

    (event,) = capture.last()["n_plus_one"]
    assert event["relation"] == "Product.tags"
    assert event["fix"] == 'prefetch_related("tags")'


@pytest.mark.parametrize("path", ["/categories/joined/", "/reviews/counts/prefetched/"])
def test_no_n_plus_one_with_select_related_or_prefetch(
    client: Client, capture: Capture, shop: list[Product], path: str
) -> None:
    response = client.get(path)

    assert response.status_code == 200
    record = capture.last()
    assert record["n_plus_one"] == []
    assert record["db"]["count"] <= 2


def test_no_n_plus_one_below_the_threshold(
    client: Client, capture: Capture, shop: list[Product]
) -> None:
    capture.configure(N_PLUS_ONE_THRESHOLD=9)
    client.get("/categories/")
    record = capture.last()
    assert record["n_plus_one"] == []
    by_table = {q["fingerprint"]: q["count"] for q in record["queries"]}
    assert 8 in by_table.values()

    capture.configure(N_PLUS_ONE_THRESHOLD=8)
    client.get("/categories/")
    assert [e["count"] for e in capture.last()["n_plus_one"]] == [8]


def test_n_plus_one_is_logged_at_warning_with_the_fix(
    client: Client, capture: Capture, shop: list[Product], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="headroom.probe"):
        client.get("/categories/")

    (message,) = [r.getMessage() for r in caplog.records if r.name == "headroom.probe"]
    assert "N+1 queries in GET categories/" in message
    assert "Product.category read 8 times" in message
    assert 'select_related("category")' in message
    assert f"views.py:{line_of('one query per product: the N+1')}" in message
