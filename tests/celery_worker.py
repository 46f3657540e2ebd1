"""A real ``celery worker`` subprocess for the tests, in its own process group."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


class CeleryWorker:
    """``celery -A <app> worker`` consuming one queue; waits until it says it is ready."""

    def __init__(self, app: str, queue: str, env: dict[str, str], concurrency: int = 1) -> None:
        command = [sys.executable, "-m", "celery", "-A", app, "worker"]
        command += ["--pool", "prefork", "--concurrency", str(concurrency), "--loglevel", "INFO"]
        command += ["--without-gossip", "--without-mingle", "--without-heartbeat"]
        self.hostname = f"{queue}-{time.monotonic_ns()}@{socket.gethostname()}"
        command += ["--queues", queue, "--hostname", self.hostname]
        self.process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self.lines: list[str] = []
        self.ready = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()
        if not self.ready.wait(60):
            self.kill()
            raise RuntimeError("the Celery worker did not start:\n" + "".join(self.lines))

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line)
            if " ready." in line:
                self.ready.set()

    def kill(self) -> None:
        """SIGKILL the worker and its pool processes at once: a machine that lost power."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        """A warm shutdown (SIGTERM), then SIGKILL if it takes more than 20 s."""
        if self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.kill()
