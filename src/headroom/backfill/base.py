"""The :class:`Backfill` base class, and :class:`CsvBackfill` for rows read from a file."""

from __future__ import annotations

import csv
import inspect
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from django.core.exceptions import ImproperlyConfigured

from headroom.backfill.params import Param

if TYPE_CHECKING:
    from django.db.models import Model, QuerySet


class Backfill:
    """A data backfill, run in small keyset batches by ``headroom backfill run``.

    Set ``queryset`` (or override :meth:`get_queryset`) to the rows that still need the
    change, and either set ``update`` to a dict for ``QuerySet.update()`` or override
    :meth:`process`, which gets each batch as a queryset bounded by a key range::

        class FillOrderTotals(Backfill):
            \"\"\"Orders created before 3.1 have no total.\"\"\"

            queryset = Order.objects.filter(total__isnull=True)

            def process(self, batch):
                return batch.update(total=F("quantity") * F("unit_price"))

    A class defined in an app's ``backfills.py`` registers itself as ``app_label.ClassName``;
    elsewhere, decorate it with :func:`headroom.backfill.register`.

    Each batch runs in one transaction together with the run's checkpoint, so work done
    through the database happens exactly once even when the process is killed. Side effects
    outside the database (mail, HTTP) may repeat for the batch that was in flight.
    """

    #: The rows that still need the backfill. Keep it narrowing (filter on the very thing
    #: the backfill changes) so that a finished backfill matches no row.
    queryset: ClassVar[QuerySet[Any] | None] = None
    #: ``QuerySet.update()`` keyword arguments, instead of overriding :meth:`process`.
    update: ClassVar[Mapping[str, Any] | None] = None
    #: Columns to walk in order; default: the primary key (all of its columns if composite).
    #: They must be unique together and indexed; more than one are compared as a row value.
    cursor: ClassVar[tuple[str, ...] | None] = None
    #: Database alias; default: where the router sends writes for the queryset's model.
    database: str | None = None
    #: Per-backfill overrides of ``HEADROOM["BACKFILL_TARGET_BATCH_SECONDS"]`` and the sizes.
    target_batch_seconds: ClassVar[float | None] = None
    batch_size: ClassVar[int | None] = None
    min_batch_size: ClassVar[int | None] = None
    max_batch_size: ClassVar[int | None] = None
    #: Do not register this class (a base for other backfills).
    abstract: ClassVar[bool] = True

    #: Set by registration.
    name: ClassVar[str] = ""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "abstract" not in cls.__dict__:
            cls.abstract = False
        if not cls.abstract and cls.__module__.rsplit(".", 1)[-1] == "backfills":
            from headroom.backfill.registry import register

            register(cls)

    def __init__(self, **params: Any) -> None:
        values: dict[str, Any] = {}
        declared = self.params()
        for key in params:
            if key not in declared:
                known = ", ".join(declared) or "none"
                raise ValueError(
                    f"{self.name or type(self).__name__} has no parameter {key!r} "
                    f"(parameters: {known})"
                )
        for key, param in declared.items():
            if key in params:
                values[key] = param.parse(params[key])
            elif param.required:
                raise ValueError(
                    f"{self.name or type(self).__name__} needs the parameter {key!r}: "
                    f"params={{{key!r}: ...}}"
                )
        self._param_values = values

    # --- what a subclass may override ------------------------------------------------------

    def get_queryset(self) -> QuerySet[Any]:
        """The rows that still need the backfill (default: ``queryset``)."""
        if self.queryset is None:
            raise ImproperlyConfigured(
                f"{type(self).__name__} sets neither `queryset` nor `get_queryset()`."
            )
        return self.queryset.all()

    def process(self, batch: QuerySet[Any]) -> int | None:
        """Change the rows of ``batch`` and return how many changed.

        Returning None makes the runner count the batch's rows itself, before this runs
        (one more query a batch).
        """
        if self.update is None:
            raise ImproperlyConfigured(
                f"{type(self).__name__} sets neither `update` nor `process()`."
            )
        return batch.update(**self.update)

    def throttle(self) -> str | None:
        """Return why the run should wait now, or None to go on. Checked between batches."""
        return None

    # --- used by the runner ----------------------------------------------------------------

    @classmethod
    def params(cls) -> dict[str, Param]:
        found: dict[str, Param] = {}
        for klass in reversed(cls.__mro__):
            for key, value in vars(klass).items():
                if isinstance(value, Param):
                    found[key] = value
        return found

    def param_values(self) -> dict[str, Any]:
        declared = self.params()
        return {key: declared[key].to_json(value) for key, value in self._param_values.items()}

    @classmethod
    def description(cls) -> str:
        doc = inspect.getdoc(cls) or ""
        if cls.__doc__ is None or doc == inspect.getdoc(Backfill):
            return ""
        return doc.strip().splitlines()[0] if doc.strip() else ""

    def model(self) -> type[Model]:
        return self.get_queryset().model

    def database_alias(self) -> str:
        if self.database:
            return self.database
        from django.db import router

        return router.db_for_write(self.model())

    def key_fields(self) -> list[str]:
        """The attnames of the cursor columns."""
        model = self.model()
        if self.cursor:
            fields = [model._meta.get_field(name) for name in self.cursor]
            nullable = [f.name for f in fields if getattr(f, "null", False)]
            if nullable:
                raise ImproperlyConfigured(
                    f"{self.name or type(self).__name__}: the cursor column(s) "
                    f"{', '.join(nullable)} allow NULL, and rows where one is NULL would never "
                    "be walked. Use columns that cannot be NULL (ending with the primary key)."
                )
            return [str(getattr(f, "attname", f.name)) for f in fields]
        pk = model._meta.pk
        assert pk is not None
        columns = getattr(pk, "fields", None)  # CompositePrimaryKey (Django 5.2)
        if columns:
            return [f.attname for f in columns]
        return [pk.attname]

    def describe_kind(self) -> str:
        return (
            "update"
            if self.update is not None and type(self).process is Backfill.process
            else "process"
        )


class CsvBackfill(Backfill):
    """A backfill fed by the rows of a CSV file instead of a queryset.

    ``process(rows)`` gets a list of dicts (header -> text), a batch at a time; the cursor is
    the number of data rows done. ``database`` says where the run's state (and, for the
    exactly-once guarantee, the changes ``process`` makes) live::

        class ImportPrices(CsvBackfill):
            def process(self, rows):
                for row in rows:
                    Product.objects.filter(sku=row["sku"]).update(price=row["price"])
                return len(rows)

    Run it with ``headroom backfill run shop.ImportPrices --param path=prices.csv``.
    """

    abstract = True
    path = Param(str, help="the CSV file to read")
    encoding: ClassVar[str] = "utf-8"
    dialect: ClassVar[str] = "excel"

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        path = self._param_values.get("path")
        if path is not None:
            # Before any run is recorded: a file that cannot be read is bad input, not a
            # run that fails half-way.
            try:
                with open(path, "rb"):
                    pass
            except OSError as exc:
                raise ValueError(f"parameter 'path': cannot read {path!r}: {exc.strerror}") from exc

    def get_queryset(self) -> QuerySet[Any]:
        raise TypeError("a CsvBackfill has no queryset")

    def process(self, rows: list[dict[str, str]]) -> int | None:  # type: ignore[override]
        raise ImproperlyConfigured(f"{type(self).__name__} must define process(rows).")

    def database_alias(self) -> str:
        return self.database or "default"

    def key_fields(self) -> list[str]:
        return ["row"]

    def rows(self, after: int) -> Iterator[dict[str, str]]:
        """Data rows after the first ``after`` ones."""
        with open(self.path, newline="", encoding=self.encoding) as handle:
            reader = csv.DictReader(handle, dialect=self.dialect)
            for number, row in enumerate(reader, start=1):
                if number > after:
                    yield row

    def count_rows(self) -> int:
        with open(self.path, newline="", encoding=self.encoding) as handle:
            return sum(1 for _ in csv.DictReader(handle, dialect=self.dialect))
