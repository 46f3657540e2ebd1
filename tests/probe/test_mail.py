from __future__ import annotations

import socket

import pytest
from django.core import mail
from django.test import Client
from pytest_django.fixtures import Settings

from tests.probe.conftest import Capture, SMTPServer

LOCMEM = "django.core.mail.backends.locmem.EmailBackend"
SMTP = "django.core.mail.backends.smtp.EmailBackend"


@pytest.mark.parametrize(
    ("how", "messages", "recipients"),
    [("send_mail", 1, 2), ("message", 1, 1), ("connection", 3, 3)],
)
def test_each_way_of_sending_is_recorded_once(
    client: Client, capture: Capture, db: None, how: str, messages: int, recipients: int
) -> None:
    response = client.get(f"/email/?how={how}")

    assert response.json() == {"sent": messages}
    assert len(mail.outbox) == messages
    (email,) = capture.last()["emails"]
    assert email["backend"] == LOCMEM
    assert (email["messages"], email["recipients"]) == (messages, recipients)
    assert email["error"] is None
    assert email["duration_ms"] >= 0
    assert email["location"]["function"] == "send_email"


def test_a_real_smtp_send_is_timed(
    client: Client, capture: Capture, db: None, settings: Settings, smtp_server: SMTPServer
) -> None:
    settings.EMAIL_BACKEND = SMTP
    settings.EMAIL_HOST, settings.EMAIL_PORT = smtp_server.server_address

    response = client.get("/email/?how=send_mail")

    assert response.json() == {"sent": 1}
    assert len(smtp_server.received) == 1
    assert b"Subject: Hi" in smtp_server.received[0]
    (email,) = capture.last()["emails"]
    assert email["backend"] == SMTP
    assert (email["messages"], email["recipients"], email["error"]) == (1, 2, None)
    assert email["duration_ms"] > 0


def test_a_failed_smtp_send_records_the_error(
    client: Client, capture: Capture, db: None, settings: Settings
) -> None:
    with socket.socket() as sock:  # a port that nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings.EMAIL_BACKEND = SMTP
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    client.raise_request_exception = False

    response = client.get("/email/?how=message")

    assert response.status_code == 500
    (email,) = capture.last()["emails"]
    assert email["error"] == "ConnectionRefusedError"
    assert email["backend"] == SMTP


def test_email_outside_a_request_is_not_recorded(
    client: Client, capture: Capture, db: None
) -> None:
    client.get("/echo/")
    mail.send_mail("Hi", "Body", "shop@example.com", ["a@example.com"])
    client.get("/echo/")
    assert [r["emails"] for r in capture.records()] == [[], []]
