"""The backfill admin in a real browser (Chromium), steering a run that a real
``headroom backfill run`` process is running: pause, resume and cancel through the admin's
action menu, and the change page's figures as the runner last wrote them."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import django.contrib.admin
import pytest
from django.contrib.auth.models import User

from headroom.backfill.models import BackfillRun
from headroom.backfill.progress import duration, shown_total
from headroom.backfill.progress import rate as shown_rate
from tests import services
from tests.backfill.conftest import fill_counters, hits
from tests.backfill.processes import CommandRun, environment, wait_for

pytestmark = pytest.mark.django_db(transaction=True)

NAME = "backfilltests.CountEveryRow"
ROWS = 20_000


class Admin:
    """A Chromium page logged in to the live server's admin."""

    def __init__(self, page: Any, url: str) -> None:
        self.page = page
        self.runs = f"{url}/admin/headroom/backfillrun/"

    def apply(self, run: BackfillRun, action: str) -> str:
        """Tick ``run`` on the change list, pick ``action`` from the menu and press Go;
        returns the messages shown."""
        self.page.goto(self.runs)
        self.page.check(f"input[name=_selected_action][value='{run.pk}']")
        self.page.select_option("select[name=action]", action)
        self.page.click("button[name=index]")
        return str(self.page.locator("ul.messagelist").inner_text())

    def row(self, run: BackfillRun) -> dict[str, str]:
        """The change list's cells of ``run``, by column."""
        self.page.goto(self.runs)
        heads = self.page.locator("#result_list thead th").evaluate_all(
            "heads => heads.map(h => [...h.classList].find(c => c.startsWith('column-')) || '')"
        )
        row = self.page.locator(
            "#result_list tbody tr", has=self.page.locator(f"input[value='{run.pk}']")
        )
        cells = [t.strip() for t in row.locator("td, th").all_inner_texts()]
        return dict(zip((h.removeprefix("column-") for h in heads), cells, strict=False))

    def field(self, run: BackfillRun, label: str) -> str:
        """The value shown for ``label`` on ``run``'s change page."""
        self.page.goto(f"{self.runs}{run.pk}/change/")
        row = self.page.locator(".form-row", has=self.page.locator(f"label:text-is('{label}:')"))
        return str(row.locator(".readonly").inner_text()).strip()


@pytest.fixture
def admin_page(live_server: Any, settings: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Admin]:
    """A logged-in Chromium page on the live server, with the admin at /admin/."""
    settings.ROOT_URLCONF = "tests.backfill.test_admin"
    # The live server serves /static/ from STATIC_ROOT: the admin's own CSS and JavaScript
    # (its action menu) from the Django installation.
    settings.STATIC_ROOT = str(Path(django.contrib.admin.__file__).parent / "static")
    # Playwright's synchronous API keeps an event loop in this thread, and Django refuses
    # database calls from a thread with a running loop; the test's own queries are
    # synchronous all the same.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    User.objects.create_superuser("ada", "ada@example.com", "pw")
    with services.chromium_page() as page:
        page.set_default_timeout(15_000)
        page.goto(f"{live_server.url}/admin/login/?next=/admin/")
        page.fill("#id_username", "ada")
        page.fill("#id_password", "pw")
        page.click("input[type=submit]")
        page.wait_for_url(f"{live_server.url}/admin/")
        yield Admin(page, live_server.url)


def test_the_admin_pauses_resumes_and_cancels_a_running_process(admin_page: Admin) -> None:
    admin = admin_page
    fill_counters("default", ROWS)
    env = environment(
        {"BACKFILL_BATCH_SIZE": 200, "BACKFILL_MAX_BATCH_SIZE": 200},
        HEADROOM_TEST_BATCH_DELAY="0.05",
    )
    process = CommandRun(["run", NAME, "--database", "default"], env)
    try:
        wait_for(lambda: BackfillRun.objects.filter(rows_done__gt=0).exists())
        run = BackfillRun.objects.get()
        row = admin.row(run)
        assert (row["name"], row["state"]) == (NAME, "running")

        message = admin.apply(run, "pause")
        assert f"Run #{run.pk} of {NAME} is paused." in message
        wait_for(lambda: "paused; resume with" in process.output, what="the runner to pause")
        held = BackfillRun.objects.get().rows_done
        time.sleep(0.5)
        run.refresh_from_db()
        assert (run.state, run.rows_done) == ("paused", held)  # the runner waits

        # The list and the change page show what the runner last wrote, formatted as the
        # terminal shows it.
        row = admin.row(run)
        assert row["state"] == "paused"
        assert row["rows"] == f"{run.rows_done:,} / {shown_total(run):,}"
        assert row["rate"] == shown_rate(run) and re.fullmatch(r"[\d,.]+", row["rate"])
        assert row["progress_percent"] == f"{run.percent:.1f}%"
        assert row["eta"] == duration(run.eta_seconds)
        assert admin.field(run, "Rows") == f"{run.rows_done:,} / {shown_total(run):,}"
        assert admin.field(run, "Rows/s") == shown_rate(run)
        assert admin.field(run, "Progress") == f"{run.percent:.1f}%"

        message = admin.apply(run, "resume")
        assert f"Run #{run.pk} of {NAME} is running." in message
        wait_for(lambda: BackfillRun.objects.get().rows_done > held, what="the run to go on")

        message = admin.apply(run, "cancel")
        assert f"Run #{run.pk} of {NAME} is cancelling." in message
        assert process.wait() == 1, process.output
    finally:
        process.stop()
    assert "cancelled on request" in process.output
    run.refresh_from_db()
    assert run.state == "cancelled"
    assert hits("default") == {1: run.rows_done, 0: ROWS - run.rows_done}
    # Over now: a second cancel from the admin says so and changes nothing.
    message = admin.apply(run, "cancel")
    assert f"Run #{run.pk} of {NAME} is cancelled; nothing to cancel." in message
