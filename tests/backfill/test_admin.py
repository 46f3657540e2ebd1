"""The admin shows the same figures as the terminal, and pauses, resumes and cancels."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client, override_settings
from django.urls import path

from headroom.backfill.models import BackfillRun
from tests.backfill.conftest import fill_counters

pytestmark = pytest.mark.django_db(transaction=True)


def urlpatterns_with_admin() -> list[object]:
    from django.contrib import admin

    return [path("admin/", admin.site.urls)]


urlpatterns = urlpatterns_with_admin()


@pytest.fixture
def staff() -> Client:
    User.objects.create_superuser("ada", "ada@example.com", "pw")
    client = Client()
    client.login(username="ada", password="pw")
    return client


@override_settings(ROOT_URLCONF="tests.backfill.test_admin")
def test_the_admin_shows_progress_and_steers_the_run(staff: Client) -> None:
    fill_counters("default", 10)
    run = BackfillRun.objects.create(
        name="backfilltests.CountEveryRow",
        state="running",
        rows_done=45_000,
        rows_total=100_000,
        progress=0.45,
        rows_per_second=15_000,
        eta_seconds=3.7,
        batch_size=7_500,
    )
    page = staff.get("/admin/headroom/backfillrun/").content.decode()
    for figure in ("45.0%", "45,000 / 100,000", "15,000", "3.7s", "7500", "running"):
        assert figure in page, figure

    url = "/admin/headroom/backfillrun/"
    response = staff.post(url, {"action": "pause", "_selected_action": [run.pk]}, follow=True)
    assert f"Run #{run.pk} of backfilltests.CountEveryRow is paused." in response.content.decode()
    run.refresh_from_db()
    assert run.state == "paused"

    staff.post(url, {"action": "resume", "_selected_action": [run.pk]})
    run.refresh_from_db()
    assert run.state == "enqueued"  # nobody runs it now; `headroom backfill run` picks it up

    staff.post(url, {"action": "cancel", "_selected_action": [run.pk]})
    run.refresh_from_db()
    assert run.state == "cancelled"
    detail = staff.get(f"/admin/headroom/backfillrun/{run.pk}/change/").content.decode()
    assert "backfilltests.CountEveryRow" in detail
