"""The probe's own CPU cost, measured in-process: per query and per request.

    python benchmarks/probe_hotpath.py

A steadier companion to probe_overhead.py on a noisy machine: the same work is timed with and
without the probe many times and the *fastest* repeat of each is compared, which filters out
interference from other processes. Anchors, in the same run:

- per query: a parametrised SELECT on an in-memory SQLite table through Django's cursor, with
  no wrapper vs with the probe's wrapper inside a request;
- per request: the benchmark site's page (20 queries and a template, probe_site) through
  Django's WSGI handler, without vs with ProbeMiddleware (production mode, then capture
  mode writing a spool file as `headroom doctor` runs it).

The last line is the page's CPU time with the probe in production mode, as a ratio to bare.
"""

from __future__ import annotations

import io
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent / "src")]


def fastest(run: Callable[[], float], repeats: int) -> float:
    return min(run() for _ in range(repeats))


def main() -> int:
    work = tempfile.mkdtemp(prefix="headroom-hotpath-")
    os.environ.update(
        BENCH_VARIANT="probe",
        BENCH_DB=os.path.join(work, "db.sqlite3"),
        DJANGO_SETTINGS_MODULE="probe_site.settings",
    )
    os.environ.pop("HEADROOM_PROBE_MODE", None)
    try:
        import django

        django.setup()
        from django.conf import settings
        from django.core.handlers.wsgi import WSGIHandler
        from django.core.management import call_command
        from django.db import connection
        from probe_site.models import seed

        from headroom.probe import queries
        from headroom.probe.state import RequestState, current

        call_command("migrate", run_syncdb=True, verbosity=0)
        seed()

        sql = (
            'SELECT "probe_site_product"."id", "probe_site_product"."name" FROM '
            '"probe_site_product" WHERE "probe_site_product"."id" = %s LIMIT 21'
        )

        def per_query(n: int = 20000) -> float:
            with connection.cursor() as cursor:
                started = time.perf_counter()
                for i in range(n):
                    cursor.execute(sql, [i % 50])
                return (time.perf_counter() - started) / n * 1e6

        connection.execute_wrappers.clear()
        bare_query = fastest(per_query, 7)
        queries.add_to_connection(connection)
        outside_query = fastest(per_query, 7)
        token = current.set(RequestState("bench", 10**9, 10**9))
        try:
            inside_query = fastest(per_query, 7)
        finally:
            current.reset(token)

        def environ() -> dict[str, Any]:
            return {
                "REQUEST_METHOD": "GET",
                "PATH_INFO": "/",
                "QUERY_STRING": "",
                "SERVER_NAME": "localhost",
                "SERVER_PORT": "80",
                "HTTP_HOST": "localhost",
                "wsgi.input": io.BytesIO(),
                "wsgi.url_scheme": "http",
            }

        def start_response(status: str, headers: list[tuple[str, str]]) -> None:
            assert status.startswith("200"), status

        with_probe = list(settings.MIDDLEWARE)
        settings.MIDDLEWARE = [m for m in with_probe if "headroom" not in m]
        bare_app = WSGIHandler()
        settings.MIDDLEWARE = with_probe
        probe_app = WSGIHandler()

        def per_request(app: WSGIHandler, n: int = 60) -> float:
            started = time.process_time()
            for _ in range(n):
                response = app(environ(), start_response)
                b"".join(response)
                response.close()
            return (time.process_time() - started) / n * 1e6

        per_request(bare_app, 20)
        per_request(probe_app, 20)
        bare_times, probe_times = [], []
        for _ in range(15):  # interleaved, so drift hits both alike
            bare_times.append(per_request(bare_app))
            probe_times.append(per_request(probe_app))
        bare_request, probe_request = min(bare_times), min(probe_times)

        # The fixed cost per request: the middleware around a view that does nothing.
        from django.http import HttpResponse
        from django.test import RequestFactory

        from headroom.probe import ProbeMiddleware

        body = b"x" * 20000

        def nothing(request: Any) -> HttpResponse:
            return HttpResponse(body)

        middleware = ProbeMiddleware(nothing)
        requests = [RequestFactory().get("/") for _ in range(5000)]

        def per_call(handler: Callable[[Any], Any]) -> float:
            started = time.perf_counter()
            for request in requests:
                handler(request)
            return (time.perf_counter() - started) / len(requests) * 1e6

        fixed_bare = fastest(lambda: per_call(nothing), 9)
        fixed_probe = fastest(lambda: per_call(middleware), 9)

        # Capture mode, as headroom doctor runs it: every record written to a spool file.
        from headroom.conf import clear_cache

        settings.HEADROOM = {"PROBE_MODE": "capture", "SPOOL_DIR": os.path.join(work, "spool")}
        clear_cache()
        capture_times, bare_again = [], []
        for _ in range(15):
            bare_again.append(per_request(bare_app))
            capture_times.append(per_request(probe_app))
        capture_request = min(capture_times)
        bare_request = min(bare_request, min(bare_again))
    finally:
        shutil.rmtree(work, ignore_errors=True)

    print(f"per query, no wrapper:              {bare_query:7.2f} us")
    print(
        f"per query, wrapper outside request: {outside_query:7.2f} us "
        f"({outside_query - bare_query:+.2f})"
    )
    print(
        f"per query, wrapper inside request:  {inside_query:7.2f} us "
        f"({inside_query - bare_query:+.2f})"
    )
    print(f"per request, fixed cost (empty view): {fixed_probe - fixed_bare:6.2f} us")
    print(f"page (20 queries + template), bare:  {bare_request:7.0f} us CPU")
    print(
        f"page (20 queries + template), probe: {probe_request:7.0f} us CPU "
        f"({probe_request - bare_request:+.0f})"
    )
    print(
        f"page (20 queries + template), capture mode: {capture_request:7.0f} us CPU "
        f"({capture_request - bare_request:+.0f})"
    )
    print(f"probe (production mode) CPU per page vs bare: {probe_request / bare_request:.3f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
