from __future__ import annotations

from typing import Any

from django.contrib.sitemaps import Sitemap
from django.db.models import QuerySet
from django.urls import reverse

from headroom.demo.shop.models import Category, Product


class PagesSitemap(Sitemap):  # type: ignore[type-arg]
    def items(self) -> list[str]:
        return ["shop:home", "shop:product-list"]

    def location(self, item: str) -> str:
        return reverse(item)


class CategorySitemap(Sitemap):  # type: ignore[type-arg]
    def items(self) -> QuerySet[Category]:
        return Category.objects.order_by("slug")


class ProductSitemap(Sitemap):  # type: ignore[type-arg]
    limit = 2000

    def items(self) -> QuerySet[Product]:
        return Product.objects.order_by("id").only("slug")


SITEMAPS: dict[str, Any] = {
    "pages": PagesSitemap,
    "categories": CategorySitemap,
    "products": ProductSitemap,
}
