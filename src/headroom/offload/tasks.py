"""The Celery tasks behind ``HEADROOM["OFFLOAD_EXECUTOR"] = "celery"``.

The worker must import this module. With the usual ``proj/celery.py``::

    app.autodiscover_tasks()                      # your apps
    app.autodiscover_tasks(["headroom.offload"])  # these tasks

Both tasks acknowledge late (a worker that dies mid-task leaves the message to be delivered
again), run under the soft and hard time limits from ``HEADROOM["OFFLOAD_SOFT_TIME_LIMIT"]``
and ``["OFFLOAD_TIME_LIMIT"]``, and retry network errors (``OSError``: refused connections,
timeouts, SMTP and ``requests`` errors) and soft time-outs with exponential backoff and jitter,
up to ``HEADROOM["OFFLOAD_MAX_RETRIES"]`` times.
"""

from __future__ import annotations

from typing import Any

from celery import Task, shared_task
from celery.exceptions import SoftTimeLimitExceeded
from celery.utils.time import get_exponential_backoff_interval
from django.utils.module_loading import import_string

from headroom.conf import conf

#: Seconds: the first retry waits up to 1 s, then 2, 4, ... at most this long.
MAX_BACKOFF = 600

RETRY_ON = (OSError, SoftTimeLimitExceeded)


def _retry(task: Task[Any, Any], exc: Exception) -> BaseException:
    countdown = get_exponential_backoff_interval(
        factor=1, retries=task.request.retries, maximum=MAX_BACKOFF, full_jitter=True
    )
    return task.retry(exc=exc, countdown=countdown, max_retries=conf.OFFLOAD_MAX_RETRIES)


@shared_task(bind=True, name="headroom.offload.send_email", acks_late=True)
def send_email(self: Task[Any, Any], data: dict[str, Any]) -> int:
    """Rebuild one serialised message and send it through the real backend."""
    from headroom.offload.mail import deliver_messages, deserialize_message

    try:
        return deliver_messages([deserialize_message(data)])
    except RETRY_ON as exc:
        raise _retry(self, exc) from exc


@shared_task(bind=True, name="headroom.offload.call", acks_late=True)
def call(self: Task[Any, Any], path: str, args: list[Any], kwargs: dict[str, Any]) -> None:
    """Run the function at dotted ``path``; its return value is dropped."""
    try:
        import_string(path)(*args, **kwargs)
    except RETRY_ON as exc:
        raise _retry(self, exc) from exc
