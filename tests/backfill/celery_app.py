"""The Celery app of the backfill tests: ``celery -A tests.backfill.celery_app worker``."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.backfill.process_settings")

app = Celery("headroom_backfill_tests", set_as_current=False)
app.conf.update(
    broker_url=os.environ.get("HEADROOM_TEST_BROKER", "redis://127.0.0.1:6379/0"),
    task_default_queue=os.environ.get("HEADROOM_TEST_CELERY_QUEUE", "headroom-backfill-tests"),
    broker_connection_retry_on_startup=True,
    worker_prefetch_multiplier=1,
)
if os.environ.get("HEADROOM_TEST_DB_REUSE_MAX"):
    app.conf["CELERY_DB_REUSE_MAX"] = int(os.environ["HEADROOM_TEST_DB_REUSE_MAX"])
app.autodiscover_tasks(["headroom.backfill"])
