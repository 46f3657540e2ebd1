"""Move slow work off the request: a queued email backend and a small ``submit()``.

``EMAIL_BACKEND = "headroom.offload.mail.QueuedEmailBackend"`` makes ``send_mail()`` return
at once; the mail is sent by the backend named in ``HEADROOM["OFFLOAD_EMAIL_BACKEND"]``
(SMTP by default) on the executor chosen by ``HEADROOM["OFFLOAD_EXECUTOR"]``:

- ``"thread"``: a bounded pool of threads in the web process. Nothing to run beside the site,
  but work still queued when the process dies (a deploy, a crash, a worker timeout) is lost.
- ``"celery"``: a Celery task (acks late, soft and hard time limits, retried with backoff on
  network errors). Queued work survives restarts of the web process.
- ``"inline"``: run at once in the caller, for tests and one-off scripts.

:func:`submit` runs any importable callable the same way; its arguments must be
JSON-serialisable so that the Celery executor can send them.
"""

from __future__ import annotations

from typing import Any


def submit(path: str, *args: Any, **kwargs: Any) -> None:
    """Run the callable at dotted ``path`` with ``args``/``kwargs`` on the configured executor.

    Returns once the work is queued (``"thread"``, ``"celery"``) or done (``"inline"``).
    """
    from headroom.offload.executors import get_executor

    get_executor().submit(path, args, kwargs)
