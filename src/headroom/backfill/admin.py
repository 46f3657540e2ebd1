"""Backfill runs in the Django admin: progress, rows/s and ETA; pause, resume and cancel."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.actions import delete_selected as django_delete_selected
from django.db import OperationalError
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy

from headroom.backfill import control
from headroom.backfill.models import BackfillFailure, BackfillRun
from headroom.backfill.progress import duration, shown_total
from headroom.backfill.progress import rate as shown_rate

#: Raw figures of a run that the change page shows formatted instead, each once (None: it
#: is part of another: ``rows`` reads "done / total").
SHOWN_AS: dict[str, str | None] = {
    "rows_done": "rows",
    "rows_total": None,
    "rows_per_second": "rate",
    "progress": "progress_percent",
    "eta_seconds": "eta",
    "seconds_busy": "busy",
    "longest_batch_seconds": "longest_batch",
}


def _seconds(value: float) -> str:
    """Two decimals for the short times of a batch; minutes and hours past a minute."""
    return f"{value:.2f}s" if value < 60 else duration(value)


def _run_first(text: str, run_id: int) -> str:
    """``text`` opening with the run: the admin capitalises a message's first letter, which
    would turn a leading backfill name (``orders.MarkNotes``) into another one."""
    return text if text.startswith("run #") else f"run #{run_id}: {text}"


class FailureInline(admin.TabularInline):  # type: ignore[type-arg]
    model = BackfillFailure
    extra = 0
    can_delete = False
    fields = ("start_key", "end_key", "attempts", "error", "resolved", "created_at")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def _locked(run_id: int, action: str) -> str:
    return (
        f"run #{run_id}: could not {action} it, the database was locked by another writer "
        "(a batch being committed); try again. On SQLite with ATOMIC_REQUESTS, set "
        'OPTIONS["transaction_mode"] = "IMMEDIATE" (Django 5.1 and later) so that each '
        "request waits for the write lock instead."
    )


def _steer(action: str) -> Any:
    def apply(modeladmin: Any, request: HttpRequest, queryset: QuerySet[BackfillRun]) -> None:
        # By primary key: control.pause(name) and the like act on the backfill's latest
        # unfinished run, which need not be the one selected.
        for pk in queryset.values_list("pk", flat=True):
            try:
                run = control.steer(pk, queryset.db, action)
            except control.RunError as exc:
                modeladmin.message_user(request, _run_first(str(exc), pk), messages.WARNING)
                continue
            except OperationalError as exc:
                if "locked" not in str(exc):
                    raise
                # SQLite, inside the request's own transaction (ATOMIC_REQUESTS) that has
                # read already: it cannot wait for the write lock (control.write_lock).
                modeladmin.message_user(request, _locked(pk, action), messages.ERROR)
                continue
            modeladmin.message_user(request, f"run #{run.pk} of {run.name} is {run.state}.")

    apply.__name__ = action
    apply.short_description = f"{action.capitalize()} the selected runs"  # type: ignore[attr-defined]
    return apply


@admin.register(BackfillRun)
class BackfillRunAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = (
        "name",
        "id",
        "state",
        "progress_percent",
        "rows",
        "rate",
        "eta",
        "batch_size",
        "failures",
        "throttle_reason",
        "updated_at",
    )
    list_filter = ("state", "name")
    search_fields = ("name",)
    actions = [_steer("pause"), _steer("resume"), _steer("cancel"), "delete_selected"]
    inlines = [FailureInline]
    readonly_fields = (
        *(
            shown
            for shown in (SHOWN_AS.get(f.name, f.name) for f in BackfillRun._meta.fields)
            if shown
        ),
        "batch_states",
    )
    fields = readonly_fields

    @admin.display(description="progress")
    def progress_percent(self, run: BackfillRun) -> str:
        return f"{run.percent:.1f}%"

    @admin.display(description="rows")
    def rows(self, run: BackfillRun) -> str:
        total = f" / {shown_total(run):,}" if run.rows_total is not None else ""
        return f"{run.rows_done:,}{total}"

    @admin.display(description="rows/s")
    def rate(self, run: BackfillRun) -> str:
        return shown_rate(run)

    @admin.display(description="ETA")
    def eta(self, run: BackfillRun) -> str:
        return duration(run.eta_seconds) if run.is_active else "-"

    @admin.display(description="busy")
    def busy(self, run: BackfillRun) -> str:
        return _seconds(run.seconds_busy)

    @admin.display(description="longest batch")
    def longest_batch(self, run: BackfillRun) -> str:
        return _seconds(run.longest_batch_seconds)

    @admin.display(description="batches sent (Celery)")
    def batch_states(self, run: BackfillRun) -> str:
        """How many of a Celery run's batches are in each state: those ``parked`` or
        ``pending`` in a run that stopped are what ``--retry-failed`` does again."""
        counts = run.batches.values_list("state").annotate(n=Count("id")).order_by("state")
        return ", ".join(f"{n:,} {state}" for state, n in counts) or "-"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: BackfillRun | None = None) -> bool:
        # A runner reads and writes its run's row between batches: gone, it crashes
        # (BackfillRun.DoesNotExist). Cancel the run first; once it is over, it may go.
        if obj is not None and obj.is_active:
            return False
        return super().has_delete_permission(request, obj)

    @admin.action(
        permissions=["delete"],
        description=gettext_lazy("Delete selected %(verbose_name_plural)s"),  # Django's own
    )
    def delete_selected(
        self, request: HttpRequest, queryset: QuerySet[BackfillRun]
    ) -> TemplateResponse | None:
        """Django's own bulk delete (confirmation page and all), of finished runs only."""
        runs = list(queryset)
        for run in runs:
            if run.is_active:
                self.message_user(
                    request,
                    f"run #{run.pk} of {run.name} is {run.state}; it cannot be deleted until "
                    "it is over (cancel it first).",
                    messages.WARNING,
                )
        finished = [run.pk for run in runs if not run.is_active]
        if not finished:
            return None
        return django_delete_selected(self, request, queryset.filter(pk__in=finished))
