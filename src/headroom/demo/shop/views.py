"""The shop's pages.

The planted problems are marked ``headroom-demo: planted <key>``. Each one's fix sits beside
it and is taken when ``settings.HEADROOM_DEMO_FIXED`` is on, so the two can be read together.
"""

from __future__ import annotations

import csv
import io
import itertools
import uuid
from collections.abc import Iterator
from functools import partial
from typing import Any

from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.mail import send_mail
from django.core.paginator import Page, Paginator
from django.db import transaction
from django.db.models import Avg, Count, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from headroom.demo.shop import fixed_mode, payments
from headroom.demo.shop.forms import CheckoutForm, OrderSearchForm
from headroom.demo.shop.models import Category, Customer, Order, OrderItem, Product, Review
from headroom.offload import submit

PER_PAGE = 24
PER_PAGE_CHOICES = (24, 48, 96)


def _page(request: HttpRequest, items: QuerySet[Any], per_page: int = PER_PAGE) -> Page[Any]:
    return Paginator(items, per_page).get_page(request.GET.get("page"))


def _home_data() -> dict[str, Any]:
    return {
        "new_products": list(Product.objects.select_related("category").order_by("-id")[:8]),
        "categories": list(Category.objects.order_by("name")[:12]),
    }


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "shop/home.html", cache.get_or_set("shop:home", _home_data, 300))


#: The number of reviews of the product in the outer query.
_review_counts = (
    Review.objects.filter(product=OuterRef("pk"))
    .order_by()
    .values("product")
    .annotate(count=Count("*"))
    .values("count")
)


def _per_page(request: HttpRequest) -> int:
    value = request.GET.get("per_page", "")
    return int(value) if value.isdigit() and int(value) in PER_PAGE_CHOICES else PER_PAGE


def product_list(request: HttpRequest) -> HttpResponse:
    per_page = _per_page(request)
    products: QuerySet[Any]
    if fixed_mode():
        # Fixed: the category joined in and the reviews counted by the database: two queries
        # for any page size. The count is a correlated subquery, so it runs for the page's
        # rows only; annotate(review_count=Count("reviews")) would group the whole table
        # (every product joined to every review) before LIMIT picks the page.
        products = Product.objects.select_related("category").annotate(
            review_count=Coalesce(Subquery(_review_counts), 0)
        )
    else:
        products = Product.objects.all()
    page = _page(request, products.order_by("-id"), per_page)
    if not fixed_mode():
        for item in page:
            item.review_count = item.reviews.count()  # headroom-demo: planted n_plus_one_count
    return render(
        request,
        "shop/product_list.html",
        {
            "page": page,
            "per_page": per_page,
            "per_page_choices": PER_PAGE_CHOICES,
            "extra_query": f"&per_page={per_page}" if per_page != PER_PAGE else "",
        },
    )


def product_detail(request: HttpRequest, slug: str) -> HttpResponse:
    product = get_object_or_404(Product.objects.select_related("category"), slug=slug)
    reviews = product.reviews.select_related("customer").order_by("-created_at")[:5]
    summary = product.reviews.aggregate(average=Avg("rating"), count=Count("id"))
    return render(
        request,
        "shop/product_detail.html",
        {"product": product, "reviews": reviews, "summary": summary},
    )


def category_detail(request: HttpRequest, slug: str) -> HttpResponse:
    category = get_object_or_404(Category, slug=slug)
    # Products fetched through the category know it: no query per product for the card.
    products = category.products.annotate(review_count=Count("reviews")).order_by("name")
    return render(
        request,
        "shop/category_detail.html",
        {"category": category, "page": _page(request, products)},
    )


class _Echo:
    """A file-like object whose write() returns what it was given, for csv.writer."""

    def write(self, value: str) -> str:
        return value


def price_list_csv(request: HttpRequest, slug: str) -> StreamingHttpResponse:
    category = get_object_or_404(Category, slug=slug)
    # A price feed for resellers: product number and price, by product number.
    rows = category.products.order_by("pk").values_list("pk", "price")
    header = ("product", "price")
    headers = {
        "Content-Type": "text/csv; charset=utf-8",
        "Content-Disposition": f'attachment; filename="{category.slug}-prices.csv"',
    }
    if fixed_mode():
        # Fixed: a generator of whole lines; each is one chunk on the wire.
        writer = csv.writer(_Echo())
        lines: Iterator[str] = (
            writer.writerow(row) for row in itertools.chain([header], rows.iterator())
        )
        return StreamingHttpResponse(lines, headers=headers)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    content = buffer.getvalue()
    # A str is an iterable of characters: every character becomes its own chunk.
    return StreamingHttpResponse(content, headers=headers)  # headroom-demo: planted tiny_chunks


def _place_order(data: dict[str, Any]) -> Order:
    product: Product = data["product"]
    quantity: int = data["quantity"]
    with transaction.atomic():
        customer, _ = Customer.objects.get_or_create(
            email=data["email"],
            defaults={"name": data["name"], "city": data["city"], "joined_at": timezone.now()},
        )
        order = Order.objects.create(
            reference=f"HR-{uuid.uuid4().hex[:10].upper()}",
            customer=customer,
            email=data["email"],
            status=Order.Status.PENDING,
            placed_at=timezone.now(),
            total=product.price * quantity,
            shipping_name=data["name"],
            shipping_address=data["address"],
            shipping_city=data["city"],
            shipping_postcode=data["postcode"],
        )
        OrderItem.objects.create(
            order=order, product=product, quantity=quantity, unit_price=product.price
        )
        if fixed_mode():
            # Fixed: the order stays pending; a background task charges it (with a timeout)
            # once this transaction has committed.
            task = "headroom.demo.shop.payments.capture_payment"
            transaction.on_commit(partial(submit, task, order.pk))
    return order


@require_http_methods(["GET", "POST"])
def checkout(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        form = CheckoutForm(request.POST)
        if form.is_valid():
            order = _place_order(form.cleaned_data)
            if not fixed_mode():
                order.payment_reference = payments.charge(order)
                order.status = Order.Status.PAID
                order.save(update_fields=["payment_reference", "status"])
            subject = f"Your order {order.reference}"
            body = render_to_string("shop/email/order_confirmation.txt", {"order": order})
            # Fixed mode sends through EMAIL_BACKEND = QueuedEmailBackend: returns at once.
            send_mail(subject, body, None, [order.email])  # headroom-demo: planted sync_email
            return render(request, "shop/checkout_done.html", {"order": order})
    else:
        form = CheckoutForm(initial={"product": request.GET.get("product", "")})
    return render(request, "shop/checkout.html", {"form": form})


@login_required
def account(request: HttpRequest) -> HttpResponse:
    # The reverse one-to-one raises Customer.DoesNotExist, an AttributeError, when unset.
    customer: Customer | None = getattr(request.user, "customer", None)
    orders: Any = []
    if customer is not None:
        orders = customer.orders.annotate(item_count=Count("items")).order_by("-placed_at")[:10]
    return render(request, "shop/account.html", {"customer": customer, "orders": orders})


def search_orders(status: str, since: Any) -> QuerySet[Order]:
    """The staff order search: orders in ``status`` placed at or after ``since``, newest
    first."""
    return (
        Order.objects.filter(status=status, placed_at__gte=since)
        .select_related("customer")
        .order_by("-placed_at")
    )


@staff_member_required
def order_search(request: HttpRequest) -> HttpResponse:
    form = OrderSearchForm(request.GET or None)
    found: list[Order] = []
    if form.is_valid():
        wanted = search_orders(form.cleaned_data["status"], form.since_datetime())
        # Planted: no index serves this filter and sort (fixed: Order.Meta.indexes).
        found = list(wanted[:50])  # headroom-demo: planted slow_query_order_search
    return render(request, "shop/order_search.html", {"form": form, "orders": found})
