"""One page of 20 distinct queries (no N+1) and a template: a typical list page."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db.models import Avg, Count, Max, Min
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from probe_site.models import Category, Product, Review, Tag

PANELS: list[tuple[str, Callable[[], Any]]] = [
    ("categories", Category.objects.count),
    ("products", Product.objects.count),
    ("reviews", Review.objects.count),
    ("expensive", lambda: Product.objects.filter(price__gt=50).count()),
    ("cheap", lambda: Product.objects.filter(price__lt=10).count()),
    ("five stars", lambda: Review.objects.filter(stars=5).count()),
    ("good", lambda: Review.objects.filter(stars__gte=3).count()),
    ("mean stars", lambda: Review.objects.aggregate(v=Avg("stars"))["v"]),
    ("max price", lambda: Product.objects.aggregate(v=Max("price"))["v"]),
    ("min price", lambda: Product.objects.aggregate(v=Min("price"))["v"]),
    ("has p1", lambda: Product.objects.filter(name__startswith="p1").exists()),
    ("with 5", lambda: Product.objects.filter(name__contains="5").count()),
    ("recent stars", lambda: list(Review.objects.order_by("-id").values_list("stars")[:10])),
    ("tags", lambda: [t.name for t in Tag.objects.all()]),
    ("first c1", lambda: getattr(Category.objects.filter(name="c1").first(), "name", None)),
    ("in c2", lambda: Product.objects.filter(category__name="c2").count()),
    ("names", lambda: list(Product.objects.values_list("name", flat=True)[:10])),
    ("reviewed dear", lambda: Review.objects.filter(product__price__gt=50).count()),
    (
        "per category",
        lambda: list(Category.objects.annotate(n=Count("products")).values_list("name", "n")),
    ),
]


def page(request: HttpRequest) -> HttpResponse:
    products = list(Product.objects.select_related("category").order_by("-id")[:20])
    panels = [(title, compute()) for title, compute in PANELS]
    return render(request, "probe_site/page.html", {"products": products, "panels": panels})
