"""aiohttp calls from async views, recorded like the httpx ones."""

from __future__ import annotations

import asyncio
import sys
import time
from typing import Any
from urllib.parse import urlencode

import aiohttp
import pytest
from asgiref.sync import async_to_sync
from django.test import AsyncClient

from headroom.doctor.analyse import blocking_call_findings
from headroom.probe import outbound
from headroom.probe.state import RequestState
from tests.probe.conftest import Capture, concurrent_calls, line_of, port_of, refused_url

PATH = "/async/call-out/aiohttp/?"


def _get(**query: str) -> Any:
    return async_to_sync(AsyncClient().get)(PATH + urlencode(query))


def test_the_session_default_timeout_is_recorded(capture: Capture, http_server: str) -> None:
    response = _get(url=f"{http_server}/ok?key=s3cret")

    assert response.json() == {"status": 200}
    (call,) = capture.last()["outbound"]  # once: aiohttp does not go through http.client
    assert call["library"] == "aiohttp"
    assert (call["method"], call["host"], call["port"]) == (
        "GET",
        "127.0.0.1",
        port_of(http_server),
    )
    assert call["url"] == f"{http_server}/ok"  # the query string (often a key) is dropped
    assert call["status"] == 200
    assert call["timeout"] == 300.0  # the session's default total: not "no timeout"
    assert call["error"] is None
    assert call["duration_ms"] > 0
    assert call["location"]["function"] == "async_call_out_aiohttp"
    assert call["location"]["line"] == line_of("response = await session.get(url, **options)")


def test_a_call_without_a_timeout_is_flagged(capture: Capture, http_server: str) -> None:
    response = _get(url=f"{http_server}/ok", timeout="none")

    assert response.json() == {"status": 200}
    record = capture.last()
    (call,) = record["outbound"]
    assert call["library"] == "aiohttp"
    assert call["timeout"] is None

    [finding] = blocking_call_findings([record], {})
    assert finding.kind == "blocking_call"
    assert finding.severity == "error"
    assert finding.evidence["library"] == "aiohttp"
    assert finding.evidence["calls_without_timeout"] == 1
    assert "timeout=aiohttp.ClientTimeout(total=10, sock_connect=3)" in finding.fix


def test_an_explicit_timeout_is_recorded(capture: Capture, http_server: str) -> None:
    _get(url=f"{http_server}/missing", timeout="2.5", how="request")

    (call,) = capture.last()["outbound"]
    assert call["library"] == "aiohttp"
    assert call["status"] == 404
    assert call["timeout"] == 2.5
    assert call["location"]["line"] == line_of('await session.request("GET", url, **options)')


def test_a_call_used_as_a_context_manager_is_recorded(capture: Capture, http_server: str) -> None:
    response = _get(url=f"{http_server}/ok#part", timeout="3", how="context")

    assert response.json() == {"status": 200}
    (call,) = capture.last()["outbound"]
    assert (call["library"], call["url"], call["status"]) == ("aiohttp", f"{http_server}/ok", 200)
    assert call["timeout"] == 3.0
    assert call["location"]["line"] == line_of("async with session.get(url, **options) as")


def test_credentials_in_the_url_are_dropped(capture: Capture, http_server: str) -> None:
    with_credentials = http_server.replace("http://", "http://user:s3cret@")
    _get(url=f"{with_credentials}/ok", timeout="2")

    (call,) = capture.last()["outbound"]
    assert call["url"] == f"{http_server}/ok"
    assert "s3cret" not in str(call)


def test_redirects_are_followed_inside_one_record(capture: Capture, http_server: str) -> None:
    response = _get(url=f"{http_server}/redirect", timeout="2")

    assert response.json() == {"status": 200}
    (call,) = capture.last()["outbound"]
    assert call["url"] == f"{http_server}/redirect"  # the URL the project called
    assert call["status"] == 200  # the final response's


def test_a_refused_connection_records_the_error(capture: Capture) -> None:
    url = refused_url()
    response = _get(url=url, timeout="1")

    assert response.json() == {"error": "ClientConnectorError"}
    (call,) = capture.last()["outbound"]
    assert call["library"] == "aiohttp"
    assert call["url"] == url
    assert call["error"] == "ClientConnectorError"
    assert call["status"] is None
    assert call["timeout"] == 1.0


def test_a_timed_out_call_records_the_error(capture: Capture, http_server: str) -> None:
    response = _get(url=f"{http_server}/slow", timeout="0.2")

    assert response.status_code == 502
    (call,) = capture.last()["outbound"]
    assert call["status"] is None
    assert call["error"] == response.json()["error"] == "TimeoutError"  # total ran out
    assert call["timeout"] == 0.2
    assert 150 < call["duration_ms"] < 1000


def test_async_calls_land_in_their_own_request(capture: Capture, http_server: str) -> None:
    slow, quick = concurrent_calls(capture, PATH, http_server)
    assert slow["library"] == quick["library"] == "aiohttp"


def test_calls_outside_a_request_are_not_recorded(capture: Capture, http_server: str) -> None:
    _get(url=f"{http_server}/ok", timeout="2")

    async def outside() -> int:
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"{http_server}/ok") as response,
        ):
            return response.status

    assert async_to_sync(outside)() == 200
    async_to_sync(AsyncClient().get)("/echo/")

    first, second = (r["outbound"] for r in capture.records())
    assert [c["url"] for c in first] == [f"{http_server}/ok"]
    assert second == []


def _recorded(session_options: dict[str, Any], url: str, **call: Any) -> dict[str, Any]:
    """The record of one call made through ``_record_aiohttp`` with no network I/O."""
    state = RequestState("r", 5, 100.0)

    async def run() -> None:
        async with aiohttp.ClientSession(**session_options) as session:
            outbound._record_aiohttp(
                state, session, "get", url, call, time.perf_counter(), 200, None, sys._getframe()
            )

    asyncio.run(run())
    (record,) = state.outbound
    return record


def test_the_default_port_is_filled_in_and_credentials_dropped() -> None:
    record = _recorded({}, "https://user:pw@API.example.com/v1/rates?key=1#top")

    assert (record["method"], record["host"], record["port"]) == ("GET", "api.example.com", 443)
    assert record["url"] == "https://api.example.com/v1/rates"
    assert record["timeout"] == 300.0
    assert _recorded({}, "http://example.com/")["port"] == 80


def test_a_relative_url_is_joined_to_the_base_url() -> None:
    record = _recorded({"base_url": "https://api.example.com/v1/"}, "rates")

    assert record["url"] == "https://api.example.com/v1/rates"


@pytest.mark.parametrize(
    ("session_timeout", "call_timeout", "recorded"),
    [
        # The session's timeout applies when the call gives none.
        (None, {}, 300.0),
        (aiohttp.ClientTimeout(sock_read=1.5), {}, 1.5),
        (aiohttp.ClientTimeout(total=None), {}, None),
        (aiohttp.ClientTimeout(total=20, sock_read=4), {}, 4.0),
        (aiohttp.ClientTimeout(total=3, sock_read=4), {}, 3.0),
        # A call's timeout replaces the session's as a whole.
        (aiohttp.ClientTimeout(sock_read=1.5), {"timeout": aiohttp.ClientTimeout()}, None),
        (None, {"timeout": aiohttp.ClientTimeout(connect=2, sock_connect=2)}, None),
        (None, {"timeout": aiohttp.ClientTimeout(total=0, sock_read=0)}, None),  # 0 is unset
        (None, {"timeout": aiohttp.ClientTimeout(sock_read=7)}, 7.0),
        # A number or None stands for ClientTimeout(total=that).
        (aiohttp.ClientTimeout(sock_read=1.5), {"timeout": 4}, 4.0),
        (None, {"timeout": None}, None),
    ],
)
def test_the_effective_timeout(
    session_timeout: aiohttp.ClientTimeout | None,
    call_timeout: dict[str, Any],
    recorded: float | None,
) -> None:
    options = {} if session_timeout is None else {"timeout": session_timeout}

    assert _recorded(options, "http://example.com/", **call_timeout)["timeout"] == recorded


def test_installing_twice_wraps_once(capture: Capture) -> None:
    async_to_sync(AsyncClient().get)("/echo/")  # installs the probe
    wrapped = aiohttp.ClientSession._request

    outbound.install()

    assert getattr(wrapped, outbound._MARK)
    assert aiohttp.ClientSession._request is wrapped
    assert not getattr(wrapped.__wrapped__, outbound._MARK, False)  # type: ignore[attr-defined]


def test_installing_without_aiohttp_is_fine(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "aiohttp", None)  # import aiohttp now raises ImportError

    outbound.install()


@pytest.fixture(autouse=True)
def _db(db: None) -> None:
    """The test views touch no table, but the session middleware may."""
