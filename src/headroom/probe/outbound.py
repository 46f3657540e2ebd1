"""Outbound HTTP calls made while a request is handled.

``requests`` sits on urllib3, and urllib3 2.x's connection calls
``http.client.HTTPConnection.putrequest`` and ``getresponse`` through ``super()``, so wrapping
those two methods of the standard library sees all three libraries without importing any of
them. ``getresponse`` runs after urllib3 has set the read timeout on the socket, so
``sock.gettimeout()`` there is the timeout the call really had. ``endheaders`` is wrapped too,
to record calls that fail while connecting or sending.

The library named in a record is the outermost of requests / urllib3 / http.client found on
the stack.

httpx does not use ``http.client``: its own transports (``httpx.HTTPTransport.handle_request``
and ``httpx.AsyncHTTPTransport.handle_async_request``) are wrapped instead, when httpx is
installed. Every request a client sends, ``httpx.get()`` and the other module-level helpers
included, passes through its transport once per hop, after the client has put the effective
timeouts in ``request.extensions["timeout"]``; the read timeout there is the one recorded. The
transport returns once the response headers are in, so the duration excludes the body, as for
``http.client``. Transports that do no network I/O (``MockTransport``, ``WSGITransport``,
``ASGITransport``) are not seen.

aiohttp uses neither: ``aiohttp.ClientSession._request`` is wrapped instead, when aiohttp is
installed. ``session.get()``, ``session.request()`` and the other verbs, ``async with
session.get(...)`` and the module-level ``aiohttp.request()`` all run it, and it returns once
the response headers are in, so the duration again excludes the body. It follows redirects
itself, so a call is one record whatever the number of hops: the URL, host and port are those
the call was given (joined to the session's ``base_url``), the status is the final response's
and the duration includes every hop. The timeout recorded is worked out the way ``_request``
does it: a per-call ``timeout=`` replaces the session's ``ClientTimeout`` as a whole (the two
are not merged); left out (aiohttp's sentinel), the session's applies, which is
``ClientTimeout(total=300, sock_connect=30)`` unless the session was given another; a number
or None per call means ``ClientTimeout(total=that)``. Of that ``ClientTimeout``, ``total``
and ``sock_read`` bound how long the call may wait for the server, and the smaller of the two
that is set is recorded; aiohttp treats 0 as unset, and so does the probe. None means both
are unset: the call can wait forever (``connect`` and ``sock_connect`` limit only the
connection, so they are not considered). The recorded value is the configured one: aiohttp
rounds deadlines of ``ceil_threshold`` (5 s by default) or more up to a whole second.
``ws_connect`` handshakes run ``_request`` too and are recorded as ``GET`` calls; a URL
aiohttp cannot parse, or a relative one without a ``base_url``, fails before any network I/O
and is not recorded.

The patches are installed once, when the probe is first enabled, and record only while a
request is being handled.
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
        _append(
            state,
            frame,
            library=_library(frame),
            method=pending[2],
            host=conn.host,
            port=conn.port,
            url=_url(conn, pending[3]),
            status=status,
            elapsed=elapsed,
            timeout=timeout,
            error=error,
        )
    except Exception:
        probe_error("recording an outbound HTTP call", state)


def _append(
    state: RequestState,
    frame: Any,
    *,
    library: str,
    method: str,
    host: str | None,
    port: int | None,
    url: str,
    status: int | None,
    elapsed: float,
    timeout: float | None,
    error: BaseException | None,
) -> None:
    state.outbound.append(
        {
            "library": library,
            "method": method,
            "host": host,
            "port": port,
            "url": url,
            "status": status,
            "duration_ms": elapsed * 1000.0,
            "timeout": timeout,
            "error": None if error is None else type(error).__name__,
            "location": stacks.project_location(frame),
        }
    )


def install() -> None:
    """Wrap ``http.client.HTTPConnection``, httpx's transports when httpx is installed and
    ``aiohttp.ClientSession._request`` when aiohttp is (idempotent)."""
    _install_http_client()
    _install_httpx()
    _install_aiohttp()


def _install_http_client() -> None:
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


_DEFAULT_PORTS = {"http": 80, "https": 443}


def _record_httpx(
    state: RequestState,
    request: Any,
    started: float,
    status: int | None,
    error: BaseException | None,
    frame: Any,
) -> None:
    """Append one httpx call to ``state`` (never raises)."""
    try:
        elapsed = time.perf_counter() - started
        url = request.url
        timeouts = request.extensions.get("timeout")
        # A request sent without the extension (straight to a transport) has no timeout.
        read = timeouts.get("read") if isinstance(timeouts, dict) else None
        _append(
            state,
            frame,
            library="httpx",
            method=str(request.method),
            host=url.host,
            port=url.port if url.port is not None else _DEFAULT_PORTS.get(url.scheme),
            url=str(url.copy_with(query=None, fragment=None, userinfo=b"")),
            status=status,
            elapsed=elapsed,
            timeout=None if read is None else float(read),
            error=error,
        )
    except Exception:
        probe_error("recording an outbound HTTP call", state)


def _install_httpx() -> None:
    try:
        import httpx
    except ImportError:
        return
    sync_cls = httpx.HTTPTransport
    async_cls = httpx.AsyncHTTPTransport
    if getattr(sync_cls.handle_request, _MARK, False):
        return
    original_handle = sync_cls.handle_request
    original_handle_async = async_cls.handle_async_request

    @functools.wraps(original_handle)
    def handle_request(self: httpx.HTTPTransport, request: httpx.Request) -> httpx.Response:
        state = current.get()
        if state is None:
            return original_handle(self, request)
        started = time.perf_counter()
        try:
            response = original_handle(self, request)
        except BaseException as exc:
            _record_httpx(state, request, started, None, exc, sys._getframe(1))
            raise
        _record_httpx(state, request, started, response.status_code, None, sys._getframe(1))
        return response

    @functools.wraps(original_handle_async)
    async def handle_async_request(
        self: httpx.AsyncHTTPTransport, request: httpx.Request
    ) -> httpx.Response:
        state = current.get()
        if state is None:
            return await original_handle_async(self, request)
        started = time.perf_counter()
        try:
            response = await original_handle_async(self, request)
        except BaseException as exc:
            _record_httpx(state, request, started, None, exc, sys._getframe(1))
            raise
        _record_httpx(state, request, started, response.status_code, None, sys._getframe(1))
        return response

    setattr(handle_request, _MARK, True)
    setattr(handle_async_request, _MARK, True)
    sync_cls.handle_request = handle_request  # type: ignore[method-assign]
    async_cls.handle_async_request = handle_async_request  # type: ignore[method-assign]


def _aiohttp_timeout(session: Any, kwargs: dict[str, Any], client_timeout: type) -> float | None:
    """The bound on waiting for the server of one ``ClientSession._request`` call: the smaller
    of ``total`` and ``sock_read`` that is set, or None when neither is."""
    given = kwargs.get("timeout")
    effective: Any
    if isinstance(given, client_timeout):
        effective = given
    elif "timeout" in kwargs and (given is None or isinstance(given, (int, float))):
        effective = client_timeout(total=given)
    else:  # left out, or aiohttp's sentinel: the session's
        effective = session.timeout
    bounds = [
        float(value)
        for value in (effective.total, effective.sock_read)
        if value is not None and value > 0
    ]
    return min(bounds) if bounds else None


def _record_aiohttp(
    state: RequestState,
    session: Any,
    method: str,
    str_or_url: Any,
    kwargs: dict[str, Any],
    started: float,
    status: int | None,
    error: BaseException | None,
    frame: Any,
) -> None:
    """Append one aiohttp call to ``state`` (never raises)."""
    try:
        elapsed = time.perf_counter() - started
        import aiohttp
        from yarl import URL

        try:
            build = getattr(session, "_build_url", None)
            url = build(str_or_url) if build is not None else URL(str_or_url)
        except Exception:
            return  # aiohttp refused the URL before any network I/O
        if not url.absolute:
            return
        _append(
            state,
            frame,
            library="aiohttp",
            method=str(method).upper(),
            host=url.host,
            port=url.port,
            url=str(url.with_user(None).with_query(None).with_fragment(None)),
            status=status,
            elapsed=elapsed,
            timeout=_aiohttp_timeout(session, kwargs, aiohttp.ClientTimeout),
            error=error,
        )
    except Exception:
        probe_error("recording an outbound HTTP call", state)


def _install_aiohttp() -> None:
    try:
        import aiohttp
    except ImportError:
        return
    cls = aiohttp.ClientSession
    if getattr(cls._request, _MARK, False):
        return
    original_request = cls._request

    @functools.wraps(original_request)
    async def _request(
        self: aiohttp.ClientSession, method: str, str_or_url: Any, *args: Any, **kwargs: Any
    ) -> aiohttp.ClientResponse:
        state = current.get()
        if state is None:
            return await original_request(self, method, str_or_url, *args, **kwargs)
        started = time.perf_counter()
        try:
            response = await original_request(self, method, str_or_url, *args, **kwargs)
        except BaseException as exc:
            frame = sys._getframe(1)
            _record_aiohttp(state, self, method, str_or_url, kwargs, started, None, exc, frame)
            raise
        frame = sys._getframe(1)
        _record_aiohttp(
            state, self, method, str_or_url, kwargs, started, response.status, None, frame
        )
        return response

    setattr(_request, _MARK, True)
    cls._request = _request  # type: ignore[method-assign]
