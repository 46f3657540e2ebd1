"""Fixtures that run the demo shop for real: a small database per mode, its slow services,
and gunicorn serving it."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from headroom.demo.environment import DemoEnvironment, prepare

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def demo_workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the demo databases are built, once per test session."""
    return tmp_path_factory.mktemp("headroom-demo")


def _prepare(workdir: Path, fixed: bool) -> Iterator[DemoEnvironment]:
    with prepare(size="small", fixed=fixed, workdir=workdir, progress=False) as demo:
        yield demo


@pytest.fixture(scope="session")
def facts(demo_workdir: Path) -> dict[str, Any]:
    """What each mode's Django process reports (``tests.demo.inside facts``), by mode."""
    found = {}
    for mode in ("planted", "fixed"):
        for demo in _prepare(demo_workdir, fixed=mode == "fixed"):
            found[mode] = inside(demo, "facts")
    return found


@pytest.fixture(scope="module")
def planted(demo_workdir: Path) -> Iterator[DemoEnvironment]:
    yield from _prepare(demo_workdir, fixed=False)


@pytest.fixture(scope="module")
def fixed(demo_workdir: Path) -> Iterator[DemoEnvironment]:
    yield from _prepare(demo_workdir, fixed=True)


def inside(demo: DemoEnvironment, command: str, *args: str, **env: str) -> Any:
    """Run ``tests.demo.inside <command>`` in the demo's own Django process."""
    result = subprocess.run(
        [sys.executable, "-m", "tests.demo.inside", command, *args],
        env={**os.environ, **demo.env, "PYTHONPATH": str(ROOT), **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


class Server:
    """gunicorn serving the demo, as ``headroom doctor`` starts it."""

    def __init__(self, demo: DemoEnvironment, sessions: dict[str, str], **env: str) -> None:
        self.demo = demo
        self.sessions = sessions
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        self.log = demo.workdir / f"gunicorn-{port}.log"
        command = [sys.executable, "-m", "gunicorn", "headroom.demo.wsgi:application"]
        command += ["--bind", f"127.0.0.1:{port}", "--workers", "2", "--timeout", "60"]
        with self.log.open("w") as log:
            self.process = subprocess.Popen(
                command,
                env={**os.environ, **demo.env, **env},
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 30
        while True:
            try:
                requests.get(self.url + "/", timeout=2)
                break
            except requests.ConnectionError as exc:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    log = self.log.read_text()
                    raise RuntimeError(f"gunicorn did not start:\n{log}") from exc
                time.sleep(0.1)

    def session(self, user: str | None = None) -> requests.Session:
        """A browser-like session, signed in as ``user`` if given."""
        session = requests.Session()
        if user:
            session.cookies.set("sessionid", self.sessions[user])
        return session

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@pytest.fixture(scope="module")
def planted_server(planted: DemoEnvironment, facts: dict[str, Any]) -> Iterator[Server]:
    server = Server(planted, facts["planted"]["sessions"])
    yield server
    server.stop()


@pytest.fixture(scope="module")
def fixed_server(fixed: DemoEnvironment, facts: dict[str, Any]) -> Iterator[Server]:
    server = Server(fixed, facts["fixed"]["sessions"])
    yield server
    server.stop()
