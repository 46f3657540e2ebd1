"""``QueuedEmailBackend`` and ``submit()`` on the in-process executors, with a real SMTP
server on 127.0.0.1 that answers slowly."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.mail import EmailMessage, EmailMultiAlternatives, get_connection, send_mail
from django.test import override_settings

from headroom.checks.settings_checks import check_headroom_setting
from headroom.demo.services import SlowSMTPServer
from headroom.offload import submit
from headroom.offload.executors import ThreadExecutor, get_executor
from headroom.offload.mail import deserialize_message, serialize_message
from tests.offload import jobs

QUEUED = "headroom.offload.mail.QueuedEmailBackend"


@pytest.fixture
def smtp() -> Iterator[SlowSMTPServer]:
    server = SlowSMTPServer(delay=1.0)
    server.start()
    yield server
    server.stop()


def _settings(smtp_port: int, executor: str, **options: Any) -> override_settings:
    return override_settings(
        EMAIL_BACKEND=QUEUED,
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=smtp_port,
        HEADROOM={"OFFLOAD_EXECUTOR": executor, **options},
    )


def test_thread_executor_returns_at_once_and_the_mail_arrives(smtp: SlowSMTPServer) -> None:
    with _settings(smtp.port, "thread"):
        began = time.monotonic()
        sent = send_mail("Order HR-1", "Thanks!", "shop@example.com", ["ada@example.com"])
        returned_after = time.monotonic() - began
        [mail] = smtp.wait_for_messages(1, timeout=10)
    assert sent == 1
    assert returned_after < smtp.delay / 2
    assert mail.recipients == ("ada@example.com",)
    assert mail.message["Subject"] == "Order HR-1"
    assert mail.message.get_content().strip() == "Thanks!"


def test_inline_executor_sends_before_returning(smtp: SlowSMTPServer) -> None:
    smtp.delay = 0.2
    with _settings(smtp.port, "inline"):
        began = time.monotonic()
        send_mail("Hello", "Body", "shop@example.com", ["ben@example.com"])
        assert time.monotonic() - began >= 0.2
    assert [m.recipients for m in smtp.messages] == [("ben@example.com",)]


def test_a_failed_send_in_the_thread_is_logged_not_raised(
    caplog: pytest.LogCaptureFixture,
) -> None:
    server = SlowSMTPServer()
    closed_port = server.port
    server.stop()  # nothing listens there now
    with _settings(closed_port, "thread"), caplog.at_level(logging.ERROR, "headroom.offload"):
        assert send_mail("Lost", "Body", "shop@example.com", ["c@example.com"]) == 1
        deadline = time.monotonic() + 10
        while not caplog.records and time.monotonic() < deadline:
            time.sleep(0.05)
    [record] = caplog.records
    assert "email to ['c@example.com'] failed" in record.getMessage()
    assert record.exc_info is not None and issubclass(record.exc_info[0], OSError)


def test_the_backend_refuses_to_queue_into_itself() -> None:
    with (
        override_settings(EMAIL_BACKEND=QUEUED, HEADROOM={"OFFLOAD_EMAIL_BACKEND": QUEUED}),
        pytest.raises(ImproperlyConfigured, match="names the queued backend itself"),
    ):
        send_mail("Loop", "Body", "shop@example.com", ["d@example.com"])


def test_messages_without_recipients_are_not_queued(smtp: SlowSMTPServer) -> None:
    with _settings(smtp.port, "inline"):
        assert get_connection().send_messages([EmailMessage("No one", "Body")]) == 0
    assert smtp.messages == []


def test_a_message_survives_the_trip_through_json(smtp: SlowSMTPServer) -> None:
    smtp.delay = 0
    message = EmailMultiAlternatives(
        "Your invoice",
        "Plain text",
        "Shop <shop@example.com>",
        ["ada@example.com"],
        cc=["ben@example.com"],
        bcc=["audit@example.com"],
        reply_to=["help@example.com"],
        headers={"X-Order": "HR-7"},
    )
    message.attach_alternative("<p>HTML</p>", "text/html")
    message.attach("invoice.pdf", b"%PDF-1.4 \x00\xff", "application/pdf")
    message.attach("notes.txt", "caf\u00e9", "text/plain")
    rebuilt = deserialize_message(json.loads(json.dumps(serialize_message(message))))
    with override_settings(
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=smtp.port,
    ):
        rebuilt.send()
    [mail] = smtp.messages
    assert set(mail.recipients) == {"ada@example.com", "ben@example.com", "audit@example.com"}
    parsed = mail.message
    assert parsed["Reply-To"] == "help@example.com"
    assert parsed["X-Order"] == "HR-7"
    assert "Bcc" not in parsed
    body = parsed.get_body(preferencelist=("plain",))
    assert body is not None and body.get_content().strip() == "Plain text"
    html = parsed.get_body(preferencelist=("html",))
    assert html is not None and html.get_content().strip() == "<p>HTML</p>"
    attachments = {a.get_filename(): a for a in parsed.iter_attachments()}
    assert attachments["invoice.pdf"].get_content() == b"%PDF-1.4 \x00\xff"
    assert attachments["notes.txt"].get_content().strip() == "caf\u00e9"


def test_submit_runs_a_function_inline_or_on_a_thread(tmp_path: Path) -> None:
    target = tmp_path / "inline.txt"
    with override_settings(HEADROOM={"OFFLOAD_EXECUTOR": "inline"}):
        submit("tests.offload.jobs.write_file", str(target), "done inline")
    assert target.read_text() == "done inline"

    target = tmp_path / "thread.txt"
    with override_settings(HEADROOM={"OFFLOAD_EXECUTOR": "thread"}):
        executor = get_executor()
        submit("tests.offload.jobs.write_file", str(target), text="done on a thread")
        assert isinstance(executor, ThreadExecutor)
        executor.shutdown(wait=True)
    assert target.read_text() == "done on a thread"


def test_submit_fails_in_the_caller_when_the_path_is_wrong() -> None:
    with (
        override_settings(HEADROOM={"OFFLOAD_EXECUTOR": "thread"}),
        pytest.raises(ImportError, match="write_fiel"),
    ):
        submit("tests.offload.jobs.write_fiel", "x", "y")


def test_the_thread_pool_never_runs_more_than_its_threads_at_once() -> None:
    pool = ThreadExecutor(threads=2)
    for _ in range(8):
        pool.submit("tests.offload.jobs.hold", (0.05,), {})
    pool.shutdown(wait=True)
    assert jobs.concurrency["calls"] == 8
    assert jobs.concurrency["peak"] == 2


def test_an_unknown_executor_is_a_system_check_error() -> None:
    with override_settings(HEADROOM={"OFFLOAD_EXECUTOR": "rq"}):
        [error] = check_headroom_setting()
    assert error.id == "headroom.E002"
    assert "'OFFLOAD_EXECUTOR'" in error.msg
    assert "'inline', 'thread', 'celery'" in error.msg
