"""On a terminal, ``headroom backfill run`` draws a rich progress bar with rows/s and ETA."""

from __future__ import annotations

import fcntl
import os
import re
import select
import struct
import subprocess
import sys
import termios
import time

import pytest

from headroom.backfill.models import BackfillRun
from tests.backfill.conftest import fill_counters, hits
from tests.backfill.processes import ROOT, environment

pytestmark = pytest.mark.django_db(databases=["default", "postgres"], transaction=True)

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")


def run_in_terminal(argv: list[str], env: dict[str, str], timeout: float = 120) -> tuple[int, str]:
    """Run ``python -m headroom backfill ...`` with a pseudo-terminal (120 columns) as its
    stdout and stderr; return its exit code and everything it drew, escape codes removed."""
    primary, secondary = os.openpty()
    fcntl.ioctl(secondary, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    env = {**env, "TERM": "xterm-256color", "COLUMNS": "120", "LINES": "40"}
    for name in ("NO_COLOR", "TERM_PROGRAM", "CI", "GITHUB_ACTIONS"):
        env.pop(name, None)
    process = subprocess.Popen(
        [sys.executable, "-m", "headroom", "backfill", *argv],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=secondary,
        stderr=secondary,
        start_new_session=True,
    )
    os.close(secondary)
    drawn = bytearray()
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([primary], [], [], 0.1)
            if ready:
                try:
                    chunk = os.read(primary, 65536)
                except OSError:  # EIO: the child closed the terminal
                    break
                if not chunk:
                    break
                drawn += chunk
            elif process.poll() is not None:
                break
        code = process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        os.close(primary)
    return code, ANSI.sub("", drawn.decode(errors="replace")).replace("\r", "\n")


def test_run_on_a_terminal_draws_a_progress_bar_with_rate_and_eta() -> None:
    fill_counters("default", 6000)
    env = environment(
        {"BACKFILL_BATCH_SIZE": 300, "BACKFILL_MAX_BATCH_SIZE": 300},
        HEADROOM_TEST_BATCH_DELAY="0.03",
    )
    code, screen = run_in_terminal(
        ["run", "backfilltests.CountEveryRow", "--database", "default"], env
    )
    assert code == 0, screen
    assert hits("default") == {1: 6000}
    run = BackfillRun.objects.using("default").order_by("-id").first()
    assert run is not None and run.state == "succeeded"

    lines = [line for line in screen.splitlines() if "backfilltests.CountEveryRow" in line]
    # The bar (rich draws it with box characters), refreshed in place as the run goes.
    bars = [line for line in lines if "━" in line and "rows/s" in line]
    assert len(bars) >= 2, screen
    # Mid-run frames show a real rate and a real ETA...
    running = [line for line in bars if line.rstrip().endswith("running")]
    assert running, screen
    assert any(re.search(r"[1-9][\d,]* rows/s", line) for line in running), running
    assert any(re.search(r"ETA \d+(\.\d)?s", line) for line in running), running
    # ...and the last frame is the finished run.
    final = bars[-1]
    assert "100%" in final and "6,000 rows" in final and final.rstrip().endswith("succeeded")
    assert "ETA 0.0s" in final
    assert "headroom backfill: started run #" in screen
    # After the bar, the outcome in one plain line.
    assert f"backfilltests.CountEveryRow #{run.pk}: 6,000/6,000 rows  100.0%" in screen
