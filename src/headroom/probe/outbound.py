"""Outbound HTTP calls made while a request is handled.

``requests`` sits on urllib3, and urllib3 2.x's connection calls
``http.client.HTTPConnection.putrequest`` and ``getresponse`` through ``super()``, so wrapping
those two methods of the standard library sees all three libraries without importing any of
them. ``getresponse`` runs after urllib3 has set the read timeout on the socket, so
``sock.gettimeout()`` there is the timeout the call really had. ``endheaders`` is wrapped too,
to record calls that fail while connecting or sending.

The library named in a record is the outermost of requests / urllib3 / http.client found on
the stack. The patches are installed once, when the probe is first enabled, and record only
while a request is being handled.
"""

from __future__ import annotations

import functools
import os
import socket
import sys
import time
from typing import Any

from headroom.probe import stacks
from headroom.probe.state import RequestState, current, probe_error

_PENDING = "_headroom_outbound"
_MARK = "_headroom_probe_wrapped"
_LIBRARIES = (
    (os.sep + "requests" + os.sep, "requests"),
    (os.sep + "urllib3" + os.sep, "urllib3"),
    (os.path.join("http", "client.py"), "http.client"),
    (os.path.join("urllib", "request.py"), "urllib.request"),
)


def _library(frame: Any) -> str:
    """The outermost HTTP library on the stack: the one the project called."""
    found = "http.client"
    while frame is not None:
        filename = frame.f_code.co_filename
        for marker, name in _LIBRARIES:
            if marker in filename:
                found = name
                break
        frame = frame.f_back
    return found


def _url(conn: Any, url: str) -> str:
    """The absolute URL, without its query string (which often carries keys)."""
    url = url.split("?", 1)[0]
    if url.startswith(("http://", "https://")):
        return url
    scheme = "https" if getattr(conn, "default_port", 80) == 443 else "http"
    port = conn.port
    netloc = conn.host if port in (None, conn.default_port) else f"{conn.host}:{port}"
    return f"{scheme}://{netloc}{url}"


def _timeout(conn: Any) -> float | None:
    """Seconds the socket waits for the server, or None for "forever"."""
    sock = getattr(conn, "sock", None)
    if sock is not None:
        value = sock.gettimeout()
    else:
        value = conn.timeout
        if value is socket._GLOBAL_DEFAULT_TIMEOUT:  # type: ignore[attr-defined]
            value = socket.getdefaulttimeout()
    return None if value is None else float(value)


def _start(conn: Any, method: str, url: str) -> None:
    state = current.get()
    if state is None:
        conn.__dict__.pop(_PENDING, None)
        return
    conn.__dict__[_PENDING] = (state, time.perf_counter(), method, url)


def _finish(
    conn: Any, status: int | None, error: BaseException | None, timeout: float | None
) -> None:
    pending = conn.__dict__.pop(_PENDING, None)
    if pending is None:
        return
    state: RequestState = pending[0]
    try:
        elapsed = time.perf_counter() - pending[1]
        frame = sys._getframe(2)
        state.outbound.append(
            {
                "library": _library(frame),
                "method": pending[2],
                "host": conn.host,
                "port": conn.port,
                "url": _url(conn, pending[3]),
                "status": status,
                "duration_ms": elapsed * 1000.0,
                "timeout": timeout,
                "error": None if error is None else type(error).__name__,
                "location": stacks.project_location(frame),
            }
        )
    except Exception:
        probe_error("recording an outbound HTTP call", state)


def install() -> None:
    """Wrap ``http.client.HTTPConnection`` (idempotent)."""
    import http.client

    cls = http.client.HTTPConnection
    if getattr(cls.getresponse, _MARK, False):
        return
    original_putrequest = cls.putrequest
    original_endheaders = cls.endheaders
    original_getresponse = cls.getresponse

    @functools.wraps(original_putrequest)
    def putrequest(self: Any, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        try:
            _start(self, method, url)
        except Exception:
            probe_error("recording an outbound HTTP call", current.get())
        return original_putrequest(self, method, url, *args, **kwargs)

    @functools.wraps(original_endheaders)
    def endheaders(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return original_endheaders(self, *args, **kwargs)
        except BaseException as exc:
            if _PENDING in self.__dict__:
                _finish(self, None, exc, _timeout(self))
            raise

    @functools.wraps(original_getresponse)
    def getresponse(self: Any) -> Any:
        if _PENDING not in self.__dict__:
            return original_getresponse(self)
        try:
            timeout = _timeout(self)
        except Exception:
            timeout = None
        try:
            response = original_getresponse(self)
        except BaseException as exc:
            _finish(self, None, exc, timeout)
            raise
        _finish(self, response.status, None, timeout)
        return response

    for wrapper in (putrequest, endheaders, getresponse):
        setattr(wrapper, _MARK, True)
    cls.putrequest = putrequest  # type: ignore[method-assign]
    cls.endheaders = endheaders  # type: ignore[method-assign]
    cls.getresponse = getresponse  # type: ignore[method-assign]
