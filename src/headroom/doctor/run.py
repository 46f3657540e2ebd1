"""The doctor's pipeline: static pass, serve, discover, load, join, report."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from headroom.doctor.findings import Finding


@dataclass
class DoctorOptions:
    slo_p95_ms: float
    max_users: int
    step_seconds: float
    max_error_rate: float
    report_dir: Path
    workers: int | None = None
    threads: int = 1
    warmup_seconds: float = 2.0
    load_processes: int = 1
    prove_indexes: bool = True
    #: Extra environment for the served application (the demo passes its service ports).
    server_env: dict[str, str] = field(default_factory=dict)
    show_progress: bool = True

    @classmethod
    def from_conf(cls, **overrides: Any) -> DoctorOptions:
        from headroom.conf import conf

        values: dict[str, Any] = {
            "slo_p95_ms": conf.SLO_P95_MS,
            "max_users": conf.MAX_USERS,
            "step_seconds": conf.STEP_SECONDS,
            "max_error_rate": conf.MAX_ERROR_RATE,
            "report_dir": Path(conf.REPORT_DIR),
            "workers": conf.GUNICORN_WORKERS,
            "threads": conf.GUNICORN_THREADS,
            "load_processes": conf.LOAD_PROCESSES,
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)


class Stages:
    """Progress display: a rich bar per stage with an ETA, or nothing when not wanted."""

    def __init__(self, show: bool) -> None:
        self.progress: Any = None
        if show:
            from rich.progress import (
                BarColumn,
                Progress,
                SpinnerColumn,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self.progress = Progress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                BarColumn(),
                TimeElapsedColumn(),
                TextColumn("eta"),
                TimeRemainingColumn(),
                transient=False,
            )

    @contextmanager
    def stage(self, description: str, total: float = 1.0) -> Iterator[Any]:
        if self.progress is None:
            yield lambda **kwargs: None
            return
        task = self.progress.add_task(description, total=total)

        def update(**kwargs: Any) -> None:
            self.progress.update(task, **kwargs)

        try:
            yield update
        finally:
            self.progress.update(task, completed=self.progress.tasks[task].total)

    def __enter__(self) -> Stages:
        if self.progress is not None:
            self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.progress is not None:
            self.progress.stop()


def run_doctor(options: DoctorOptions) -> dict[str, Any]:
    """Run every stage and return the report (also written to ``options.report_dir``)."""
    from django.conf import settings

    from headroom.conf import conf
    from headroom.doctor import analyse, discover, load, queries, records, serve, static, summary
    from headroom.report.jsonreport import build as build_report
    from headroom.report.jsonreport import write as write_report

    started = time.time()
    workdir = options.report_dir / "run"
    spool = workdir / "spool"
    shutil.rmtree(workdir, ignore_errors=True)
    spool.mkdir(parents=True)
    notes: list[str] = []

    with Stages(options.show_progress) as stages:
        with stages.stage("static pass: system checks and migrations"):
            findings: list[Finding] = static.check_findings()
            lint_findings, skipped = static.migration_findings()
            findings += lint_findings
            if skipped:
                notes.append(f"migration lint skipped: {skipped}")

        workers = options.workers or serve.default_workers()
        server = serve.GunicornServer(
            app="headroom.doctor.wsgi:application",
            workers=workers,
            threads=options.threads,
            env={
                **options.server_env,
                "HEADROOM_PROBE_MODE": "capture",
                "HEADROOM_SPOOL_DIR": str(spool.resolve()),
                "HEADROOM_WSGI_APPLICATION": serve.wsgi_application_path(),
            },
            log_path=workdir / "gunicorn.log",
        )
        with stages.stage(f"starting gunicorn ({workers} workers)"):
            server.start()
        try:
            with stages.stage("discovering what to load"):
                source, targets = discover.discover(server.url, conf.SCENARIOS)
            plan = load.LoadPlan(
                host=server.url,
                targets=targets,
                steps=load.concurrency_steps(options.max_users),
                step_seconds=options.step_seconds,
                slo_p95_ms=options.slo_p95_ms,
                max_error_rate=options.max_error_rate,
                warmup_seconds=options.warmup_seconds,
                csrf_cookie_name=settings.CSRF_COOKIE_NAME,
                processes=options.load_processes,
            )
            with stages.stage("load", total=plan.longest_seconds()) as update:

                def on_progress(elapsed: float, steps: list[dict[str, Any]]) -> None:
                    text = "load: warming up"
                    if steps:
                        last = steps[-1]
                        text = (
                            f"load: {last['users']} users -> {last['rps']:.0f} req/s, "
                            f"p95 {last['p95_ms']:.0f} ms"
                        )
                    update(completed=elapsed, description=text)

                result = load.run_load(plan, workdir, on_progress=on_progress)
        finally:
            server.stop()

        with stages.stage("joining client and server records, planning queries"):
            spool_records = records.read_spool(spool)
            routes = records.summarise_routes(spool_records, result.client_records)
            findings += analyse.n_plus_one_findings(spool_records, routes)
            findings += analyse.blocking_call_findings(spool_records, routes)
            findings += analyse.sync_email_findings(spool_records, routes)
            findings += analyse.tiny_chunk_findings(spool_records)
            findings += queries.query_findings(
                spool_records,
                routes,
                slow_query_ms=conf.SLOW_QUERY_MS,
                min_table_rows=conf.INDEX_MIN_TABLE_ROWS,
                min_saving=conf.INDEX_MIN_SAVING,
                prove=options.prove_indexes,
            )
            findings.sort(key=lambda f: f.sort_key())
            joined = records.joined_fraction(spool_records, result.client_records)
            if result.cpu_warning is not None:
                notes.append(
                    f"the load generator's CPU reached {result.cpu_warning:.0f}% (Locust's "
                    "warning): its own limit, not the server's, may have capped throughput. "
                    "Run with --load-processes 2 (or more), or on another machine."
                )
            if not spool_records:
                notes.append(
                    "the server wrote no probe records: is 'headroom' importable by the "
                    "server, and does the project's WSGI module build a Django handler?"
                )
            head = summary.headline(
                steps=result.steps,
                stopped_because=result.stopped_because,
                slo_p95_ms=options.slo_p95_ms,
                max_error_rate=options.max_error_rate,
                target_patterns={t.name: t.url_pattern for t in targets},
                routes=routes,
                findings=findings,
            )

    report: dict[str, Any] = build_report(
        headline=head,
        steps=result.steps,
        routes=[r.to_dict() for r in routes.values()],
        targets=targets,
        findings=findings,
        meta={
            "settings": str(settings.SETTINGS_MODULE),
            "server": {"workers": workers, "threads": options.threads, "url": server.url},
            "load_generator": {
                "processes": options.load_processes,
                "cpu_warning_percent": result.cpu_warning,
            },
            "discovered_from": source,
            "load_seconds": round(result.seconds, 1),
            "total_seconds": round(time.time() - started, 1),
            "requests_recorded": len(spool_records),
            "requests_sent": len(result.client_records),
            "joined_fraction": round(joined, 4),
            "notes": notes,
        },
    )
    write_report(report, options.report_dir)
    return report
