"""Settings of the Celery worker the offload tests start: the test settings, sending mail to
the test's SMTP server."""

from __future__ import annotations

import os

from tests.settings import *  # noqa: F403

EMAIL_HOST = "127.0.0.1"
EMAIL_PORT = int(os.environ.get("HEADROOM_TEST_SMTP_PORT", "1025"))
EMAIL_TIMEOUT = 5
HEADROOM = {"OFFLOAD_EXECUTOR": "celery", "OFFLOAD_MAX_RETRIES": 10}
