"""Where offloaded work runs: inline, a bounded in-process thread pool, or Celery.

Each executor takes two kinds of work: a call of an importable function (``submit``) and an
email message (``send_email``). :func:`get_executor` returns the one named by
``HEADROOM["OFFLOAD_EXECUTOR"]``.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Protocol

from django.utils.module_loading import import_string

from headroom.conf import conf

if TYPE_CHECKING:
    from django.core.mail import EmailMessage

logger = logging.getLogger("headroom.offload")


class Executor(Protocol):
    def submit(self, path: str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> None:
        """Run the callable at dotted ``path`` with ``args`` and ``kwargs``."""

    def send_email(self, message: EmailMessage) -> None:
        """Send ``message`` through ``HEADROOM["OFFLOAD_EMAIL_BACKEND"]``."""


def _deliver(message: EmailMessage) -> None:
    from headroom.offload.mail import deliver_messages

    deliver_messages([message])


class InlineExecutor:
    """Runs the work at once, in the caller; its exceptions reach the caller."""

    def submit(self, path: str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> None:
        import_string(path)(*args, **kwargs)

    def send_email(self, message: EmailMessage) -> None:
        _deliver(message)


class ThreadExecutor:
    """A bounded pool of threads in this process (``HEADROOM["OFFLOAD_THREADS"]`` of them).

    Work still queued when the process dies is lost: fine for a demo or development, not for
    mail a customer must get (use the Celery executor there). At a normal interpreter exit the
    pool finishes what is queued. A failure is logged to the ``headroom.offload`` logger and
    not retried.
    """

    def __init__(self, threads: int) -> None:
        self.threads = threads
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None
        self._pid = 0

    def _get_pool(self) -> ThreadPoolExecutor:
        with self._lock:
            # A pool made before a fork (gunicorn --preload) has no threads in the child.
            if self._pool is None or self._pid != os.getpid():
                self._pool = ThreadPoolExecutor(
                    max_workers=self.threads, thread_name_prefix="headroom-offload"
                )
                self._pid = os.getpid()
            return self._pool

    @staticmethod
    def _run(label: str, function: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        from django.db import close_old_connections, connections

        close_old_connections()
        try:
            function(*args, **kwargs)
        except Exception:
            logger.exception("headroom.offload: %s failed (thread executor, not retried)", label)
        finally:
            # Connections are per thread; close this one's rather than leak them.
            connections.close_all()

    def submit(self, path: str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> None:
        function = import_string(path)  # a wrong path fails in the caller, not later
        self._get_pool().submit(self._run, path, function, *args, **kwargs)

    def send_email(self, message: EmailMessage) -> None:
        self._get_pool().submit(self._run, f"email to {message.to}", _deliver, message)

    def shutdown(self, wait: bool = True) -> None:
        """Stop taking work; with ``wait``, block until the queued work is done."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=wait)


class CeleryExecutor:
    """Sends the work to a Celery worker (see :mod:`headroom.offload.tasks`)."""

    @staticmethod
    def _options() -> dict[str, Any]:
        return {
            "soft_time_limit": conf.OFFLOAD_SOFT_TIME_LIMIT,
            "time_limit": conf.OFFLOAD_TIME_LIMIT,
        }

    def submit(self, path: str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> None:
        from headroom.offload import tasks

        import_string(path)
        tasks.call.apply_async((path, list(args), dict(kwargs)), **self._options())

    def send_email(self, message: EmailMessage) -> None:
        from headroom.offload import tasks
        from headroom.offload.mail import serialize_message

        tasks.send_email.apply_async((serialize_message(message),), **self._options())


_thread_executor: ThreadExecutor | None = None
_thread_lock = threading.Lock()


def get_executor() -> Executor:
    """The executor named by ``HEADROOM["OFFLOAD_EXECUTOR"]``."""
    global _thread_executor
    name = conf.OFFLOAD_EXECUTOR
    if name == "inline":
        return InlineExecutor()
    if name == "celery":
        return CeleryExecutor()
    with _thread_lock:
        if _thread_executor is None or _thread_executor.threads != conf.OFFLOAD_THREADS:
            if _thread_executor is not None:
                _thread_executor.shutdown(wait=False)
            _thread_executor = ThreadExecutor(conf.OFFLOAD_THREADS)
        return _thread_executor
