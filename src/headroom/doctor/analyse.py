"""Findings from the probe's records: N+1, blocking calls, synchronous email, tiny chunks.

Every finding is backed by the records of real requests made during the load run; its
evidence holds the numbers, and its fix is code to paste.
"""

from __future__ import annotations

import ast
import inspect
import statistics
import textwrap
from collections import defaultdict
from typing import Any

from headroom.doctor.findings import Finding, Location
from headroom.doctor.records import RouteSummary, mean, p95, route_of

#: Email backends that only hand the message to a queue; a send through them is fine.
QUEUED_EMAIL_BACKENDS = (
    "headroom.offload.mail.QueuedEmailBackend",
    "djcelery_email.backends.CeleryEmailBackend",
)
#: An outbound call or email send shorter than this, with a timeout set, is not reported.
BLOCKING_MS = 50.0
#: A streamed response with more chunks than this, averaging fewer bytes, is reported. A
#: chunk per CSV line (ten bytes and up) is the usual pattern and fine; a chunk per character
#: (one to four bytes of UTF-8) is the failure.
TINY_CHUNK_BYTES = 8
TINY_CHUNK_MIN_CHUNKS = 100


def location_of(event: dict[str, Any]) -> Location | None:
    loc = event.get("location")
    tpl = event.get("template")
    if loc:
        return Location(
            file=loc["file"],
            line=int(loc["line"]),
            function=loc.get("function"),
            template=tpl["name"] if tpl else None,
            template_line=int(tpl["line"]) if tpl else None,
        )
    if tpl:
        return Location(file=tpl["name"], line=int(tpl["line"]))
    return None


def _location_key(event: dict[str, Any]) -> tuple[Any, ...]:
    loc = event.get("location") or {}
    tpl = event.get("template") or {}
    return (loc.get("file"), loc.get("line"), tpl.get("name"), tpl.get("line"))


def _events(
    records: list[dict[str, Any]], field: str
) -> dict[tuple[Any, ...], list[tuple[dict[str, Any], dict[str, Any]]]]:
    """Events of one kind, grouped by URL pattern and source location."""
    grouped: dict[tuple[Any, ...], list[tuple[dict[str, Any], dict[str, Any]]]] = defaultdict(list)
    for record in records:
        for event in record.get(field) or []:
            grouped[(route_of(record), *_location_key(event))].append((record, event))
    return grouped


# --- N+1 ------------------------------------------------------------------------------------


def _relation_fix(relation: str | None, fingerprint: str) -> tuple[str, str]:
    """A one-line diagnosis and the queryset change that removes the N+1."""
    model, field = _resolve_relation(relation)
    if model is None or field is None:
        return (
            "the same query runs once per item of a list",
            "Load the related rows with the list, in one query:\n"
            "    queryset.select_related('<foreign key>')      # for a ForeignKey / OneToOne\n"
            "    queryset.prefetch_related('<related name>')   # for reverse and many-to-many",
        )
    name = f"{model.__name__}.{field.name}"
    forward = field.is_relation and (field.many_to_one or field.one_to_one) and field.concrete
    if forward:
        return (
            f"{name} is loaded with one query per {model.__name__}",
            f"Fetch it in the same query as the list:\n"
            f"    {model.__name__}.objects.select_related({field.name!r})",
        )
    accessor = relation.split(".", 1)[1] if relation else field.name
    if fingerprint.upper().startswith("SELECT COUNT("):
        return (
            f"{name} is counted with one query per {model.__name__}",
            f"Count in the list's query instead:\n"
            f"    from django.db.models import Count\n"
            f"    {model.__name__}.objects.annotate({accessor}_count=Count({accessor!r}))\n"
            f"and read {{{{ obj.{accessor}_count }}}} / obj.{accessor}_count.",
        )
    return (
        f"{name} is loaded with one query per {model.__name__}",
        f"Prefetch it for the whole list in one query:\n"
        f"    {model.__name__}.objects.prefetch_related({accessor!r})",
    )


def _resolve_relation(relation: str | None) -> tuple[Any, Any]:
    if not relation or "." not in relation:
        return None, None
    from django.apps import apps
    from django.core.exceptions import FieldDoesNotExist

    model_name, field_name = relation.split(".", 1)
    for model in apps.get_models():
        if model.__name__ != model_name:
            continue
        try:
            return model, model._meta.get_field(field_name)
        except FieldDoesNotExist:
            for rel in model._meta.related_objects:
                if rel.get_accessor_name() == field_name:
                    return model, rel
    return None, None


def n_plus_one_findings(
    records: list[dict[str, Any]], routes: dict[str, RouteSummary]
) -> list[Finding]:
    findings = []
    for key, items in _events(records, "n_plus_one").items():
        route = key[0]
        events = [event for _, event in items]
        first = events[0]
        counts = [int(e["count"]) for e in events]
        per_request_ms = [float(e.get("time_ms") or 0.0) for e in events]
        diagnosis, fix = _relation_fix(first.get("relation"), str(first.get("fingerprint", "")))
        requests = len({record.get("request_id") for record, _ in items})
        seen_in = routes[route].requests if route in routes else requests
        typical = int(statistics.median(counts))
        findings.append(
            Finding(
                kind="n_plus_one",
                severity="error" if typical >= 10 else "warning",
                title=f"N+1 on {route}: {diagnosis} ({typical} queries per request)",
                url_pattern=route,
                location=location_of(first),
                fix=fix,
                cost_ms=mean(per_request_ms),
                evidence={
                    "relation": first.get("relation"),
                    "table": first.get("table"),
                    "column": first.get("column"),
                    "fingerprint": first.get("fingerprint"),
                    "queries_per_request": typical,
                    "max_queries_per_request": max(counts),
                    "db_ms_per_request": round(mean(per_request_ms), 2),
                    "requests_affected": requests,
                    "requests_of_pattern": seen_in,
                },
            )
        )
    return findings


# --- outbound HTTP ---------------------------------------------------------------------------


def blocking_call_findings(
    records: list[dict[str, Any]], routes: dict[str, RouteSummary]
) -> list[Finding]:
    findings = []
    grouped: dict[tuple[Any, ...], list[tuple[dict[str, Any], dict[str, Any]]]] = defaultdict(list)
    for record in records:
        for call in record.get("outbound") or []:
            host = f"{call.get('host')}:{call.get('port')}"
            grouped[(route_of(record), host, *_location_key(call))].append((record, call))
    for (route, host, *_), items in grouped.items():
        calls = [call for _, call in items]
        durations = [float(c["duration_ms"]) for c in calls]
        no_timeout = [c for c in calls if c.get("timeout") is None]
        if not no_timeout and mean(durations) < BLOCKING_MS:
            continue
        first = no_timeout[0] if no_timeout else calls[0]
        requests = len({record.get("request_id") for record, _ in items})
        server = mean(routes[route].server_ms) if route in routes else 0.0
        share = sum(durations) / requests / server if requests and server else 0.0
        library = first.get("library") or "requests"
        why = (
            "no timeout is set, so a slow or hung server holds this worker for as long as it likes"
            if no_timeout
            else f"each call holds the worker {mean(durations):.0f} ms"
        )
        findings.append(
            Finding(
                kind="blocking_call",
                severity="error" if no_timeout else "warning",
                title=f"{route} waits {mean(durations):.0f} ms on {host} "
                f"({'no timeout' if no_timeout else 'timeout set'}): {why}",
                url_pattern=route,
                location=location_of(first),
                cost_ms=sum(durations) / max(requests, 1),
                fix=(
                    "Set a timeout, and move the call to a task so the response does not wait:\n"
                    f"    {library_call(library, first)}\n"
                    "    # better: enqueue it (e.g. a Celery task with a time limit and retries)\n"
                    "    #         and answer at once; show the result when the task is done."
                ),
                evidence={
                    "host": host,
                    "url": first.get("url"),
                    "method": first.get("method"),
                    "library": library,
                    "timeout_s": first.get("timeout"),
                    "calls": len(calls),
                    "calls_without_timeout": len(no_timeout),
                    "mean_ms": round(mean(durations), 2),
                    "p95_ms": round(p95(durations), 2),
                    "share_of_server_time": round(share, 3),
                    "errors": sum(1 for c in calls if c.get("error")),
                },
            )
        )
    return findings


def library_call(library: str, call: dict[str, Any]) -> str:
    method = str(call.get("method") or "get").lower()
    if library == "http.client":
        return "http.client.HTTPConnection(host, port, timeout=10)"
    if library == "urllib3":
        return "urllib3.PoolManager(timeout=urllib3.Timeout(connect=3.05, read=10))"
    if library == "httpx":
        return f"httpx.{method}(url, ..., timeout=httpx.Timeout(10, connect=3.05))  # seconds"
    if library == "aiohttp":
        return (
            f"session.{method}(url, ..., "
            "timeout=aiohttp.ClientTimeout(total=10, sock_connect=3))  # seconds"
        )
    return f"requests.{method}(url, ..., timeout=(3.05, 10))  # (connect, read) seconds"


# --- email ----------------------------------------------------------------------------------


def sync_email_findings(
    records: list[dict[str, Any]], routes: dict[str, RouteSummary]
) -> list[Finding]:
    findings = []
    for (route, *_), items in _events(records, "emails").items():
        sends = [event for _, event in items]
        backend = str(sends[0].get("backend") or "")
        durations = [float(e["duration_ms"]) for e in sends]
        if backend in QUEUED_EMAIL_BACKENDS or mean(durations) < BLOCKING_MS:
            continue
        requests = len({record.get("request_id") for record, _ in items})
        findings.append(
            Finding(
                kind="sync_email",
                severity="error",
                title=f"{route} sends email while the user waits: {mean(durations):.0f} ms per "
                f"send through {backend.rsplit('.', 2)[-2] if '.' in backend else backend}",
                url_pattern=route,
                location=location_of(sends[0]),
                cost_ms=sum(durations) / max(requests, 1),
                fix=(
                    "Hand the message to the task queue and return at once:\n"
                    "    EMAIL_BACKEND = 'headroom.offload.mail.QueuedEmailBackend'\n"
                    "    HEADROOM = {..., 'OFFLOAD_EXECUTOR': 'celery',\n"
                    f"                'OFFLOAD_EMAIL_BACKEND': {backend!r}}}"
                ),
                evidence={
                    "backend": backend,
                    "sends": len(sends),
                    "messages": sum(int(e.get("messages") or 0) for e in sends),
                    "mean_ms": round(mean(durations), 2),
                    "p95_ms": round(p95(durations), 2),
                    "errors": sum(1 for e in sends if e.get("error")),
                },
            )
        )
    return findings


# --- streaming ------------------------------------------------------------------------------


def streaming_call_site(view_path: str | None) -> Location | None:
    """Where the view builds its StreamingHttpResponse (else where the view starts)."""
    if not view_path:
        return None
    from django.utils.module_loading import import_string

    from headroom.project import display_path

    try:
        view = import_string(view_path)
        view = inspect.unwrap(getattr(view, "view_class", view))
        filename = inspect.getsourcefile(view)
        lines, first_line = inspect.getsourcelines(view)
    except (ImportError, TypeError, OSError):
        return None
    if filename is None:
        return None
    line = first_line
    try:
        tree = ast.parse(textwrap.dedent("".join(lines)))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
                if name == "StreamingHttpResponse":
                    line = first_line + node.lineno - 1
                    break
    except SyntaxError:
        pass
    return Location(file=display_path(filename), line=line, function=view_path.rsplit(".", 1)[-1])


def tiny_chunk_findings(records: list[dict[str, Any]]) -> list[Finding]:
    by_route: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for record in records:
        response = record.get("response") or {}
        if response.get("streaming") and response.get("chunks"):
            by_route[route_of(record)].append(record)
    findings = []
    for route, rows in by_route.items():
        chunks = [int(r["response"]["chunks"]) for r in rows]
        sizes = [float(r["response"].get("mean_chunk_bytes") or 0.0) for r in rows]
        if (
            mean([float(c) for c in chunks]) < TINY_CHUNK_MIN_CHUNKS
            or mean(sizes) >= TINY_CHUNK_BYTES
        ):
            continue
        total = [int(r["response"].get("bytes") or 0) for r in rows]
        findings.append(
            Finding(
                kind="tiny_chunks",
                severity="error" if mean(sizes) < 2 else "warning",
                title=f"{route} streams its body {mean(sizes):.1f} bytes at a time "
                f"({int(statistics.median(chunks))} writes per response)",
                url_pattern=route,
                location=streaming_call_site(rows[0].get("view")),
                cost_ms=mean([float(r.get("duration_ms") or 0.0) for r in rows]),
                fix=(
                    "A str given to StreamingHttpResponse is iterated one character at a time.\n"
                    "Give it an iterator of lines (or blocks) instead:\n"
                    "    def rows():\n"
                    "        for obj in queryset.iterator():\n"
                    "            yield f'{obj.a},{obj.b}\\n'\n"
                    "    return StreamingHttpResponse(rows(), content_type='text/csv')"
                ),
                evidence={
                    "responses": len(rows),
                    "chunks_per_response": int(statistics.median(chunks)),
                    "mean_chunk_bytes": round(mean(sizes), 2),
                    "bytes_per_response": int(statistics.median(total)) if total else 0,
                },
            )
        )
    return findings
