"""Fill the demo shop's database with a deterministic catalogue, customers and orders.

``python -m headroom.demo.generate --size small --database /tmp/shop.sqlite3 [--fixed]``
migrates the file and fills it, with a progress bar. Sizes:

========  ==========  ========  =========  =======  ======================
size      categories  products  customers  orders   reviews / order items
========  ==========  ========  =========  =======  ======================
default   30          20,000    20,000     200,000  ~80,000 / ~400,000
small     30          2,000     2,000      20,000   ~8,000 / ~40,000
========  ==========  ========  =========  =======  ======================

Same seed, same rows: product ``i`` is ``headroom.demo.catalogue.product_slug(i)`` at any
size. Every row is written with ``bulk_create`` in batches, inside one transaction per table.
"""

from __future__ import annotations

import argparse
import datetime
import os
import random
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from headroom.demo.catalogue import CATEGORIES, product_name, product_slug

if TYPE_CHECKING:
    from django.db.models import Model
    from rich.progress import Progress

#: Written to ``PRAGMA user_version``: a database built by another version is rebuilt.
DATA_VERSION = 1
SEED = 20100907
BATCH = 5000
STAFF_USER = "demo-staff"
CUSTOMER_USER = "demo-customer"

START = datetime.datetime(2023, 7, 1, tzinfo=datetime.UTC)
END = datetime.datetime(2025, 7, 1, tzinfo=datetime.UTC)


@dataclass(frozen=True)
class Size:
    products: int
    customers: int
    orders: int
    #: Reviews per product: between 0 and twice this, at random.
    reviews_per_product: int = 4


SIZES: dict[str, Size] = {
    "default": Size(products=20_000, customers=20_000, orders=200_000),
    "small": Size(products=2_000, customers=2_000, orders=20_000),
}

_FIRST = (
    "Ada",
    "Ben",
    "Chloe",
    "Dev",
    "Elena",
    "Farid",
    "Grace",
    "Hugo",
    "Iris",
    "Jonas",
    "Kemi",
    "Liam",
    "Mina",
    "Noah",
    "Olga",
    "Priya",
    "Quinn",
    "Rosa",
    "Sami",
    "Tara",
)
_LAST = (
    "Okafor",
    "Schmidt",
    "Nguyen",
    "Garcia",
    "Kowalski",
    "Haddad",
    "Silva",
    "Tanaka",
    "Murphy",
    "Rossi",
    "Novak",
    "Larsen",
    "Patel",
    "Dubois",
    "Jensen",
    "Moreau",
)
_CITIES = (
    "Leeds",
    "Bristol",
    "York",
    "Cardiff",
    "Glasgow",
    "Belfast",
    "Norwich",
    "Bath",
    "Exeter",
    "Dundee",
    "Oxford",
    "Hull",
)
_STREETS = (
    "High Street",
    "Station Road",
    "Church Lane",
    "Mill Road",
    "Park Avenue",
    "Victoria Road",
    "Green Lane",
    "Kings Road",
)
_REVIEW_TITLES = (
    "Does the job",
    "Lovely",
    "Not as pictured",
    "Great value",
    "Sturdy",
    "Would buy again",
    "Smaller than expected",
    "Perfect gift",
)
#: Order statuses and how common each is among the generated (mostly old) orders.
_STATUSES = (
    ("delivered", 55),
    ("shipped", 12),
    ("paid", 12),
    ("pending", 4),
    ("cancelled", 11),
    ("refunded", 6),
)


def _moment(rng: random.Random, start: datetime.datetime, end: datetime.datetime) -> Any:
    span = (end - start).total_seconds()
    return start + datetime.timedelta(seconds=int(rng.random() * span))


def _cents(value: int) -> Decimal:
    return Decimal(value).scaleb(-2)


class _Writer:
    """Writes rows in batches and advances the progress bar as it goes."""

    def __init__(self, progress: Progress | None) -> None:
        self.progress = progress
        self.counts: dict[str, int] = {}

    def write(self, label: str, total: int, rows: Iterator[Model]) -> None:
        from django.db import transaction

        task = self.progress.add_task(label, total=total) if self.progress else None
        batch: list[Model] = []
        written = 0
        with transaction.atomic():
            for row in rows:
                batch.append(row)
                if len(batch) >= BATCH:
                    written += self._flush(batch, task)
            written += self._flush(batch, task)
        if self.progress is not None and task is not None:
            self.progress.update(task, total=written, completed=written)
        self.counts[label] = written

    def _flush(self, batch: list[Model], task: Any) -> int:
        if not batch:
            return 0
        type(batch[0]).objects.bulk_create(batch)  # type: ignore[attr-defined]
        count = len(batch)
        batch.clear()
        if self.progress is not None:
            self.progress.advance(task, count)
        return count


def generate(size: str = "default", *, progress: bool = True, seed: int = SEED) -> dict[str, int]:
    """Fill the migrated, empty database of the configured demo settings; return row counts.

    Needs Django set up with ``headroom.demo.settings``.
    """
    from django.contrib.auth import get_user_model
    from django.db import connection

    from headroom.demo.shop.models import Category, Customer, Order, OrderItem, Product, Review

    spec = SIZES[size]
    rng = random.Random(seed)
    with connection.cursor() as cursor:
        # A fresh file being filled: if the machine dies, it is rebuilt anyway.
        cursor.execute("PRAGMA synchronous=OFF")

    user_model = get_user_model()
    user_model.objects.create_superuser(STAFF_USER, "staff@demo.headroom.invalid", None)
    customer_user = user_model.objects.create_user(
        CUSTOMER_USER, "customer@demo.headroom.invalid", None
    )

    prices = [rng.randint(300, 25_000) for _ in range(spec.products + 1)]
    product_categories = [rng.randrange(len(CATEGORIES)) + 1 for _ in range(spec.products + 1)]

    def categories() -> Iterator[Category]:
        for number, (slug, name) in enumerate(CATEGORIES, start=1):
            yield Category(id=number, slug=slug, name=name, description=f"Everything {slug}.")

    def products() -> Iterator[Product]:
        for i in range(1, spec.products + 1):
            name = product_name(i)
            yield Product(
                id=i,
                category_id=product_categories[i],
                slug=product_slug(i),
                name=name,
                description=f"The {name.lower()}: made to last, sold by the demo shop.",
                price=_cents(prices[i]),
                created_at=_moment(rng, START - datetime.timedelta(days=365), START),
            )

    addresses: list[tuple[str, str, str, str]] = [("", "", "", "")]

    def customers() -> Iterator[Customer]:
        for i in range(1, spec.customers + 1):
            name = f"{rng.choice(_FIRST)} {rng.choice(_LAST)}"
            city = rng.choice(_CITIES)
            street = f"{rng.randint(1, 240)} {rng.choice(_STREETS)}"
            postcode = f"{city[:2].upper()}{rng.randint(1, 29)} {rng.randint(1, 9)}AB"
            addresses.append((name, street, city, postcode))
            yield Customer(
                id=i,
                user_id=customer_user.pk if i == 1 else None,
                name=name,
                email=f"customer{i}@example.com",
                city=city,
                joined_at=_moment(rng, START - datetime.timedelta(days=700), END),
            )

    def reviews() -> Iterator[Review]:
        for product in range(1, spec.products + 1):
            for _ in range(rng.randint(0, 2 * spec.reviews_per_product)):
                rating = rng.choices((1, 2, 3, 4, 5), weights=(1, 1, 3, 6, 7))[0]
                yield Review(
                    product_id=product,
                    customer_id=rng.randint(1, spec.customers),
                    rating=rating,
                    title=rng.choice(_REVIEW_TITLES),
                    body="Arrived quickly and looks like the photos." * rng.randint(1, 3),
                    created_at=_moment(rng, START, END),
                )

    items: list[OrderItem] = []
    statuses = [s for s, _ in _STATUSES]
    weights = [w for _, w in _STATUSES]

    def orders() -> Iterator[Order]:
        for i in range(1, spec.orders + 1):
            customer = rng.randint(1, spec.customers)
            total = 0
            for _ in range(rng.choices((1, 2, 3), weights=(5, 3, 2))[0]):
                product, quantity = rng.randint(1, spec.products), rng.randint(1, 3)
                total += prices[product] * quantity
                items.append(
                    OrderItem(
                        order_id=i,
                        product_id=product,
                        quantity=quantity,
                        unit_price=_cents(prices[product]),
                    )
                )
            name, street, city, postcode = addresses[customer]
            yield Order(
                id=i,
                reference=f"HR-{i:08d}",
                customer_id=customer,
                email=f"customer{customer}@example.com",
                status=rng.choices(statuses, weights=weights)[0],
                placed_at=_moment(rng, START, END),
                total=_cents(total),
                shipping_name=name,
                shipping_address=street,
                shipping_city=city,
                shipping_postcode=postcode,
                payment_reference=f"ch_demo_{i:08d}",
            )

    def order_items() -> Iterator[OrderItem]:
        yield from items

    bar = _progress_bar() if progress else None
    writer = _Writer(bar)
    steps: Sequence[tuple[str, int, Callable[[], Iterator[Any]]]] = (
        ("categories", len(CATEGORIES), categories),
        ("products", spec.products, products),
        ("customers", spec.customers, customers),
        ("reviews", spec.products * spec.reviews_per_product, reviews),
        ("orders", spec.orders, orders),
        ("order items", spec.orders * 2, order_items),
    )
    if bar is not None:
        bar.start()
    try:
        for label, total, rows in steps:
            writer.write(label, total, rows())
    finally:
        if bar is not None:
            bar.stop()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
        cursor.execute(f"PRAGMA user_version = {DATA_VERSION}")
    return writer.counts


def _progress_bar() -> Progress:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    return Progress(
        TextColumn("[bold]{task.description:>12}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Migrate and fill a demo database file. Exit codes: 0 built, 2 bad usage."""
    parser = argparse.ArgumentParser(
        prog="python -m headroom.demo.generate",
        description="Build the demo shop's SQLite database: migrate it, then fill it.",
    )
    parser.add_argument("--size", choices=sorted(SIZES), default="default")
    parser.add_argument("--database", required=True, help="the SQLite file to create")
    parser.add_argument(
        "--fixed", action="store_true", help="use the fixed mode's migrations and indexes"
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    if os.path.exists(args.database):
        parser.error(f"{args.database} exists; the generator only fills a new file")
    os.environ["DJANGO_SETTINGS_MODULE"] = "headroom.demo.settings"
    os.environ["HEADROOM_DEMO_DB"] = os.path.abspath(args.database)
    os.environ["HEADROOM_DEMO_FIXED"] = "1" if args.fixed else "0"
    import django
    from django.core.management import call_command

    django.setup()
    began = time.monotonic()
    call_command("migrate", verbosity=0, interactive=False)
    counts = generate(args.size, progress=not args.no_progress)
    summary = ", ".join(f"{count:,} {label}" for label, count in counts.items())
    mode = "fixed" if args.fixed else "planted"
    print(
        f"demo database ({args.size}, {mode}) built in {time.monotonic() - began:.1f} s: {summary}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
