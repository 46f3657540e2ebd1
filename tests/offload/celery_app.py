"""The Celery app of the offload tests: ``celery -A tests.offload.celery_app worker``.

A project wires headroom's tasks in the same way: ``app.autodiscover_tasks(["headroom.offload"])``.
"""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.offload.worker_settings")

app = Celery("headroom_tests")
app.conf.update(
    broker_url=os.environ.get("HEADROOM_TEST_BROKER", "redis://127.0.0.1:6379/0"),
    task_default_queue=os.environ.get("HEADROOM_TEST_CELERY_QUEUE", "headroom-tests"),
    broker_connection_retry_on_startup=True,
)
app.autodiscover_tasks(["headroom.offload"])
