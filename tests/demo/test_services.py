"""``python -m headroom.demo.services``: the slow SMTP server and payment API, by hand."""

from __future__ import annotations

import signal
import smtplib
import socket
import subprocess
import sys
import time

import requests


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_services_run_in_the_foreground_and_say_where_they_are() -> None:
    smtp_port, payment_port = _free_port(), _free_port()
    command = [sys.executable, "-m", "headroom.demo.services"]
    command += ["--smtp-port", str(smtp_port), "--payment-port", str(payment_port)]
    command += ["--smtp-delay", "0.2", "--payment-delay", "0.1"]
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    try:
        banner = [process.stdout.readline() for _ in range(5)]
        assert f"smtp://127.0.0.1:{smtp_port}" in banner[0]
        assert f"http://127.0.0.1:{payment_port}/charges" in banner[1]
        assert f"export HEADROOM_DEMO_SMTP_PORT={smtp_port} " in banner[3]
        assert banner[4].startswith("Ctrl-C stops them.")

        began = time.monotonic()
        with smtplib.SMTP("127.0.0.1", smtp_port) as client:
            client.sendmail(
                "shop@example.com", ["ada@example.com"], b"Subject: Hi\r\n\r\nHello\r\n"
            )
        assert time.monotonic() - began >= 0.2
        reply = requests.post(
            f"http://127.0.0.1:{payment_port}/charges", json={"order": "HR-1"}, timeout=5
        )
        assert reply.status_code == 201
        assert reply.json() == {"id": "ch_00000001", "status": "succeeded", "order": "HR-1"}
        assert process.stdout.readline().strip() == "mail   shop@example.com -> ada@example.com: Hi"
        assert process.stdout.readline().strip() == 'charge ch_00000001: {"order": "HR-1"}'
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 0
