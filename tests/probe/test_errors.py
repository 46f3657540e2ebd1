from __future__ import annotations

import logging
from pathlib import Path

import pytest
from django.test import Client

from headroom.probe import probe_errors_total, snapshot, sql
from tests.probe.conftest import Capture
from tests.testapp.models import Product


def _broken_fingerprint(statement: str) -> str:
    raise ValueError("fingerprinting failed")


def test_an_error_inside_the_probe_leaves_the_response_intact(
    client: Client,
    capture: Capture,
    shop: list[Product],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(sql, "fingerprint_sql", _broken_fingerprint)

    with caplog.at_level(logging.ERROR, logger="headroom.probe"):
        response = client.get("/categories/")

    assert response.status_code == 200
    assert response.json()["names"] == [
        "cat0",
        "cat1",
        "cat2",
        "cat0",
        "cat1",
        "cat2",
        "cat0",
        "cat1",
    ]
    record = capture.last()
    assert record["probe_errors"] == 9  # one per query, none reached the view
    assert record["queries"] == []
    assert probe_errors_total() == 9
    assert snapshot()["probe_errors"] == 9
    # Logged once (with the traceback), not once per query.
    (logged,) = [r for r in caplog.records if r.name == "headroom.probe"]
    assert "probe error in recording a query" in logged.getMessage()
    assert logged.exc_info is not None and logged.exc_info[0] is ValueError


def test_an_unwritable_spool_does_not_break_requests(
    client: Client, capture: Capture, db: None, tmp_path: Path
) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    capture.configure(SPOOL_DIR=str(blocker / "spool"))

    response = client.get("/echo/")

    assert response.status_code == 200
    assert response.json() == {"path": "/echo/"}
    assert "X-Headroom-Request-Id" in response
    assert probe_errors_total() == 1
