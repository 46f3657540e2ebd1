"""Fixtures for the probe's tests: capture mode into a temporary spool, a small shop, and
real local HTTP and SMTP servers."""

from __future__ import annotations

import asyncio
import http.server
import json
import os
import socket
import socketserver
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from asgiref.sync import async_to_sync
from django.test import AsyncClient
from pytest_django.fixtures import Settings as SettingsWrapper

from headroom.probe import aggregates, queries, spool, sql, state
from tests.testapp.models import Category, Product, Review, Tag


class Capture:
    """The probe in capture mode, spooling into a temporary directory."""

    def __init__(self, settings: SettingsWrapper, directory: Path) -> None:
        self.settings = settings
        self.directory = directory
        self.configure()

    def configure(self, **options: Any) -> None:
        self.settings.HEADROOM = {
            "PROBE_MODE": "capture",
            "SPOOL_DIR": str(self.directory),
            **options,
        }

    def records(self) -> list[dict[str, Any]]:
        path = self.directory / f"probe-{os.getpid()}.jsonl"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines()]

    def last(self) -> dict[str, Any]:
        records = self.records()
        assert records, "the probe wrote no record"
        return records[-1]


@pytest.fixture(autouse=True)
def fresh_probe() -> Iterator[None]:
    aggregates.reset()
    state.reset_errors()
    sql.clear_cache()
    queries.forget_locations()
    yield
    spool.close()


@pytest.fixture
def capture(settings: SettingsWrapper, tmp_path: Path) -> Capture:
    return Capture(settings, tmp_path)


@pytest.fixture
def shop(db: None) -> list[Product]:
    """Three categories, eight products with two reviews each, two tags."""
    categories = [Category.objects.create(name=f"cat{n}") for n in range(3)]
    tags = [Tag.objects.create(name=f"tag{n}") for n in range(2)]
    products = []
    for n in range(8):
        product = Product.objects.create(name=f"p{n}", category=categories[n % 3])
        product.tags.set(tags)
        Review.objects.create(product=product, stars=4)
        Review.objects.create(product=product, stars=5)
        products.append(product)
    return products


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path.startswith("/slow"):
            time.sleep(1.0)
        body = b"ok"
        if self.path.startswith("/redirect"):
            self.send_response(302)
            self.send_header("Location", "/ok")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        self.send_response(404 if self.path.startswith("/missing") else 200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="session")
def http_server() -> Iterator[str]:
    """A real HTTP server on 127.0.0.1: ``/ok`` answers at once, ``/slow`` after 1 s,
    ``/redirect`` sends to ``/ok``."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


class _SMTPHandler(socketserver.StreamRequestHandler):
    """Just enough SMTP for smtplib: greet, accept every envelope, store each DATA."""

    def reply(self, line: str) -> None:
        self.wfile.write(line.encode() + b"\r\n")

    def handle(self) -> None:
        received: list[bytes] = self.server.received  # type: ignore[attr-defined]
        self.reply("220 localhost test SMTP")
        while line := self.rfile.readline():
            command = line.strip().upper()
            if command.startswith((b"EHLO", b"HELO")):
                self.reply("250 localhost")
            elif command.startswith((b"MAIL", b"RCPT", b"RSET", b"NOOP")):
                self.reply("250 OK")
            elif command == b"DATA":
                self.reply("354 go ahead")
                data = b""
                while (chunk := self.rfile.readline()) not in (b".\r\n", b""):
                    data += chunk
                received.append(data)
                self.reply("250 queued")
            elif command == b"QUIT":
                self.reply("221 bye")
                return
            else:
                self.reply("502 not implemented")


class SMTPServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _SMTPHandler)
        self.received: list[bytes] = []


@pytest.fixture
def smtp_server() -> Iterator[SMTPServer]:
    server = SMTPServer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


VIEWS = Path(__file__).resolve().parent.parent / "testapp" / "views.py"
#: The Jinja2 backend's template directory in the test settings.
JINJA_TEMPLATES = Path(__file__).resolve().parent.parent / "testapp" / "jinja2"


def line_of(text: str, path: Path = VIEWS) -> int:
    """The line number of the first line of ``path`` containing ``text``."""
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if text in line:
            return number
    raise AssertionError(f"{text!r} is not in {path}")


def port_of(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


def refused_url() -> str:
    """A URL on a local port that nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


def concurrent_calls(capture: Capture, path: str, http_server: str) -> tuple[Any, Any]:
    """Two requests at once to the async view at ``path`` (which calls out to ``url`` with
    ``timeout``): one calling a slow URL with no timeout, one a quick URL with a 3 s one.
    Checks that each call landed in its own request's record; returns the two calls, slow
    then quick."""

    async def both() -> list[Any]:
        client = AsyncClient()
        return await asyncio.gather(
            client.get(
                path + urlencode({"url": f"{http_server}/slow", "timeout": "none"}),
                headers={"X-Headroom-Request-Id": "slow"},
            ),
            client.get(
                path + urlencode({"url": f"{http_server}/ok", "timeout": "3"}),
                headers={"X-Headroom-Request-Id": "quick"},
            ),
        )

    responses = async_to_sync(both)()

    assert [r.json() for r in responses] == [{"status": 200}, {"status": 200}]
    calls = {r["request_id"]: r["outbound"] for r in capture.records()}
    (slow,) = calls["slow"]
    (quick,) = calls["quick"]
    assert (slow["url"], slow["timeout"]) == (f"{http_server}/slow", None)
    assert (quick["url"], quick["timeout"]) == (f"{http_server}/ok", 3.0)
    assert slow["duration_ms"] > 900 > quick["duration_ms"]
    return slow, quick
