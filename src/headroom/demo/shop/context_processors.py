from __future__ import annotations

from typing import Any

from django.core.cache import cache
from django.http import HttpRequest

from headroom.demo.shop.models import Category


def _categories() -> list[Category]:
    return list(Category.objects.order_by("name").only("slug", "name"))


def navigation(request: HttpRequest) -> dict[str, Any]:
    """The category menu on every page, from the cache (a file read per page when planted)."""
    return {"nav_categories": cache.get_or_set("shop:nav-categories", _categories, 300)}
