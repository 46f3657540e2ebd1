"""httpx calls, sync and async, recorded like the http.client ones."""

from __future__ import annotations

import sys
from urllib.parse import urlencode

import httpx
import pytest
from asgiref.sync import async_to_sync
from django.test import AsyncClient, Client

from headroom.probe import outbound
from tests.probe.conftest import Capture, concurrent_calls, line_of, port_of, refused_url


def test_a_call_without_a_timeout_is_flagged(
    client: Client, capture: Capture, http_server: str
) -> None:
    query = {"url": f"{http_server}/ok?key=s3cret", "timeout": "none"}
    response = client.get("/call-out/httpx/?" + urlencode(query))

    assert response.json() == {"status": 200}
    (call,) = capture.last()["outbound"]  # once: httpx does not go through http.client
    assert call["library"] == "httpx"
    assert (call["method"], call["host"], call["port"]) == (
        "GET",
        "127.0.0.1",
        port_of(http_server),
    )
    assert call["url"] == f"{http_server}/ok"  # the query string (often a key) is dropped
    assert call["status"] == 200
    assert call["timeout"] is None
    assert call["error"] is None
    assert call["duration_ms"] > 0
    assert call["location"]["function"] == "call_out_httpx"
    assert call["location"]["line"] == line_of("http.get(url, timeout=timeout)")


def test_an_explicit_timeout_is_recorded(
    client: Client, capture: Capture, http_server: str
) -> None:
    client.get("/call-out/httpx/?" + urlencode({"url": f"{http_server}/missing", "timeout": "2.5"}))

    (call,) = capture.last()["outbound"]
    assert call["library"] == "httpx"
    assert call["status"] == 404
    assert call["timeout"] == 2.5


def test_the_default_timeout_of_the_module_level_helper_is_recorded(
    client: Client, capture: Capture, http_server: str
) -> None:
    client.get("/call-out/httpx/?" + urlencode({"url": f"{http_server}/ok"}))

    (call,) = capture.last()["outbound"]
    assert call["library"] == "httpx"
    assert call["timeout"] == 5.0  # httpx's default: not "no timeout"
    assert call["location"]["line"] == line_of("httpx.get(url).status_code")


def test_a_refused_connection_records_the_error(client: Client, capture: Capture) -> None:
    url = refused_url()
    response = client.get("/call-out/httpx/?" + urlencode({"url": url, "timeout": "1"}))

    assert response.json() == {"error": "ConnectError"}
    (call,) = capture.last()["outbound"]
    assert call["library"] == "httpx"
    assert call["url"] == url
    assert call["error"] == "ConnectError"
    assert call["status"] is None
    assert call["timeout"] == 1.0


def test_a_timed_out_call_records_the_error(
    client: Client, capture: Capture, http_server: str
) -> None:
    response = client.get(
        "/call-out/httpx/?" + urlencode({"url": f"{http_server}/slow", "timeout": "0.2"})
    )

    assert response.status_code == 502
    (call,) = capture.last()["outbound"]
    assert call["status"] is None
    assert call["error"] == "ReadTimeout"
    assert call["timeout"] == 0.2
    assert 150 < call["duration_ms"] < 1000


def test_async_calls_land_in_their_own_request(capture: Capture, http_server: str) -> None:
    slow, quick = concurrent_calls(capture, "/async/call-out/httpx/?", http_server)
    assert slow["library"] == quick["library"] == "httpx"
    assert slow["location"]["function"] == "async_call_out_httpx"
    assert slow["location"]["line"] == line_of("response = await http.get(url)")


def test_a_refused_async_connection_records_the_error(capture: Capture) -> None:
    url = refused_url()
    response = async_to_sync(AsyncClient().get)(
        "/async/call-out/httpx/?" + urlencode({"url": url, "timeout": "1"})
    )

    assert response.json() == {"error": "ConnectError"}
    (call,) = capture.last()["outbound"]
    assert (call["library"], call["error"], call["status"]) == ("httpx", "ConnectError", None)


def test_calls_outside_a_request_are_not_recorded(
    client: Client, capture: Capture, http_server: str
) -> None:
    client.get("/call-out/httpx/?" + urlencode({"url": f"{http_server}/ok", "timeout": "2"}))
    assert httpx.get(f"{http_server}/ok", timeout=2).status_code == 200

    async def outside() -> int:
        async with httpx.AsyncClient(timeout=2) as http:
            return (await http.get(f"{http_server}/ok")).status_code

    assert async_to_sync(outside)() == 200
    client.get("/echo/")

    first, second = (r["outbound"] for r in capture.records())
    assert [c["url"] for c in first] == [f"{http_server}/ok"]
    assert second == []


def test_installing_twice_wraps_once(client: Client, capture: Capture) -> None:
    client.get("/echo/")  # installs the probe
    wrapped = (httpx.HTTPTransport.handle_request, httpx.AsyncHTTPTransport.handle_async_request)

    outbound.install()

    assert getattr(wrapped[0], outbound._MARK) and getattr(wrapped[1], outbound._MARK)
    assert (
        httpx.HTTPTransport.handle_request,
        httpx.AsyncHTTPTransport.handle_async_request,
    ) == wrapped


def test_installing_without_httpx_is_fine(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "httpx", None)  # import httpx now raises ImportError

    outbound.install()


@pytest.fixture(autouse=True)
def _db(db: None) -> None:
    """The test views touch no table, but the session middleware may."""
