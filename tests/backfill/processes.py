"""Real processes for the backfill tests: ``headroom backfill`` runs and Celery workers."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.db import connections

from tests.celery_worker import CeleryWorker

ROOT = Path(__file__).resolve().parents[2]


def environment(options: dict[str, Any] | None = None, **extra: str) -> dict[str, str]:
    """The environment of a child process that reaches this test's databases."""
    env = {
        **os.environ,
        "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'src'}",
        "DJANGO_SETTINGS_MODULE": "tests.backfill.process_settings",
        "HEADROOM_TEST_SQLITE": str(connections["default"].settings_dict["NAME"]),
        "HEADROOM_TEST_PG_DB": str(connections["postgres"].settings_dict["NAME"]),
        "HEADROOM_TEST_MARIADB_DB": str(connections["mariadb"].settings_dict["NAME"]),
        "HEADROOM_TEST_OPTIONS": json.dumps(options or {}),
    }
    env.update(extra)
    return env


def celery_environment(
    broker: str, queue: str, options: dict[str, Any] | None = None, **extra: str
) -> dict[str, str]:
    """:func:`environment` of a worker or command of the Celery executor on ``queue``: the
    test Celery app, 500-row batches one at a time, plus ``options``."""
    settings: dict[str, Any] = {
        "BACKFILL_EXECUTOR": "celery",
        "BACKFILL_CELERY_APP": "tests.backfill.celery_app.app",
        "BACKFILL_CELERY_QUEUE": queue,
        "BACKFILL_BATCH_SIZE": 500,
        "BACKFILL_MAX_BATCH_SIZE": 500,
        "BACKFILL_MAX_IN_FLIGHT": 1,
        **(options or {}),
    }
    return environment(
        settings, HEADROOM_TEST_BROKER=broker, HEADROOM_TEST_CELERY_QUEUE=queue, **extra
    )


class CommandRun:
    """``python -m headroom backfill ...`` in a subprocess, its output kept line by line."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "headroom", "backfill", *argv],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line)

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def wait(self, timeout: float = 120) -> int:
        code = self.process.wait(timeout=timeout)
        self._reader.join(timeout=5)
        return code

    def kill(self) -> None:
        """SIGKILL: no cleanup, no rollback message, the connection just drops."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.kill()


def wait_for(condition: Callable[[], Any], timeout: float = 60, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or condition}")
        time.sleep(0.05)


class Worker(CeleryWorker):
    """``celery -A tests.backfill.celery_app worker`` on one queue, in its own process group."""

    def __init__(self, broker: str, queue: str, env: dict[str, str], concurrency: int = 1) -> None:
        env = {**env, "HEADROOM_TEST_BROKER": broker, "HEADROOM_TEST_CELERY_QUEUE": queue}
        super().__init__("tests.backfill.celery_app", queue, env, concurrency)

    def batches_handled(self) -> int:
        """Batch tasks this worker has finished, whether it ran, skipped or failed them."""
        return sum(
            "headroom.backfill.run_batch[" in line and " succeeded in " in line
            for line in list(self.lines)
        )


def tasks_sent(using: str) -> int:
    """Batch tasks sent for the runs on ``using``: each batch's first, and one per resend."""
    from django.db.models import Sum

    from headroom.backfill.models import BackfillBatch

    return int(BackfillBatch.objects.using(using).aggregate(n=Sum("token"))["n"] or 0)
