from __future__ import annotations

from typing import Any

from headroom.doctor.analyse import blocking_call_findings, tiny_chunk_findings


def streamed(chunks: int, size: int) -> dict[str, Any]:
    return {
        "request_id": "r",
        "route": "export.csv",
        "view": None,
        "duration_ms": 3.0,
        "response": {
            "streaming": True,
            "chunks": chunks,
            "bytes": chunks * size,
            "mean_chunk_bytes": float(size),
        },
    }


def test_a_character_per_chunk_is_reported() -> None:
    [finding] = tiny_chunk_findings([streamed(9000, 1)])
    assert finding.kind == "tiny_chunks"
    assert finding.severity == "error"
    assert finding.url_pattern == "/export.csv"
    assert finding.evidence["chunks_per_response"] == 9000


def test_a_line_per_chunk_is_fine() -> None:
    assert tiny_chunk_findings([streamed(700, 13)]) == []


def test_a_short_stream_is_not_worth_reporting() -> None:
    assert tiny_chunk_findings([streamed(40, 1)]) == []


def _untimed_call(library: str, method: str, url: str, ms: float, route: str) -> dict[str, Any]:
    """The probe's record of a request to ``route`` that made one call to ``url`` with no
    timeout, taking ``ms``."""
    host_port = url.split("/")[2]
    host, _, port = host_port.partition(":")
    call = {
        "library": library,
        "method": method,
        "host": host,
        "port": int(port) if port else 443,
        "url": url,
        "status": 200,
        "duration_ms": ms,
        "timeout": None,
        "error": None,
        "location": {"file": "shop/views.py", "line": 12, "function": "view"},
    }
    return {"request_id": "r", "route": route, "duration_ms": ms + 7, "outbound": [call]}


def test_a_blocking_httpx_call_gets_an_httpx_fix() -> None:
    record = _untimed_call("httpx", "POST", "http://127.0.0.1:8443/charge", 83.0, "checkout/")

    [finding] = blocking_call_findings([record], {})

    assert finding.kind == "blocking_call"
    assert finding.title.startswith("/checkout/ waits 83 ms on 127.0.0.1:8443 (no timeout)")
    assert finding.evidence["library"] == "httpx"
    assert "httpx.post(url, ..., timeout=httpx.Timeout(10, connect=3.05))" in finding.fix
    assert "requests." not in finding.fix


def test_a_blocking_aiohttp_call_gets_an_aiohttp_fix() -> None:
    record = _untimed_call("aiohttp", "GET", "https://api.example.com/rates", 140.0, "rates/")

    [finding] = blocking_call_findings([record], {})

    assert finding.kind == "blocking_call"
    assert finding.severity == "error"
    assert finding.title.startswith("/rates/ waits 140 ms on api.example.com:443 (no timeout)")
    assert finding.evidence["library"] == "aiohttp"
    assert (
        "session.get(url, ..., timeout=aiohttp.ClientTimeout(total=10, sock_connect=3))"
        in finding.fix
    )
    assert "requests." not in finding.fix and "httpx." not in finding.fix
