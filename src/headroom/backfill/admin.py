"""Backfill runs in the Django admin: progress, rows/s and ETA; pause, resume and cancel."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from headroom.backfill import control
from headroom.backfill.models import BackfillFailure, BackfillRun
from headroom.backfill.progress import duration


class FailureInline(admin.TabularInline):  # type: ignore[type-arg]
    model = BackfillFailure
    extra = 0
    can_delete = False
    fields = ("start_key", "end_key", "attempts", "error", "resolved", "created_at")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def _steer(action: str) -> Any:
    def apply(modeladmin: Any, request: HttpRequest, queryset: QuerySet[BackfillRun]) -> None:
        for run in queryset:
            using = run._state.db or "default"
            try:
                changed = getattr(control, action)(run.name, using)
            except control.RunError as exc:
                modeladmin.message_user(request, str(exc), messages.WARNING)
                continue
            modeladmin.message_user(
                request, f"run #{changed.pk} of {changed.name} is {changed.state}."
            )

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
    actions = [_steer("pause"), _steer("resume"), _steer("cancel")]
    inlines = [FailureInline]
    readonly_fields = [f.name for f in BackfillRun._meta.fields] + [
        "progress_percent",
        "rate",
        "eta",
    ]

    @admin.display(description="progress")
    def progress_percent(self, run: BackfillRun) -> str:
        return f"{run.percent:.1f}%"

    @admin.display(description="rows")
    def rows(self, run: BackfillRun) -> str:
        total = f" / {run.rows_total:,}" if run.rows_total is not None else ""
        return f"{run.rows_done:,}{total}"

    @admin.display(description="rows/s")
    def rate(self, run: BackfillRun) -> str:
        return f"{run.rows_per_second:,.0f}"

    @admin.display(description="ETA")
    def eta(self, run: BackfillRun) -> str:
        return duration(run.eta_seconds) if run.is_active else "-"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
