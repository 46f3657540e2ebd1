"""The shop as a visitor and as the doctor's load test see it: gunicorn serving each mode."""

from __future__ import annotations

import re
from typing import Any

import pytest
import requests

from tests.demo.conftest import Server


@pytest.fixture(params=["planted", "fixed"], scope="module")
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def server(request: pytest.FixtureRequest, mode: str) -> Server:
    return request.getfixturevalue(f"{mode}_server")  # type: ignore[no-any-return]


def _load(server: Server, scenario: dict[str, Any]) -> requests.Response:
    """One scenario, the way the doctor's load user runs it."""
    session = server.session(scenario.get("user"))
    url = server.url + scenario["path"]
    if scenario.get("method", "GET") == "POST":
        # GET the page for the CSRF cookie, then POST with it as the form token.
        session.get(url, timeout=30)
        data = {**scenario["data"], "csrfmiddlewaretoken": session.cookies["csrftoken"]}
        return session.post(url, data=data, timeout=30)
    return session.get(url, timeout=30)


def test_every_scenario_answers_200_for_its_user(
    server: Server, mode: str, facts: dict[str, Any]
) -> None:
    scenarios = facts[mode]["scenarios"]
    assert len(scenarios) >= 15
    for scenario in scenarios:
        response = _load(server, scenario)
        where = f"{scenario.get('method', 'GET')} {scenario['path']} as {scenario.get('user')}"
        assert response.status_code == 200, where
        # Not bounced to a login page on the way.
        assert not response.history, f"{where} redirected to {response.url}"
        if scenario.get("method") == "POST":
            assert "Thank you for your order" in response.text, where


def test_the_scenarios_cover_the_shop(facts: dict[str, Any]) -> None:
    scenarios = facts["planted"]["scenarios"]
    assert scenarios == facts["fixed"]["scenarios"]
    paths = [s["path"] for s in scenarios]
    assert sum(p.startswith("/products/") for p in paths) >= 6
    assert sum(p.startswith("/categories/") and p.endswith("/") for p in paths) >= 2
    assert any(p.endswith("prices.csv") for p in paths)
    users = {s["path"].split("?")[0]: s.get("user") for s in scenarios}
    assert users["/staff/orders/"] == "demo-staff"
    assert users["/admin/shop/order/"] == "demo-staff"
    assert users["/account/"] == "demo-customer"
    checkout = next(s for s in scenarios if s.get("method") == "POST")
    assert checkout["path"] == "/checkout/"
    assert {"product", "email", "quantity"} <= checkout["data"].keys()
    # Browsing outweighs buying, as in a real shop.
    weight = {s["path"]: s.get("weight", 1) for s in scenarios}
    assert weight["/"] > weight["/checkout/"] > weight["/admin/shop/order/"]


def test_pages_for_signed_in_users_send_visitors_to_sign_in(planted_server: Server) -> None:
    session = planted_server.session()
    account = session.get(planted_server.url + "/account/", timeout=30)
    assert account.url.endswith("/account/login/?next=/account/")
    assert "Sign in" in account.text
    search = session.get(planted_server.url + "/staff/orders/?status=paid", timeout=30)
    assert "/admin/login/" in search.url
    customer_tries_staff_page = planted_server.session("demo-customer").get(
        planted_server.url + "/staff/orders/?status=paid", timeout=30
    )
    assert "/admin/login/" in customer_tries_staff_page.url


def test_the_staff_order_search_lists_the_newest_matching_orders(planted_server: Server) -> None:
    page = planted_server.session("demo-staff").get(
        planted_server.url + "/staff/orders/?status=paid&since=2025-01-01", timeout=30
    )
    dates = re.findall(r"<td>(\d{4}-\d\d-\d\d \d\d:\d\d)</td>", page.text)
    assert len(dates) == 50
    assert dates == sorted(dates, reverse=True)
    assert all(d >= "2025-01-01" for d in dates)


def test_the_sitemap_lists_categories_and_products(planted_server: Server) -> None:
    index = requests.get(planted_server.url + "/sitemap.xml", timeout=30)
    assert index.status_code == 200
    assert "<sitemapindex" in index.text
    assert "/sitemap-categories.xml" in index.text
    assert "/sitemap-products.xml" in index.text
    categories = requests.get(planted_server.url + "/sitemap-categories.xml", timeout=30)
    assert categories.text.count("<url>") == 30
    products = requests.get(planted_server.url + "/sitemap-products.xml", timeout=30)
    assert products.text.count("<url>") == 2000
    assert "/products/classic-linen-bowl-1/" in products.text
