"""``celery -A benchmarks.backfill_site.celery_app worker``: the benchmark's workers."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchmarks.backfill_site.settings")

app = Celery("headroom_backfill_bench", set_as_current=False)
app.conf.update(
    broker_url=os.environ.get("HEADROOM_BENCH_BROKER", "redis://127.0.0.1:6379/0"),
    task_default_queue=os.environ.get("HEADROOM_BENCH_QUEUE", "headroom-bench"),
    broker_connection_retry_on_startup=True,
    worker_prefetch_multiplier=1,
)
if not os.environ.get("HEADROOM_BENCH_RECONNECT"):
    # As docs/backfill.md advises: keep each worker's database connection from one batch to
    # the next (Celery's Django fixup otherwise closes it before and after every task).
    app.conf["CELERY_DB_REUSE_MAX"] = 100
app.autodiscover_tasks(["headroom.backfill"])
