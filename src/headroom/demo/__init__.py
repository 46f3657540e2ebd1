"""The bundled demo shop that ``headroom demo`` runs the doctor against.

A small but real Django project (``headroom.demo.settings``, one app ``headroom.demo.shop``)
with the problems real shops ship with planted in it, each marked in the source with a
``headroom-demo: planted <key>`` comment, and a fixed mode (``HEADROOM_DEMO_FIXED=1``) that
serves the same shop with every problem fixed. See docs/demo.md.

:data:`PLANTED` lists the planted problems; :func:`locate` finds a problem's marked line.
Importing this package imports nothing heavy (the settings module imports it).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

DEMO_DIR = Path(__file__).resolve().parent

#: One entry per planted problem. ``kind`` is what the doctor reports it as; ``url_pattern``
#: the route (``resolve(path).route``) whose requests show it, None for a project-wide one;
#: ``found_by`` which part of the doctor finds it; ``file`` the marked file, relative to
#: DEMO_DIR (:func:`locate` gives the absolute path and the line).
PLANTED: tuple[dict[str, Any], ...] = (
    {
        "key": "n_plus_one_category",
        "kind": "n_plus_one",
        "url_pattern": "products/",
        "found_by": "probe",
        "file": "shop/templates/shop/_product_card.html",
        "summary": "the product list template reads product.category once per product",
        "fix": "Product.objects.select_related('category')",
    },
    {
        "key": "n_plus_one_count",
        "kind": "n_plus_one",
        "url_pattern": "products/",
        "found_by": "probe",
        "file": "shop/views.py",
        "summary": "the product list view counts each product's reviews in a loop",
        "fix": ".annotate(review_count=Count('reviews'))",
    },
    {
        "key": "slow_query_order_search",
        "kind": "slow_query",
        "url_pattern": "staff/orders/",
        "found_by": "probe",
        "file": "shop/views.py",
        "summary": "the staff order search filters and sorts 200,000 orders on unindexed "
        "columns (status, placed_at)",
        "fix": "models.Index(fields=['status', 'placed_at'])",
    },
    {
        "key": "sync_email",
        "kind": "sync_email",
        "url_pattern": "checkout/",
        "found_by": "probe",
        "file": "shop/views.py",
        "summary": "checkout sends the confirmation email through SMTP while the customer waits",
        "fix": "EMAIL_BACKEND = 'headroom.offload.mail.QueuedEmailBackend'",
    },
    {
        "key": "blocking_call",
        "kind": "blocking_call",
        "url_pattern": "checkout/",
        "found_by": "probe",
        "file": "shop/payments.py",
        "summary": "checkout calls the payment API with requests.post() and no timeout",
        "fix": "charge in a background task, with requests.post(..., timeout=...)",
    },
    {
        "key": "tiny_chunks",
        "kind": "tiny_chunks",
        "url_pattern": "categories/<slug:slug>/prices.csv",
        "found_by": "probe",
        "file": "shop/views.py",
        "summary": "the CSV price list streams a str, so every character is its own chunk",
        "fix": "StreamingHttpResponse(a generator of whole lines)",
    },
    {
        "key": "file_cache",
        "kind": "headroom.W001",
        "url_pattern": None,
        "found_by": "system check",
        "file": "settings.py",
        "summary": "the cache is the file-based backend",
        "fix": "a shared in-memory cache (Redis, Memcached); LocMemCache in the demo",
    },
    {
        "key": "drop_column",
        "kind": "drop_column",
        "url_pattern": None,
        "found_by": "migration lint",
        "file": "shop/migrations/0002_remove_product_legacy_sku.py",
        "summary": "a migration drops a column the running code may still read",
        "fix": "make it nullable and remove it from Django's state only "
        "(SeparateDatabaseAndState); drop it a release later",
    },
)


def marker(key: str) -> str:
    """The comment text that marks planted problem ``key`` in the demo's source."""
    return f"headroom-demo: planted {key}"


def locate(key: str) -> tuple[Path, int]:
    """The absolute file and the 1-based line that carry planted problem ``key``'s marker."""
    entry = next((p for p in PLANTED if p["key"] == key), None)
    if entry is None:
        raise KeyError(f"no planted problem {key!r}; the keys are {[p['key'] for p in PLANTED]}")
    path = DEMO_DIR / entry["file"]
    text = marker(key)
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        # "planted file_cache" must not match "planted file_cache_x": check the word ends.
        at = line.find(text)
        if at >= 0 and not line[at + len(text) : at + len(text) + 1].isidentifier():
            return path, number
    raise LookupError(f"{path} has no '{text}' marker")
