"""``ProbeMiddleware``: one class for sync and async stacks, put first in ``MIDDLEWARE``."""

from __future__ import annotations

import re
import threading
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpRequest
from django.http.response import HttpResponseBase

from headroom.conf import HeadroomSettings, get_settings
from headroom.probe import mail, outbound, queries, streaming
from headroom.probe.record import Finished, publish
from headroom.probe.state import RequestState, current, probe_error

REQUEST_ID_HEADER = "X-Headroom-Request-Id"
_REQUEST_ID_META = "HTTP_X_HEADROOM_REQUEST_ID"
_SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")

_install_lock = threading.Lock()
_installed = False


def install() -> None:
    """Install the SQL wrapper and the outbound-HTTP and email patches (once)."""
    global _installed
    if _installed:
        return
    with _install_lock:
        if not _installed:
            queries.install()
            outbound.install()
            mail.install()
            _installed = True


def request_id_for(request: HttpRequest) -> str:
    """The caller's ``X-Headroom-Request-Id`` when it is safe to echo, else a new one."""
    incoming = request.META.get(_REQUEST_ID_META)
    if incoming and _SAFE_REQUEST_ID.fullmatch(incoming):
        return str(incoming)
    return uuid.uuid4().hex


def _view_path(match: Any) -> str | None:
    path = getattr(match, "_func_path", None)
    if path:
        return str(path)
    func = getattr(match, "func", None)
    if func is None:
        return None
    return f"{func.__module__}.{getattr(func, '__qualname__', type(func).__qualname__)}"


class ProbeMiddleware:
    """Record SQL, N+1s, slow queries, outbound HTTP, email and response shape per request.

    Modes (``HEADROOM["PROBE_MODE"]``): ``"off"`` passes requests through untouched;
    ``"production"`` keeps per-route totals and recent events in memory
    (:func:`headroom.probe.snapshot`); ``"capture"`` also appends one JSON record per request
    to ``SPOOL_DIR`` (docs/spool.md). The probe never breaks a request: its own errors are
    caught, counted and logged on the ``headroom.probe`` logger.
    """

    sync_capable = True
    async_capable = True

    def __init__(
        self,
        get_response: Callable[[HttpRequest], HttpResponseBase]
        | Callable[[HttpRequest], Awaitable[HttpResponseBase]],
    ) -> None:
        self.get_response = get_response
        self.async_mode = iscoroutinefunction(get_response)
        if self.async_mode:
            markcoroutinefunction(self)
        try:
            if get_settings().PROBE_MODE != "off":
                install()
        except Exception:
            probe_error("installing the probe")

    def __call__(self, request: HttpRequest) -> Any:
        if self.async_mode:
            return self.__acall__(request)
        begun = self.begin(request)
        if begun is None:
            return self.get_response(request)
        token = current.set(begun[0])
        try:
            response: HttpResponseBase = self.get_response(request)  # type: ignore[assignment]
        finally:
            current.reset(token)
        return self.end(begun, request, response)

    async def __acall__(self, request: HttpRequest) -> HttpResponseBase:
        begun = self.begin(request)
        if begun is None:
            return await self.get_response(request)  # type: ignore[misc, no-any-return]
        token = current.set(begun[0])
        try:
            response: HttpResponseBase = await self.get_response(request)  # type: ignore[misc]
        finally:
            current.reset(token)
        return self.end(begun, request, response)

    def begin(self, request: HttpRequest) -> tuple[RequestState, HeadroomSettings] | None:
        """A fresh state when this request is to be recorded, else None."""
        try:
            settings = get_settings()
            if settings.PROBE_MODE == "off":
                return None
            path = request.path_info
            for prefix in settings.IGNORE_PATHS:
                if path.startswith(prefix):
                    return None
            if not _installed:
                install()
            state = RequestState(
                request_id_for(request),
                settings.N_PLUS_ONE_THRESHOLD,
                settings.SLOW_QUERY_MS,
                locate_queries=settings.PROBE_MODE == "capture",
                request=request,
            )
            return state, settings
        except Exception:
            probe_error("starting a request")
            return None

    def end(
        self,
        begun: tuple[RequestState, HeadroomSettings],
        request: HttpRequest,
        response: HttpResponseBase,
    ) -> HttpResponseBase:
        state, settings = begun
        try:
            duration_ms = (time.perf_counter() - state.started) * 1000.0
            if settings.SERVER_TIMING:
                queries = "1 query" if state.db_count == 1 else f"{state.db_count} queries"
                timing = (
                    f'db;dur={state.db_time * 1000.0:.1f};desc="{queries}", '
                    f"app;dur={duration_ms:.1f}"
                )
                existing = response.get("Server-Timing")
                response["Server-Timing"] = f"{existing}, {timing}" if existing else timing
            if settings.REQUEST_ID_HEADER:
                response[REQUEST_ID_HEADER] = state.request_id
            match = getattr(request, "resolver_match", None)
            done = Finished(
                state=state,
                settings=settings,
                method=request.method or "",
                path=request.path,
                route=getattr(match, "route", None) if match is not None else None,
                view=_view_path(match) if match is not None else None,
                status=response.status_code,
                duration_ms=duration_ms,
                content_type=response.get("Content-Type"),
                streaming=response.streaming,
            )
            if not response.streaming:
                done.bytes = len(response.content)  # type: ignore[attr-defined]
            elif getattr(response, "file_to_stream", None) is not None:
                # Left alone so the server can still use sendfile (wsgi.file_wrapper).
                length = response.get("Content-Length")
                done.bytes = int(length) if length and length.isdigit() else None
            else:
                streaming.wrap_streaming(
                    response, state, lambda counter: _finish_stream(done, counter)
                )
                return response
            publish(done)
        except Exception:
            probe_error("finishing a request", state)
        return response


def _finish_stream(done: Finished, counter: streaming.StreamCounter) -> None:
    done.chunks = counter.chunks
    done.bytes = counter.bytes
    done.stream_ms = (time.perf_counter() - done.state.started) * 1000.0 - done.duration_ms
    publish(done)
