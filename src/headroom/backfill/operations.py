"""``RequireBackfill``: a migration operation that waits for a backfill to be done.

Put it first in the migration that relies on the backfilled data, typically the one that
tightens the column afterwards::

    operations = [
        RequireBackfill("orders.FillOrderTotals"),
        migrations.AlterField("order", "total", models.DecimalField(...)),  # SET NOT NULL
    ]

``migrate`` then refuses to apply that migration, with the command to run, until a run of
the backfill has succeeded on that database and no row matches its queryset any more. On a
database whose table has no rows at all (a new install, a test database) there is nothing
to backfill, and the migration applies.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError
from django.db.migrations.operations.base import Operation


class BackfillRequired(CommandError):
    """The required backfill has not finished; the message says what to run."""


def backfill_problem(name: str, using: str, *, allow_empty: bool = True) -> str | None:
    """Why the backfill ``name`` is not done on ``using``, or None when it is."""
    from headroom.backfill import control
    from headroom.backfill.base import CsvBackfill
    from headroom.backfill.models import BackfillRun, State
    from headroom.backfill.registry import UnknownBackfill, get_backfill

    try:
        cls = get_backfill(name)
    except UnknownBackfill as exc:
        return str(exc)
    runs = BackfillRun.objects.using(using).filter(name=cls.name)
    last = runs.order_by("-id").first()
    succeeded = runs.filter(state=State.SUCCEEDED).order_by("-id").first()
    known = succeeded or last  # whose parameters the check and the command use
    command = "python manage.py " + control.command(
        "run", cls.name, known.params if known else None
    )
    if issubclass(cls, CsvBackfill):
        # No queryset to look at: done when a run went through the whole file.
        if succeeded is not None:
            return None
        return (
            f"backfill {cls.name} has not succeeded on database {using!r} "
            f"({_where(last)}). Run it, then migrate again:\n    {command}"
        )
    try:
        backfill = cls(**(known.params if known else {}))
        queryset = backfill.get_queryset().using(using)
    except (ValueError, TypeError) as exc:
        # It needs parameters and has never run: with an empty table (a new install, a
        # test database) there is nothing to backfill all the same.
        model = getattr(cls.queryset, "model", None)
        if (
            known is None
            and allow_empty
            and model is not None
            and not model._default_manager.using(using).exists()
        ):
            return None
        return f"{cls.name} cannot be checked ({exc})"
    remaining = queryset[:1001].count()
    if succeeded is None:
        if (
            remaining == 0
            and allow_empty
            and not queryset.model._default_manager.using(using).exists()
        ):
            return None  # an empty table: nothing to backfill
        count = "more than 1,000" if remaining > 1000 else f"{remaining:,}"
        return (
            f"backfill {cls.name} has not succeeded on database {using!r} ({_where(last)}); "
            f"{count} row(s) still need it. Run it, then migrate again:\n    {command}"
        )
    if remaining:
        count = "more than 1,000" if remaining > 1000 else f"{remaining:,}"
        if last is not None and last.pk != succeeded.pk:
            # A later run that did not succeed is where those rows stand now.
            return (
                f"backfill {cls.name} has not finished its last run on database {using!r} "
                f"(#{last.pk}, {last.state} at {last.percent:.1f}%; #{succeeded.pk} "
                f"succeeded before it); {count} row(s) still need it. Run it, then migrate "
                f"again:\n    {command}"
            )
        return (
            f"backfill {cls.name} succeeded (run #{succeeded.pk}) but {count} row(s) match its "
            "queryset again (written since by code that does not fill them in?). Deploy the "
            f"code that fills them, run the backfill again, then migrate:\n    {command}"
        )
    return None


def _where(last: Any) -> str:
    if last is None:
        return "it has never run"
    return f"its last run, #{last.pk}, is {last.state} at {last.percent:.1f}%"


class RequireBackfill(Operation):
    """Refuse to migrate until the named backfill has succeeded and no row still needs it."""

    reversible = True
    reduces_to_sql = False

    def __init__(self, name: str, *, allow_empty: bool = True) -> None:
        self.name = name
        self.allow_empty = allow_empty

    def deconstruct(self) -> tuple[str, list[Any], dict[str, Any]]:
        kwargs = {} if self.allow_empty else {"allow_empty": False}
        return (self.__class__.__qualname__, [self.name], kwargs)

    def state_forwards(self, app_label: str, state: Any) -> None:
        pass

    def database_forwards(
        self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any
    ) -> None:
        problem = backfill_problem(
            self.name, schema_editor.connection.alias, allow_empty=self.allow_empty
        )
        if problem:
            raise BackfillRequired(f"headroom refused to migrate {app_label}: {problem}")

    def database_backwards(
        self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any
    ) -> None:
        pass

    def describe(self) -> str:
        return f"Require backfill {self.name} to have succeeded"

    @property
    def migration_name_fragment(self) -> str:
        return "require_" + self.name.lower().replace(".", "_")
