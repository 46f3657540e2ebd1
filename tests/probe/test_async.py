from __future__ import annotations

import asyncio
from typing import Any

from asgiref.sync import async_to_sync, iscoroutinefunction
from django.http import HttpRequest, HttpResponse
from django.test import AsyncClient

from headroom.probe import ProbeMiddleware
from tests.probe.conftest import Capture, line_of
from tests.testapp.models import Product


def test_one_class_serves_sync_and_async_stacks() -> None:
    async def async_view(request: HttpRequest) -> HttpResponse:
        return HttpResponse()

    def sync_view(request: HttpRequest) -> HttpResponse:
        return HttpResponse()

    assert ProbeMiddleware.sync_capable and ProbeMiddleware.async_capable
    assert iscoroutinefunction(ProbeMiddleware(async_view))
    assert not iscoroutinefunction(ProbeMiddleware(sync_view))


def test_async_view_queries_and_its_n_plus_one_are_recorded(
    capture: Capture, shop: list[Product]
) -> None:
    response = async_to_sync(AsyncClient().get)("/async/products/")

    assert response.json()["count"] == 8
    record = capture.last()
    assert record["view"] == "tests.testapp.views.async_products"
    # acount(), the async iteration over categories, then 1 + 8 queries in sync_to_async.
    assert record["db"]["count"] == 11
    (event,) = record["n_plus_one"]
    assert event["relation"] == "Product.category"
    assert event["location"]["function"] == "_names_one_by_one"
    assert event["location"]["line"] == line_of("product.category.name for product in")
    assert response["X-Headroom-Request-Id"] == record["request_id"]


def test_concurrent_async_requests_keep_their_own_records(
    capture: Capture, shop: list[Product]
) -> None:
    async def both() -> list[Any]:
        client = AsyncClient()
        return await asyncio.gather(
            client.get("/async/products/", headers={"X-Headroom-Request-Id": "a"}),
            client.get("/raw/", headers={"X-Headroom-Request-Id": "b"}),
            client.get("/categories/", headers={"X-Headroom-Request-Id": "c"}),
        )

    async_to_sync(both)()

    counts = {r["request_id"]: r["db"]["count"] for r in capture.records()}
    assert counts == {"a": 11, "b": 1, "c": 9}
