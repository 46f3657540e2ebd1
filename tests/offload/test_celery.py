"""The Celery executor against a real worker and a real Redis broker."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.mail import send_mail
from django.test import override_settings

from headroom.demo.services import SlowSMTPServer
from headroom.offload import submit
from tests import services
from tests.celery_worker import CeleryWorker

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.services


class Worker(CeleryWorker):
    """``celery -A tests.offload.celery_app worker`` in a subprocess."""

    def __init__(self, queue: str, smtp_port: int) -> None:
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "DJANGO_SETTINGS_MODULE": "tests.offload.worker_settings",
            "HEADROOM_TEST_CELERY_QUEUE": queue,
            "HEADROOM_TEST_SMTP_PORT": str(smtp_port),
        }
        super().__init__("tests.offload.celery_app", queue, env)


def _free_port() -> int:
    server = SlowSMTPServer()
    port = server.port
    server.stop()
    return port


@pytest.fixture(scope="module")
def smtp_port() -> int:
    return _free_port()


@pytest.fixture(scope="module")
def worker(smtp_port: int) -> Iterator[Worker]:
    services.require("redis")
    from tests.offload.celery_app import app

    queue = f"headroom-tests-{uuid.uuid4().hex[:8]}"
    app.conf.task_default_queue = queue
    running = Worker(queue, smtp_port)
    yield running
    running.stop()


@pytest.fixture
def celery_mail(smtp_port: int) -> Iterator[None]:
    with override_settings(
        EMAIL_BACKEND="headroom.offload.mail.QueuedEmailBackend",
        HEADROOM={"OFFLOAD_EXECUTOR": "celery"},
    ):
        yield


def test_mail_is_sent_by_the_worker(worker: Worker, smtp_port: int, celery_mail: None) -> None:
    with SlowSMTPServer(delay=1.0, port=smtp_port) as smtp:
        began = time.monotonic()
        assert send_mail("Order HR-2", "Thanks", "shop@example.com", ["ada@example.com"]) == 1
        assert time.monotonic() - began < 0.5
        [mail] = smtp.wait_for_messages(1, timeout=30)
    assert mail.recipients == ("ada@example.com",)
    assert mail.message["Subject"] == "Order HR-2"
    assert any("headroom.offload.send_email" in line for line in worker.lines)


def test_mail_is_retried_until_the_mail_server_answers(
    worker: Worker, smtp_port: int, celery_mail: None
) -> None:
    # Nothing listens on the port yet: the first attempts fail with a refused connection.
    send_mail("Retried", "Body", "shop@example.com", ["ben@example.com"])
    deadline = time.monotonic() + 30
    while not any("Retry in" in line for line in worker.lines):
        assert time.monotonic() < deadline, "".join(worker.lines)
        time.sleep(0.1)
    with SlowSMTPServer(delay=0, port=smtp_port) as smtp:
        mails = smtp.wait_for_messages(1, timeout=60)
        time.sleep(0.5)
        # Sent once, not once per attempt.
        assert [m.message["Subject"] for m in smtp.messages] == ["Retried"]
    assert mails[0].recipients == ("ben@example.com",)


def test_submit_runs_the_function_in_the_worker(worker: Worker, tmp_path: Path) -> None:
    target = tmp_path / "from-worker.txt"
    with override_settings(HEADROOM={"OFFLOAD_EXECUTOR": "celery"}):
        submit("tests.offload.jobs.write_file", str(target), "written by the worker")
    deadline = time.monotonic() + 30
    while not target.exists():
        assert time.monotonic() < deadline, "".join(worker.lines)
        time.sleep(0.1)
    assert target.read_text() == "written by the worker"
