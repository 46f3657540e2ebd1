from __future__ import annotations

import warnings

from asgiref.sync import async_to_sync
from django.test import AsyncClient, Client

from tests.probe.conftest import Capture
from tests.testapp.models import Product


def test_a_streamed_str_is_one_chunk_per_character(
    client: Client, capture: Capture, db: None
) -> None:
    response = client.get("/stream/text/")
    body = b"".join(response.streaming_content)  # type: ignore[attr-defined]

    assert body == b"x" * 1000
    record = capture.last()
    stream_ms = record["response"].pop("stream_ms")
    assert record["response"] == {
        "bytes": 1000,
        "streaming": True,
        "chunks": 1000,
        "mean_chunk_bytes": 1.0,
        "content_type": "text/plain",
    }
    assert stream_ms > 0


def test_a_generator_of_lines_and_its_queries(
    client: Client, capture: Capture, shop: list[Product]
) -> None:
    response = client.get("/stream/lines/")
    assert capture.records() == []  # the record waits for the end of the stream

    body = b"".join(response.streaming_content)  # type: ignore[attr-defined]

    assert body.count(b"\n") == 8
    record = capture.last()
    assert record["response"]["chunks"] == 8
    assert record["response"]["bytes"] == len(body)
    assert record["response"]["mean_chunk_bytes"] == len(body) / 8
    # The generator's query ran after the view returned, and is still counted.
    assert record["db"]["count"] == 1
    assert "testapp_product" in record["queries"][0]["sql"]


def test_a_stream_closed_early_still_finishes_the_record(
    client: Client, capture: Capture, db: None
) -> None:
    response = client.get("/stream/text/")
    iterator = iter(response.streaming_content)  # type: ignore[attr-defined]
    next(iterator)
    next(iterator)
    response.close()

    record = capture.last()
    assert record["response"]["chunks"] == 2
    assert record["response"]["bytes"] == 2


def test_an_async_iterator_served_by_the_async_handler(capture: Capture, db: None) -> None:
    async def fetch() -> bytes:
        response = await AsyncClient().get("/stream/async/")
        # As Django's ASGIHandler sends it: ``async for`` over the response.
        return b"".join([chunk async for chunk in response])

    body = async_to_sync(fetch)()

    assert body == b"".join(f"line {n}\n".encode() for n in range(10))
    response = capture.last()["response"]
    assert (response["chunks"], response["bytes"]) == (10, len(body))


def test_a_str_streamed_by_the_async_handler(capture: Capture, db: None) -> None:
    async def fetch() -> bytes:
        response = await AsyncClient().get("/stream/text/")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Django warns: a sync iterator under ASGI
            return b"".join([chunk async for chunk in response])

    assert async_to_sync(fetch)() == b"x" * 1000
    assert capture.last()["response"]["chunks"] == 1000


def test_non_streaming_response_size(client: Client, capture: Capture, db: None) -> None:
    response = client.get("/echo/")

    assert capture.last()["response"] == {
        "bytes": len(response.content),
        "streaming": False,
        "chunks": None,
        "mean_chunk_bytes": None,
        "content_type": "application/json",
        "stream_ms": None,
    }
