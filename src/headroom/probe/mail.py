"""Email sent while a request is handled.

``send_mail``, ``EmailMessage.send`` and ``connection.send_messages([...])`` all end in a
backend's ``send_messages``, so that is what is wrapped. Each backend class overrides it, so
the wrapping is done per class, the first time an instance of it is made (every backend's
``__init__`` runs ``BaseEmailBackend.__init__``). A backend whose ``send_messages`` calls its
parent's is counted once: only the outermost call records.
"""

from __future__ import annotations

import contextlib
import functools
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

from headroom.probe import stacks
from headroom.probe.state import current, probe_error

_MARK = "_headroom_probe_wrapped"


def _recipients(messages: Sequence[Any]) -> int:
    total = 0
    for message in messages:
        with contextlib.suppress(Exception):
            total += len(message.recipients())
    return total


def _wrap_send_messages(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def send_messages(self: Any, email_messages: Any, *args: Any, **kwargs: Any) -> Any:
        state = current.get()
        if state is None or state.mail_depth:
            return original(self, email_messages, *args, **kwargs)
        messages = list(email_messages)
        state.mail_depth += 1
        error: BaseException | None = None
        started = time.perf_counter()
        try:
            return original(self, messages, *args, **kwargs)
        except BaseException as exc:
            error = exc
            raise
        finally:
            elapsed = time.perf_counter() - started
            state.mail_depth -= 1
            try:
                cls = type(self)
                state.emails.append(
                    {
                        "backend": f"{cls.__module__}.{cls.__qualname__}",
                        "messages": len(messages),
                        "recipients": _recipients(messages),
                        "duration_ms": elapsed * 1000.0,
                        "error": None if error is None else type(error).__name__,
                        "location": stacks.project_location(sys._getframe(1)),
                    }
                )
            except Exception:
                probe_error("recording an email send", state)

    setattr(send_messages, _MARK, True)
    return send_messages


def wrap_backend_class(cls: type) -> None:
    """Wrap ``cls.send_messages`` (once per class)."""
    if _MARK in cls.__dict__:
        return
    original = getattr(cls, "send_messages", None)
    if original is not None and not getattr(original, _MARK, False):
        cls.send_messages = _wrap_send_messages(original)  # type: ignore[attr-defined]
    setattr(cls, _MARK, True)


def install() -> None:
    """Hook ``BaseEmailBackend.__init__`` (idempotent)."""
    from django.core.mail.backends.base import BaseEmailBackend

    original_init = BaseEmailBackend.__init__
    if getattr(original_init, _MARK, False):
        return

    @functools.wraps(original_init)
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        try:
            wrap_backend_class(type(self))
        except Exception:
            probe_error("wrapping an email backend", current.get())
        original_init(self, *args, **kwargs)

    setattr(__init__, _MARK, True)
    BaseEmailBackend.__init__ = __init__  # type: ignore[method-assign]
