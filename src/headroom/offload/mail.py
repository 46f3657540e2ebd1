"""``QueuedEmailBackend``: ``send_mail()`` returns at once; the mail is sent in the background.

Settings::

    EMAIL_BACKEND = "headroom.offload.mail.QueuedEmailBackend"
    HEADROOM = {
        "OFFLOAD_EXECUTOR": "celery",  # or "thread" (in-process) / "inline"
        "OFFLOAD_EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
    }

The backend that really sends is ``HEADROOM["OFFLOAD_EMAIL_BACKEND"]`` (SMTP by default); the
usual ``EMAIL_HOST``/``EMAIL_PORT``/``EMAIL_TIMEOUT`` settings configure it. For the Celery
executor each message travels as JSON (:func:`serialize_message`) and is rebuilt in the
worker, one task per message so that a retry never sends a message twice.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Sequence
from email.mime.base import MIMEBase
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.core.mail import EmailMessage, EmailMultiAlternatives, get_connection
from django.core.mail.backends.base import BaseEmailBackend

from headroom.conf import conf

logger = logging.getLogger("headroom.offload")

QUEUED_BACKEND = "headroom.offload.mail.QueuedEmailBackend"


def _text(value: Any) -> str:
    return str(value) if value is not None else ""


def _attachment(item: Any) -> dict[str, Any]:
    if isinstance(item, MIMEBase):
        content: Any = item.get_payload(decode=True) or b""
        filename, mimetype = item.get_filename(), item.get_content_type()
    else:
        filename, content, mimetype = item
    if isinstance(content, str):
        return {"filename": filename, "text": content, "mimetype": mimetype}
    data = base64.b64encode(bytes(content)).decode("ascii")
    return {"filename": filename, "base64": data, "mimetype": mimetype}


def serialize_message(message: EmailMessage) -> dict[str, Any]:
    """``message`` as JSON-safe data, for :func:`deserialize_message` in another process."""
    alternatives = getattr(message, "alternatives", None) or []
    return {
        "subject": _text(message.subject),
        "body": _text(message.body),
        "from_email": _text(message.from_email),
        "to": [str(a) for a in message.to],
        "cc": [str(a) for a in message.cc],
        "bcc": [str(a) for a in message.bcc],
        "reply_to": [str(a) for a in message.reply_to],
        "headers": {str(k): str(v) for k, v in message.extra_headers.items()},
        "content_subtype": message.content_subtype,
        "mixed_subtype": getattr(message, "mixed_subtype", "mixed"),
        "encoding": str(message.encoding) if message.encoding else None,
        "alternatives": [[_text(content), mimetype] for content, mimetype in alternatives],
        "attachments": [_attachment(item) for item in message.attachments],
    }


def deserialize_message(data: dict[str, Any]) -> EmailMultiAlternatives:
    """Rebuild the message :func:`serialize_message` described."""
    message = EmailMultiAlternatives(
        subject=data["subject"],
        body=data["body"],
        from_email=data["from_email"] or None,
        to=data["to"],
        cc=data["cc"],
        bcc=data["bcc"],
        reply_to=data["reply_to"],
        headers=data["headers"],
    )
    message.content_subtype = data["content_subtype"]
    # Not in django-stubs, but a documented EmailMessage attribute.
    setattr(message, "mixed_subtype", data["mixed_subtype"])  # noqa: B010
    if data.get("encoding"):
        message.encoding = data["encoding"]
    for content, mimetype in data["alternatives"]:
        message.attach_alternative(content, mimetype)
    for item in data["attachments"]:
        content = item["text"] if "text" in item else base64.b64decode(item["base64"])
        message.attach(item["filename"], content, item["mimetype"])
    return message


def sending_backend() -> str:
    """``HEADROOM["OFFLOAD_EMAIL_BACKEND"]``, refused when it is the queued backend itself."""
    backend = conf.OFFLOAD_EMAIL_BACKEND
    if backend == QUEUED_BACKEND:
        raise ImproperlyConfigured(
            "HEADROOM['OFFLOAD_EMAIL_BACKEND'] names the queued backend itself, so mail would "
            "be queued forever. Name the backend that really sends, e.g. "
            "'django.core.mail.backends.smtp.EmailBackend'."
        )
    return backend


def deliver_messages(messages: Sequence[EmailMessage]) -> int:
    """Send ``messages`` now through ``HEADROOM["OFFLOAD_EMAIL_BACKEND"]``; errors raise."""
    connection = get_connection(sending_backend(), fail_silently=False)
    return connection.send_messages(list(messages)) or 0


class QueuedEmailBackend(BaseEmailBackend):
    """An email backend that hands each message to the offload executor and returns at once.

    ``send_messages`` returns how many messages were queued. Failures to queue (a broker that
    is down) raise unless ``fail_silently``; failures to send happen later, in the executor:
    logged (thread), retried with backoff (Celery), or raised (inline).
    """

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        from headroom.offload.executors import get_executor

        sending_backend()  # a misconfiguration fails here, in the caller
        executor = get_executor()
        queued = 0
        for message in email_messages:
            if not message.recipients():
                continue
            try:
                executor.send_email(message)
            except Exception:
                if not self.fail_silently:
                    raise
                logger.exception("headroom.offload: could not queue email to %s", message.to)
                continue
            queued += 1
        return queued
