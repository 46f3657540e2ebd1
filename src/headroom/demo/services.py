"""The demo's slow neighbours: an SMTP server and a payment API, both on 127.0.0.1.

They stand in for the outside services a real shop talks to while a customer waits. Both
answer correctly, just slowly (the delay is here, never in the shop's views), so that a view
calling them synchronously is slow the way it would be in production.

``python -m headroom.demo.services`` runs both in the foreground and prints their addresses.
"""

from __future__ import annotations

import argparse
import email
import email.policy
import itertools
import json
import socketserver
import sys
import threading
import time
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

#: Seconds the SMTP server takes to accept each message (after the data is sent).
SMTP_DELAY = 0.12
#: Seconds the payment API takes to answer a charge.
PAYMENT_DELAY = 0.08


@dataclass(frozen=True)
class ReceivedMail:
    """One message the SMTP server accepted."""

    mail_from: str
    recipients: tuple[str, ...]
    data: bytes

    @property
    def message(self) -> EmailMessage:
        parsed = email.message_from_bytes(self.data, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


@dataclass
class _Inbox:
    items: list[Any] = field(default_factory=list)
    changed: threading.Condition = field(default_factory=threading.Condition)

    def add(self, item: Any) -> None:
        with self.changed:
            self.items.append(item)
            self.changed.notify_all()

    def wait_for(self, count: int, timeout: float) -> list[Any]:
        with self.changed:
            self.changed.wait_for(lambda: len(self.items) >= count, timeout=timeout)
            return list(self.items)


class _ThreadingTCPServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256


class _SMTPHandler(socketserver.StreamRequestHandler):
    server: _SMTPSocketServer

    def _reply(self, line: str) -> None:
        self.wfile.write(line.encode("ascii") + b"\r\n")

    def handle(self) -> None:
        self._reply("220 headroom-demo ESMTP ready")
        mail_from, recipients = "", list[str]()
        while True:
            raw = self.rfile.readline(65536)
            if not raw:
                return
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            verb, _, argument = line.partition(" ")
            verb = verb.upper()
            if verb == "EHLO":
                self._reply("250-headroom-demo")
                self._reply("250-8BITMIME")
                self._reply("250 SMTPUTF8")
            elif verb == "HELO":
                self._reply("250 headroom-demo")
            elif verb == "MAIL":
                mail_from, recipients = _address(argument), []
                self._reply("250 OK")
            elif verb == "RCPT":
                recipients.append(_address(argument))
                self._reply("250 OK")
            elif verb == "DATA":
                self._reply("354 End data with <CR><LF>.<CR><LF>")
                data = self._read_data()
                if data is None:
                    return
                # A slow mail server: spam filtering, a full disk queue, a far-away relay.
                time.sleep(self.server.owner.delay)
                self.server.owner.inbox.add(ReceivedMail(mail_from, tuple(recipients), data))
                self._reply("250 OK queued")
                mail_from, recipients = "", []
            elif verb in ("RSET", "NOOP"):
                if verb == "RSET":
                    mail_from, recipients = "", []
                self._reply("250 OK")
            elif verb == "QUIT":
                self._reply("221 Bye")
                return
            else:
                self._reply("502 Command not implemented")

    def _read_data(self) -> bytes | None:
        lines: list[bytes] = []
        while True:
            raw = self.rfile.readline(1 << 20)
            if not raw:
                return None
            if raw in (b".\r\n", b".\n"):
                return b"".join(lines)
            lines.append(raw[1:] if raw.startswith(b"..") else raw)


def _address(argument: str) -> str:
    _, _, rest = argument.partition(":")
    return rest.strip().split(" ")[0].strip("<>")


class _SMTPSocketServer(_ThreadingTCPServer):
    owner: SlowSMTPServer


class _BackgroundServer:
    """Start/stop plumbing shared by the two servers."""

    _server: socketserver.TCPServer
    name = "server"

    def __init__(self) -> None:
        self._thread: threading.Thread | None = None

    @property
    def host(self) -> str:
        return str(self._server.server_address[0])

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> None:
        """Serve in a background thread."""
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name=f"headroom-demo-{self.name}",
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and close the listening socket."""
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class SlowSMTPServer(_BackgroundServer):
    """An SMTP server that accepts every message after ``delay`` seconds and keeps it.

    ``port=0`` picks a free port. Accepted mail is in :attr:`messages`.
    """

    name = "smtp"

    def __init__(self, delay: float = SMTP_DELAY, host: str = "127.0.0.1", port: int = 0):
        super().__init__()
        self.delay = delay
        self.inbox = _Inbox()
        server = _SMTPSocketServer((host, port), _SMTPHandler)
        server.owner = self
        self._server = server

    @property
    def messages(self) -> list[ReceivedMail]:
        return list(self.inbox.items)

    def wait_for_messages(self, count: int, timeout: float = 10.0) -> list[ReceivedMail]:
        """The messages received, once there are ``count`` of them or ``timeout`` passed."""
        return self.inbox.wait_for(count, timeout)


@dataclass(frozen=True)
class Charge:
    """One charge the payment API answered."""

    id: str
    request: dict[str, Any]


class _PaymentHandler(BaseHTTPRequestHandler):
    server: _PaymentHTTPServer
    protocol_version = "HTTP/1.1"

    def _send_json(self, status: int, body: dict[str, Any]) -> None:
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def do_GET(self) -> None:
        self._send_json(200, {"service": "headroom demo payment API", "charge": "POST /charges"})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        try:
            request = json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            self._send_json(400, {"error": "the body must be JSON"})
            return
        if self.path.rstrip("/") != "/charges" or not isinstance(request, dict):
            self._send_json(404, {"error": "POST a JSON object to /charges"})
            return
        owner = self.server.owner
        # A slow payment provider: fraud checks, a bank round trip.
        time.sleep(owner.delay)
        charge = Charge(id=f"ch_{next(owner.ids):08d}", request=request)
        owner.inbox.add(charge)
        self._send_json(201, {"id": charge.id, "status": "succeeded", **request})

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: a load test makes thousands of these."""


class _PaymentHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256
    owner: SlowPaymentAPI


class SlowPaymentAPI(_BackgroundServer):
    """An HTTP API: ``POST /charges`` with a JSON body answers 201 after ``delay`` seconds."""

    name = "payment"

    def __init__(self, delay: float = PAYMENT_DELAY, host: str = "127.0.0.1", port: int = 0):
        super().__init__()
        self.delay = delay
        self.inbox = _Inbox()
        self.ids = itertools.count(1)
        server = _PaymentHTTPServer((host, port), _PaymentHandler)
        server.owner = self
        self._server = server

    @property
    def url(self) -> str:
        """The charge endpoint, as the demo's ``HEADROOM_DEMO_PAYMENT_URL``."""
        return f"http://{self.host}:{self.port}/charges"

    @property
    def charges(self) -> list[Charge]:
        return list(self.inbox.items)

    def wait_for_charges(self, count: int, timeout: float = 10.0) -> list[Charge]:
        """The charges made, once there are ``count`` of them or ``timeout`` passed."""
        return self.inbox.wait_for(count, timeout)


def main(argv: list[str] | None = None) -> int:
    """Run both servers until Ctrl-C."""
    parser = argparse.ArgumentParser(
        prog="python -m headroom.demo.services",
        description="Run the demo shop's slow SMTP server and payment API in the foreground.",
    )
    parser.add_argument("--smtp-port", type=int, default=1025, help="default: 1025")
    parser.add_argument("--payment-port", type=int, default=8025, help="default: 8025")
    parser.add_argument("--smtp-delay", type=float, default=SMTP_DELAY, help="seconds")
    parser.add_argument("--payment-delay", type=float, default=PAYMENT_DELAY, help="seconds")
    args = parser.parse_args(argv)
    try:
        smtp = SlowSMTPServer(args.smtp_delay, port=args.smtp_port)
        payment = SlowPaymentAPI(args.payment_delay, port=args.payment_port)
    except OSError as exc:
        print(f"could not listen: {exc}. Pick other ports with --smtp-port/--payment-port.")
        return 3
    with smtp, payment:
        print(
            f"slow SMTP server   smtp://{smtp.host}:{smtp.port}   ({args.smtp_delay:.2f} s a mail)"
        )
        print(f"slow payment API   {payment.url}   ({args.payment_delay:.2f} s a charge)")
        print("Point the demo at them:")
        print(
            f"  export HEADROOM_DEMO_SMTP_PORT={smtp.port} HEADROOM_DEMO_PAYMENT_URL={payment.url}"
        )
        print("Ctrl-C stops them.", flush=True)
        seen_mail = seen_charges = 0
        try:
            while True:
                time.sleep(0.5)
                for mail in smtp.messages[seen_mail:]:
                    print(
                        f"mail   {mail.mail_from} -> {', '.join(mail.recipients)}: "
                        f"{mail.message['Subject']}",
                        flush=True,
                    )
                    seen_mail += 1
                for charge in payment.charges[seen_charges:]:
                    print(f"charge {charge.id}: {json.dumps(charge.request)}", flush=True)
                    seen_charges += 1
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
