"""The admin shows the same figures as the terminal, and pauses, resumes and cancels."""

from __future__ import annotations

import re

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


URL = "/admin/headroom/backfillrun/"
NAME = "backfilltests.CountEveryRow"


@override_settings(ROOT_URLCONF="tests.backfill.test_admin")
def test_an_action_on_a_finished_run_leaves_the_unfinished_one_alone(staff: Client) -> None:
    over = BackfillRun.objects.create(name=NAME, state="cancelled")
    going = BackfillRun.objects.create(name=NAME, state="running")
    for action in ("pause", "resume", "cancel"):
        response = staff.post(URL, {"action": action, "_selected_action": [over.pk]}, follow=True)
        page = response.content.decode()
        assert f"Run #{over.pk} of {NAME} is cancelled; nothing to {action}." in page, action
        assert "Backfilltests." not in page  # the name as registered, not capitalised
        going.refresh_from_db()
        assert going.state == "running", action
    over.refresh_from_db()
    assert over.state == "cancelled"


@override_settings(ROOT_URLCONF="tests.backfill.test_admin")
def test_pause_acts_on_the_selected_run_and_wakes_its_runner(
    staff: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    from headroom.backfill import control

    woken: list[tuple[str, int, str]] = []
    monkeypatch.setattr(control, "notify", lambda *args: woken.append(args))
    over = BackfillRun.objects.create(name=NAME, state="cancelled")
    going = BackfillRun.objects.create(name=NAME, state="running")
    selected = [over.pk, going.pk]
    response = staff.post(URL, {"action": "pause", "_selected_action": selected}, follow=True)
    page = response.content.decode()
    assert f"Run #{going.pk} of {NAME} is paused." in page
    assert f"Run #{over.pk} of {NAME} is cancelled; nothing to pause." in page
    going.refresh_from_db()
    over.refresh_from_db()
    assert (going.state, over.state) == ("paused", "cancelled")
    assert woken == [("default", going.pk, "pause")]  # as `headroom backfill pause` does


@override_settings(ROOT_URLCONF="tests.backfill.test_admin")
def test_an_unfinished_run_cannot_be_deleted(staff: Client) -> None:
    going = BackfillRun.objects.create(name=NAME, state="running")
    over = BackfillRun.objects.create(name=NAME, state="succeeded")
    assert staff.get(f"{URL}{going.pk}/delete/").status_code == 403
    assert staff.post(f"{URL}{going.pk}/delete/", {"post": "yes"}).status_code == 403
    change = staff.get(f"{URL}{going.pk}/change/").content.decode()
    assert f"{going.pk}/delete/" not in change  # no Delete button

    selected = [going.pk, over.pk]
    response = staff.post(
        URL, {"action": "delete_selected", "_selected_action": selected, "post": "yes"}, follow=True
    )
    page = response.content.decode()
    assert f"Run #{going.pk} of {NAME} is running; it cannot be deleted" in page
    assert list(BackfillRun.objects.values_list("pk", flat=True)) == [going.pk]  # over: gone


@override_settings(ROOT_URLCONF="tests.backfill.test_admin")
def test_the_change_page_shows_each_figure_once_formatted(staff: Client) -> None:
    run = BackfillRun.objects.create(
        name=NAME,
        state="succeeded",
        rows_done=1_900,
        rows_total=1_900,
        progress=1.0,
        seconds_busy=0.06202411699996446,
        rows_per_second=30623.329727824377,
        eta_seconds=0.0,
        longest_batch_seconds=0.031234,
    )
    page = staff.get(f"{URL}{run.pk}/change/").content.decode()
    for figure in ("100.0%", "30,623", "0.06s", "0.03s", "1,900 / 1,900"):
        assert figure in page, figure
    for raw in ("0.06202411699996446", "30623.3", "0.031234", "Eta seconds", "Rows done"):
        assert raw not in page, raw
    for label in ("Progress", "ETA", "Rows/s"):
        assert page.count(f"<label>{label}:</label>") == 1, label


@override_settings(ROOT_URLCONF="tests.backfill.test_admin")
def test_on_sqlite_inside_the_requests_transaction_a_locked_database_is_reported(
    staff: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With ATOMIC_REQUESTS the admin has read before the action, and SQLite cannot let such a
    transaction wait for the write lock: the action says so and what to set, and changes
    nothing; once the lock is free it goes through."""
    import sqlite3
    import threading

    from django.db import connections

    default = connections["default"]
    if default.vendor != "sqlite":
        pytest.skip("SQLite's locking")
    going = BackfillRun.objects.create(name=NAME, state="running")
    monkeypatch.setitem(default.settings_dict, "ATOMIC_REQUESTS", True)
    holding, release = threading.Event(), threading.Event()

    def writer() -> None:  # another connection, in the middle of writing
        other = sqlite3.connect(default.settings_dict["NAME"], timeout=10, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        other.execute("UPDATE headroom_backfillrun SET updated_at = updated_at")
        holding.set()
        release.wait(10)
        other.execute("COMMIT")
        other.close()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        holding.wait(10)
        response = staff.post(URL, {"action": "pause", "_selected_action": [going.pk]})
    finally:
        release.set()
        thread.join()
    assert response.status_code == 302
    page = staff.get(URL).content.decode()
    assert f"Run #{going.pk}: could not pause it, the database was locked" in page
    assert "transaction_mode" in page
    going.refresh_from_db()
    assert going.state == "running"
    staff.post(URL, {"action": "pause", "_selected_action": [going.pk]})
    going.refresh_from_db()
    assert going.state == "paused"


@override_settings(ROOT_URLCONF="tests.backfill.test_admin")
def test_the_change_page_counts_a_celery_runs_batches_by_state(staff: Client) -> None:
    from headroom.backfill.models import BackfillBatch

    run = BackfillRun.objects.create(name=NAME, state="failed", executor="celery")
    for seq, state in enumerate(["done", "done", "failed", "parked", "done"], start=1):
        BackfillBatch.objects.create(run=run, seq=seq, end_key=[seq], state=state)
    inline = BackfillRun.objects.create(name=NAME, state="succeeded")
    shown = re.compile(r"Batches sent \(Celery\):</label>\s*<div class=\"readonly\">([^<]*)</div>")
    page = staff.get(f"{URL}{run.pk}/change/").content.decode()
    assert shown.findall(page) == ["3 done, 1 failed, 1 parked"]
    page = staff.get(f"{URL}{inline.pk}/change/").content.decode()
    assert shown.findall(page) == ["-"]  # an inline run has no batch rows
