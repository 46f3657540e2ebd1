"""Views the probe's tests request: each one does one thing a real site does."""

from __future__ import annotations

import http.client
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import aiohttp
import httpx
import requests
from asgiref.sync import sync_to_async
from django.core import mail
from django.db import connection, connections
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import render

from tests.testapp.models import Category, Product


def category_names(request: HttpRequest) -> JsonResponse:
    names = []
    for product in Product.objects.order_by("id"):
        names.append(product.category.name)  # one query per product: the N+1
    return JsonResponse({"names": names})


def category_names_joined(request: HttpRequest) -> JsonResponse:
    products = Product.objects.select_related("category").order_by("id")
    return JsonResponse({"names": [p.category.name for p in products]})


def review_counts(request: HttpRequest) -> JsonResponse:
    counts = {}
    for product in Product.objects.order_by("id"):
        counts[product.name] = product.reviews.count()  # one COUNT per product
    return JsonResponse(counts)


def review_counts_prefetched(request: HttpRequest) -> JsonResponse:
    products = Product.objects.prefetch_related("reviews").order_by("id")
    return JsonResponse({p.name: len(p.reviews.all()) for p in products})


def tag_names(request: HttpRequest) -> JsonResponse:
    return JsonResponse({p.name: [t.name for t in p.tags.all()] for p in Product.objects.all()})


def products_page(request: HttpRequest) -> HttpResponse:
    products = Product.objects.order_by("id")
    return render(request, "testapp/products.html", {"products": products})


def reviews_page(request: HttpRequest) -> HttpResponse:
    products = Product.objects.order_by("id")
    return render(request, "testapp/reviews.html", {"products": products})


def products_page_jinja(request: HttpRequest) -> HttpResponse:
    products = Product.objects.order_by("id")
    return render(request, "testapp/categories.html", {"products": products}, using="jinja2")


def product_detail(request: HttpRequest, pk: int) -> JsonResponse:
    product = Product.objects.get(pk=pk)
    return JsonResponse({"name": product.name})


def raw_count(request: HttpRequest) -> JsonResponse:
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM testapp_product WHERE id > %s", [0])
        (count,) = cursor.fetchone()
    return JsonResponse({"count": count})


def postgres_products(request: HttpRequest) -> JsonResponse:
    names = list(Product.objects.using("postgres").values_list("name", flat=True))
    updated = Product.objects.using("postgres").filter(name__startswith="p").update(name="x")
    with connections["postgres"].cursor() as cursor:
        cursor.execute("SELECT pg_sleep(%s)", [float(request.GET.get("sleep", "0"))])
    return JsonResponse({"names": names, "updated": updated})


def slow_count(request: HttpRequest) -> JsonResponse:
    sql = (
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < %s) "
        "SELECT COUNT(*) FROM c"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [int(request.GET.get("n", "300000"))])
        (count,) = cursor.fetchone()
    return JsonResponse({"count": count})


def call_out(request: HttpRequest) -> JsonResponse:
    """GET ?url=...&timeout=...&library=requests|http.client"""
    url = request.GET["url"]
    timeout = float(request.GET["timeout"]) if "timeout" in request.GET else None
    try:
        if request.GET.get("library") == "http.client":
            host, _, rest = url.removeprefix("http://").partition("/")
            name, _, port = host.partition(":")
            if timeout is None:
                conn = http.client.HTTPConnection(name, int(port))
            else:
                conn = http.client.HTTPConnection(name, int(port), timeout=timeout)
            conn.request("GET", "/" + rest)
            status = conn.getresponse().status
            conn.close()
        else:
            status = requests.get(url, timeout=timeout).status_code
    except (OSError, requests.RequestException) as exc:
        return JsonResponse({"error": type(exc).__name__}, status=502)
    return JsonResponse({"status": status})


def _httpx_timeout(request: HttpRequest) -> float | None:
    given = request.GET["timeout"]
    return None if given == "none" else float(given)


def call_out_httpx(request: HttpRequest) -> JsonResponse:
    """GET ?url=...&timeout=<seconds>|none; without ``timeout``, httpx's default (5 s)."""
    url = request.GET["url"]
    try:
        if "timeout" not in request.GET:
            status = httpx.get(url).status_code
        else:
            timeout = _httpx_timeout(request)
            with httpx.Client() as http:
                status = http.get(url, timeout=timeout).status_code
    except httpx.HTTPError as exc:
        return JsonResponse({"error": type(exc).__name__}, status=502)
    return JsonResponse({"status": status})


async def async_call_out_httpx(request: HttpRequest) -> JsonResponse:
    """GET ?url=...&timeout=<seconds>|none, with an ``httpx.AsyncClient``."""
    url = request.GET["url"]
    async with httpx.AsyncClient(timeout=_httpx_timeout(request)) as http:
        try:
            response = await http.get(url)
        except httpx.HTTPError as exc:
            return JsonResponse({"error": type(exc).__name__}, status=502)
    return JsonResponse({"status": response.status_code})


def _aiohttp_options(request: HttpRequest) -> dict[str, Any]:
    """``timeout=`` for an aiohttp call: left out without ``timeout`` (the session's)."""
    given = request.GET.get("timeout")
    if given is None:
        return {}
    if given == "none":
        return {"timeout": aiohttp.ClientTimeout(total=None, sock_read=None)}
    return {"timeout": aiohttp.ClientTimeout(total=float(given))}


async def async_call_out_aiohttp(request: HttpRequest) -> JsonResponse:
    """GET ?url=...&timeout=<seconds>|none&how=get|request|context; without ``timeout``, the
    session's default (300 s total)."""
    url = request.GET["url"]
    how = request.GET.get("how", "get")
    options = _aiohttp_options(request)
    async with aiohttp.ClientSession() as session:
        try:
            if how == "context":
                async with session.get(url, **options) as response:
                    status = response.status
            elif how == "request":
                response = await session.request("GET", url, **options)
                status = response.status
                response.release()
            else:
                response = await session.get(url, **options)
                status = response.status
                response.release()
        except (aiohttp.ClientError, TimeoutError) as exc:
            return JsonResponse({"error": type(exc).__name__}, status=502)
    return JsonResponse({"status": status})


def send_email(request: HttpRequest) -> JsonResponse:
    """GET ?how=send_mail|message|connection"""
    how = request.GET.get("how", "send_mail")
    if how == "send_mail":
        sent = mail.send_mail("Hi", "Body", "shop@example.com", ["a@example.com", "b@example.com"])
    elif how == "message":
        sent = mail.EmailMessage("Hi", "Body", "shop@example.com", ["a@example.com"]).send()
    else:
        messages = [
            mail.EmailMessage("Hi", "Body", "shop@example.com", [f"{n}@example.com"]) for n in "abc"
        ]
        with mail.get_connection() as conn:
            sent = conn.send_messages(messages)
    return JsonResponse({"sent": sent})


def stream_text(request: HttpRequest) -> StreamingHttpResponse:
    # The classic mistake: a str is iterated one character at a time.
    return StreamingHttpResponse("x" * 1000, content_type="text/plain")


def stream_lines(request: HttpRequest) -> StreamingHttpResponse:
    def lines() -> Iterator[str]:
        for product in Product.objects.order_by("id"):
            yield f"{product.name},{product.category_id}\n"

    return StreamingHttpResponse(lines(), content_type="text/csv")


def stream_lines_async(request: HttpRequest) -> StreamingHttpResponse:
    async def lines() -> AsyncIterator[str]:
        for n in range(10):
            yield f"line {n}\n"

    return StreamingHttpResponse(lines(), content_type="text/plain")


def _names_one_by_one() -> list[str]:
    return [product.category.name for product in Product.objects.order_by("id")]


async def async_products(request: HttpRequest) -> JsonResponse:
    count = await Product.objects.acount()
    names = [c.name async for c in Category.objects.order_by("id")]
    one_by_one = await sync_to_async(_names_one_by_one)()
    return JsonResponse({"count": count, "categories": names, "one_by_one": one_by_one})


def broken(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("the view failed")


def echo(request: HttpRequest) -> HttpResponse:
    return HttpResponse(json.dumps({"path": request.path}), content_type="application/json")
