from __future__ import annotations

from typing import Any

from headroom.doctor.analyse import tiny_chunk_findings


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
