"""Drive load with Locust in a subprocess, following a stepped plan."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from headroom.doctor.discover import Target

LOCUSTFILE = Path(__file__).with_name("locustfile.py")


class LoadError(Exception):
    """Locust failed to run; the message carries its last output lines."""


def concurrency_steps(max_users: int) -> list[int]:
    """1, 2, 4, ... up to and including ``max_users``."""
    steps = [1]
    while steps[-1] * 2 <= max_users:
        steps.append(steps[-1] * 2)
    if steps[-1] != max_users:
        steps.append(max_users)
    return steps


@dataclass
class LoadPlan:
    host: str
    targets: list[Target]
    steps: list[int]
    step_seconds: float
    slo_p95_ms: float
    max_error_rate: float
    warmup_seconds: float = 2.0
    min_samples: int = 10
    min_growth: float = 1.1
    csrf_cookie_name: str = "csrftoken"
    #: Locust processes generating the load (``--processes``): one core each.
    processes: int = 1

    def to_json(self, results_path: Path, client_records_path: Path) -> dict[str, Any]:
        return {
            "host": self.host,
            "targets": [t.to_plan() for t in self.targets],
            "steps": self.steps,
            "step_seconds": self.step_seconds,
            "warmup_seconds": self.warmup_seconds,
            "slo_p95_ms": self.slo_p95_ms,
            "max_error_rate": self.max_error_rate,
            "min_samples": self.min_samples,
            "min_growth": self.min_growth,
            "csrf_cookie_name": self.csrf_cookie_name,
            "results_path": str(results_path),
            "client_records_path": str(client_records_path),
        }

    def longest_seconds(self) -> float:
        # Each step is judged a grace period after it ends (see the locustfile).
        return self.warmup_seconds + self.step_seconds * len(self.steps) + 2.0


@dataclass
class LoadResult:
    steps: list[dict[str, Any]]
    stopped_because: str
    client_records_path: Path
    seconds: float
    client_records: list[dict[str, Any]] = field(default_factory=list)
    #: The highest CPU use Locust warned about in a load process (its limit, not the
    #: server's, may have capped throughput), or None.
    cpu_warning: float | None = None


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data: dict[str, Any] = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data


def run_load(
    plan: LoadPlan,
    workdir: Path,
    *,
    on_progress: Callable[[float, list[dict[str, Any]]], None] | None = None,
) -> LoadResult:
    """Run Locust until the plan's shape stops it; return the per-step figures.

    ``on_progress(elapsed_seconds, finished_steps)`` is called a few times a second.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    plan_path = workdir / "load-plan.json"
    results_path = workdir / "load-results.json"
    client_path = workdir / "client-records.jsonl"
    log_path = workdir / "locust.log"
    for stale in (results_path, client_path):
        stale.unlink(missing_ok=True)
    plan_path.write_text(json.dumps(plan.to_json(results_path, client_path), indent=2))
    command = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(LOCUSTFILE),
        "--headless",
        "--host",
        plan.host,
        "--only-summary",
        "--loglevel",
        "WARNING",
        "--exit-code-on-error",
        "0",
        "--stop-timeout",
        "5",
    ]
    if plan.processes > 1:
        command += ["--processes", str(plan.processes)]
    env = {**os.environ, "HEADROOM_LOAD_PLAN": str(plan_path)}
    started = time.monotonic()
    limit = plan.longest_seconds() + 60
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
        try:
            while process.poll() is None:
                elapsed = time.monotonic() - started
                if elapsed > limit:
                    raise LoadError(f"Locust ran past {limit:.0f} s and was stopped.")
                time.sleep(0.25)
                if on_progress is not None:
                    on_progress(elapsed, (_read_json(results_path) or {}).get("steps") or [])
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    results = _read_json(results_path)
    if not results or not results.get("steps"):
        tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-25:])
        raise LoadError(
            f"Locust finished without measuring a step (exit {process.returncode}):\n{tail}"
        )
    return LoadResult(
        steps=results["steps"],
        stopped_because=results.get("stopped_because") or "interrupted",
        client_records_path=client_path,
        seconds=time.monotonic() - started,
        client_records=_read_lines(client_path),
        cpu_warning=results.get("load_generator_cpu_warning"),
    )


def _read_lines(path: Path) -> list[dict[str, Any]]:
    rows = []
    try:
        with path.open() as handle:
            for line in handle:
                try:
                    rows.append(json.loads(line))
                except ValueError:
                    continue  # a line cut short when Locust stopped
    except OSError:
        return []
    return rows
