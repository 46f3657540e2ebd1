"""Run the project's WSGI application under gunicorn, on 127.0.0.1 and a free port."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType


class ServerError(Exception):
    """The server did not start; the message carries its last output lines."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def default_workers() -> int:
    """Gunicorn's own advice: two workers per core, plus one."""
    return 2 * (os.cpu_count() or 1) + 1


def wsgi_application_path() -> str:
    """``settings.WSGI_APPLICATION`` in gunicorn's ``module:attribute`` form."""
    from django.conf import settings

    dotted = getattr(settings, "WSGI_APPLICATION", None)
    if not dotted:
        raise ServerError(
            "settings.WSGI_APPLICATION is not set, so headroom does not know what to serve. "
            "Set it, e.g. WSGI_APPLICATION = 'mysite.wsgi.application'."
        )
    module, _, attribute = str(dotted).rpartition(".")
    return f"{module}:{attribute}"


class GunicornServer:
    """A gunicorn subprocess serving the project; use as a context manager.

    ``env`` is merged into the subprocess's environment (the doctor passes the probe's
    capture-mode variables this way). Output goes to ``log_path``.
    """

    def __init__(
        self,
        *,
        app: str,
        workers: int,
        threads: int = 1,
        env: Mapping[str, str] | None = None,
        log_path: Path,
        timeout: float = 60.0,
        python_path: list[str] | None = None,
    ) -> None:
        self.app = app
        self.workers = workers
        self.threads = threads
        self.env = dict(env or {})
        self.log_path = log_path
        self.timeout = timeout
        self.python_path = python_path or []
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        cmd = [
            sys.executable,
            "-m",
            "gunicorn",
            self.app,
            "--bind",
            f"127.0.0.1:{self.port}",
            "--workers",
            str(self.workers),
            "--timeout",
            str(int(self.timeout)),
            "--graceful-timeout",
            "5",
            "--log-level",
            "warning",
            "--error-logfile",
            "-",
        ]
        if self.threads > 1:
            cmd += ["--threads", str(self.threads), "--worker-class", "gthread"]
        return cmd

    def start(self) -> None:
        if not _module_available("gunicorn"):
            raise ServerError(
                "gunicorn is not installed. Install the doctor's extras:\n"
                "    python -m pip install 'django-headroom[doctor]'"
            )
        env = {**os.environ, **self.env}
        paths = [*self.python_path, os.getcwd(), env.get("PYTHONPATH", "")]
        env["PYTHONPATH"] = os.pathsep.join(p for p in paths if p)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            self.command(),
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
        log.close()
        self._wait_ready()

    def _wait_ready(self, limit: float = 60.0) -> None:
        deadline = time.monotonic() + limit
        assert self.process is not None
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ServerError(
                    f"gunicorn exited with code {self.process.returncode} before serving:\n"
                    + self.tail()
                )
            try:
                urllib.request.urlopen(self.url + "/", timeout=10).close()
                return
            except urllib.error.HTTPError:
                return  # it answered; a 404 or 500 on / is still a running server
            except (urllib.error.URLError, OSError):
                time.sleep(0.2)
        self.stop()
        raise ServerError(
            f"gunicorn did not answer on {self.url} within {limit:.0f} s:\n" + self.tail()
        )

    def tail(self, lines: int = 20) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        process = self.process
        if process is None or process.poll() is not None:
            return
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)
        except ProcessLookupError:
            pass

    def __enter__(self) -> GunicornServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _module_available(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None
