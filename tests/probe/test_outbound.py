from __future__ import annotations

import socket
from urllib.parse import urlencode

import pytest
import requests
from django.test import Client

from tests.probe.conftest import Capture, line_of


def test_requests_call_with_a_timeout(client: Client, capture: Capture, http_server: str) -> None:
    response = client.get(
        "/call-out/?" + urlencode({"url": f"{http_server}/ok?key=s3cret", "timeout": "2.5"})
    )

    assert response.json() == {"status": 200}
    (call,) = capture.last()["outbound"]
    port = int(http_server.rsplit(":", 1)[1])
    assert call["library"] == "requests"
    assert (call["method"], call["host"], call["port"]) == ("GET", "127.0.0.1", port)
    assert call["url"] == f"{http_server}/ok"  # the query string (often a key) is dropped
    assert call["status"] == 200
    assert call["timeout"] == 2.5
    assert call["error"] is None
    assert call["duration_ms"] > 0
    assert call["location"]["function"] == "call_out"
    assert call["location"]["line"] == line_of("requests.get(url, timeout=timeout)")


def test_requests_call_without_a_timeout_is_flagged(
    client: Client, capture: Capture, http_server: str
) -> None:
    client.get("/call-out/?" + urlencode({"url": f"{http_server}/missing"}))

    (call,) = capture.last()["outbound"]
    assert call["library"] == "requests"
    assert call["status"] == 404
    assert call["timeout"] is None


def test_http_client_call_with_and_without_timeout(
    client: Client, capture: Capture, http_server: str
) -> None:
    client.get("/call-out/?" + urlencode({"url": f"{http_server}/ok", "library": "http.client"}))
    client.get(
        "/call-out/?"
        + urlencode({"url": f"{http_server}/ok", "library": "http.client", "timeout": "3"})
    )

    without, with_timeout = (r["outbound"][0] for r in capture.records()[-2:])
    assert without["library"] == with_timeout["library"] == "http.client"
    assert without["timeout"] is None
    assert with_timeout["timeout"] == 3.0
    assert with_timeout["status"] == 200
    assert with_timeout["location"]["line"] == line_of('conn.request("GET", "/" + rest)') + 1


def test_a_timed_out_call_records_the_error(
    client: Client, capture: Capture, http_server: str
) -> None:
    response = client.get(
        "/call-out/?" + urlencode({"url": f"{http_server}/slow", "timeout": "0.2"})
    )

    assert response.status_code == 502
    (call,) = capture.last()["outbound"]
    assert call["status"] is None
    assert call["error"] == "TimeoutError"
    assert call["timeout"] == 0.2
    assert 150 < call["duration_ms"] < 1000


@pytest.mark.parametrize(
    ("library", "error"),
    [("requests", "NewConnectionError"), ("http.client", "ConnectionRefusedError")],
)
def test_a_refused_connection_records_the_error(
    client: Client, capture: Capture, library: str, error: str
) -> None:
    with socket.socket() as sock:  # a port that nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]

    url = f"http://127.0.0.1:{port}/"
    client.get("/call-out/?" + urlencode({"url": url, "timeout": "1", "library": library}))

    (call,) = capture.last()["outbound"]
    assert call["library"] == library
    assert call["error"] == error
    assert call["status"] is None
    assert call["timeout"] == 1.0


def test_calls_outside_a_request_are_not_recorded(
    client: Client, capture: Capture, http_server: str
) -> None:
    client.get("/echo/")  # installs the probe
    assert requests.get(f"{http_server}/ok", timeout=2).status_code == 200
    client.get("/echo/")
    assert [r["outbound"] for r in capture.records()] == [[], []]


@pytest.fixture(autouse=True)
def _db(db: None) -> None:
    """The test views touch no table, but the session middleware may."""
