# mypy: disable-error-code="untyped-decorator,no-untyped-call,misc,import-untyped"
"""The Locust file ``headroom doctor`` runs: ``locust -f <this file>`` in a subprocess.

It reads its plan from the JSON file named by ``HEADROOM_LOAD_PLAN`` (written by
:mod:`headroom.doctor.load`): the targets with their weights, paths, form data and cookies,
and the concurrency steps. Every request carries an ``X-Headroom-Request-Id`` header so the
doctor can join what the client saw with what the server's probe recorded.

The load shape doubles the simulated users at each step and stops at the first step where a
URL pattern's 95th percentile breaks the SLO, the error rate passes its limit, or throughput
stops growing. Per-step figures are computed here from every request's own latency (exact
percentiles, not Locust's rounded buckets) and written to the plan's ``results_path`` after
each step, so the doctor can show progress.

This module is imported only inside the Locust process: it has gevent-patched I/O.
"""

from __future__ import annotations

import json
import os
import random
import secrets
import string
import time
import uuid
from pathlib import Path
from typing import Any

import gevent
from locust import FastHttpUser, LoadTestShape, constant, events, task
from locust.runners import MasterRunner, WorkerRunner

PLAN: dict[str, Any] = json.loads(Path(os.environ["HEADROOM_LOAD_PLAN"]).read_text())
TARGETS: list[dict[str, Any]] = PLAN["targets"]
WEIGHTS = [t["weight"] for t in TARGETS]
STEPS: list[int] = PLAN["steps"]
STEP_SECONDS: float = PLAN["step_seconds"]
WARMUP_SECONDS: float = PLAN.get("warmup_seconds", 2.0)
CSRF_COOKIE: str = PLAN.get("csrf_cookie_name", "csrftoken")
_ALPHABET = string.ascii_letters + string.digits


#: name, milliseconds, failed, status, request id, start (epoch seconds)
Sample = tuple[str, float, bool, int, "str | None", float]
#: Requests still running when a step ends are counted in the step they started in, so a
#: step is summarised this many seconds after it ends (samples from worker processes arrive
#: in batches, and a slow response finishes late).
SUMMARY_GRACE_SECONDS = 2.0
#: How often a worker process sends its samples to the master.
SHIP_SECONDS = 0.5
#: The step index of requests that start after the last step ended.
AFTER_THE_LAST_STEP = -2


def percentile(sorted_values: list[float], fraction: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    if not sorted_values:
        return 0.0
    rank = max(1, int(-(-fraction * len(sorted_values) // 1)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


class _Recorder:
    """Every finished request, filed under the step in which it started.

    It lives in the process that runs the load shape (the only Locust process, or the master
    of ``--processes``); worker processes ship their samples to it (see :func:`_on_init`).
    """

    def __init__(self) -> None:
        self.step_index = -1  # -1 is the warm-up
        self.step_started = time.time()
        self.boundaries: list[tuple[float, int]] = [(self.step_started, -1)]
        self.samples: dict[int, list[tuple[str, float, bool]]] = {}
        self._client_log: Any = None
        #: The highest CPU use Locust warned about (its own process or a worker's), if any.
        self.cpu_warning: float | None = None

    @property
    def client_log(self) -> Any:
        if self._client_log is None:
            self._client_log = open(PLAN["client_records_path"], "a", buffering=1 << 16)  # noqa: SIM115
        return self._client_log

    def begin_step(self, index: int) -> None:
        self.step_index = index
        self.step_started = time.time()
        self.boundaries.append((self.step_started, index))

    def step_of(self, started: float) -> int:
        for boundary, index in reversed(self.boundaries):
            if started >= boundary:
                return index
        return -1

    def record(self, sample: Sample) -> None:
        name, ms, failed, status, rid, started = sample
        step = self.step_of(started)
        self.samples.setdefault(step, []).append((name, ms, failed))
        users = STEPS[step] if step >= 0 else 0
        row = {
            "rid": rid,
            "name": name,
            "users": users,
            "step": step,
            "ms": round(ms, 3),
            "status": status,
            "failed": failed,
            "start": round(started, 4),
        }
        self.client_log.write(json.dumps(row) + "\n")

    def summarise(self, index: int, seconds: float) -> dict[str, Any]:
        rows = self.samples.get(index, [])
        by_name: dict[str, list[tuple[float, bool]]] = {}
        for name, ms, failed in rows:
            by_name.setdefault(name, []).append((ms, failed))
        return {
            "users": STEPS[index],
            "seconds": round(seconds, 3),
            **_stats([(ms, failed) for _, ms, failed in rows], seconds),
            "targets": {n: _stats(v, seconds) for n, v in sorted(by_name.items())},
        }


def _stats(rows: list[tuple[float, bool]], seconds: float) -> dict[str, Any]:
    times = sorted(ms for ms, _ in rows)
    failures = sum(1 for _, failed in rows if failed)
    return {
        "requests": len(rows),
        "failures": failures,
        "error_rate": failures / len(rows) if rows else 0.0,
        "rps": len(rows) / seconds if seconds > 0 else 0.0,
        "mean_ms": sum(times) / len(times) if times else 0.0,
        "p50_ms": percentile(times, 0.50),
        "p95_ms": percentile(times, 0.95),
        "p99_ms": percentile(times, 0.99),
        "max_ms": times[-1] if times else 0.0,
    }


RECORDER = _Recorder()


_ROLE = "local"
_OUTBOX: list[Sample] = []


@events.init.add_listener
def _on_init(environment: Any, **kwargs: Any) -> None:
    """With ``--processes`` the requests run in worker processes: they ship their samples to
    the master, where the load shape and the recorder live."""
    global _ROLE
    runner = environment.runner
    if isinstance(runner, WorkerRunner):
        _ROLE = "worker"
        gevent.spawn(_ship_forever, runner)
    elif isinstance(runner, MasterRunner):
        _ROLE = "master"
        runner.register_message("headroom_samples", _on_samples)
        runner.register_message("headroom_cpu", _on_worker_cpu)


def _ship_forever(runner: Any) -> None:
    while True:
        gevent.sleep(SHIP_SECONDS)
        if _OUTBOX:
            batch = _OUTBOX[:]
            del _OUTBOX[:]
            runner.send_message("headroom_samples", batch)


def _on_samples(environment: Any, msg: Any, **kwargs: Any) -> None:
    for sample in msg.data:
        RECORDER.record(tuple(sample))


def _on_worker_cpu(environment: Any, msg: Any, **kwargs: Any) -> None:
    RECORDER.cpu_warning = max(RECORDER.cpu_warning or 0.0, float(msg.data))


@events.cpu_warning.add_listener
def _on_cpu_warning(environment: Any, cpu_usage: float, **kwargs: Any) -> None:
    if _ROLE == "worker":
        environment.runner.send_message("headroom_cpu", cpu_usage)
    else:
        RECORDER.cpu_warning = max(RECORDER.cpu_warning or 0.0, float(cpu_usage))


@events.request.add_listener
def _on_request(
    request_type: str,
    name: str,
    response_time: float,
    response_length: int,
    response: Any = None,
    context: dict[str, Any] | None = None,
    exception: BaseException | None = None,
    **kwargs: Any,
) -> None:
    status = int(getattr(response, "status_code", 0) or 0)
    rid = (context or {}).get("rid")
    ms = float(response_time)
    sample: Sample = (name, ms, exception is not None, status, rid, time.time() - ms / 1000.0)
    if _ROLE == "worker":
        _OUTBOX.append(sample)
    else:
        RECORDER.record(sample)


class DoctorUser(FastHttpUser):
    host = PLAN["host"]
    wait_time = constant(0)
    network_timeout = PLAN.get("request_timeout", 30.0)
    connection_timeout = 10.0

    def on_start(self) -> None:
        self.csrf_token = "".join(secrets.choice(_ALPHABET) for _ in range(32))

    @task
    def hit(self) -> None:
        target = random.choices(TARGETS, WEIGHTS)[0]
        path = random.choice(target["paths"])
        rid = uuid.uuid4().hex
        cookies = dict(target.get("cookies") or {})
        headers = {"X-Headroom-Request-Id": rid, **(target.get("headers") or {})}
        data = target.get("data")
        if target["method"] not in ("GET", "HEAD"):
            # Django accepts the unmasked secret as the form token when it equals the cookie.
            cookies[CSRF_COOKIE] = self.csrf_token
            data = {"csrfmiddlewaretoken": self.csrf_token, **(data or {})}
            headers["Referer"] = self.host + path
        if cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
        # Each request carries exactly the cookies of its target's user, nothing left over.
        self.client.cookiejar.clear()
        with self.client.request(
            target["method"],
            path,
            name=target["name"],
            headers=headers,
            data=data,
            catch_response=True,
            allow_redirects=False,
            context={"rid": rid},
        ) as response:
            if response.status_code == 0 or response.status_code >= 400:
                response.failure(f"HTTP {response.status_code}")
            else:
                response.success()


def _breaks_slo(stats: dict[str, Any]) -> bool:
    """A target breaks the SLO when its p95 does, judged on enough requests; a target seen
    only a few times in a step (a rare POST) breaks it when even its median does."""
    slo = PLAN["slo_p95_ms"]
    if stats["requests"] >= PLAN["min_samples"]:
        return bool(stats["p95_ms"] > slo)
    return bool(stats["requests"] >= 3 and stats["p50_ms"] > slo)


class SteppedLoad(LoadTestShape):
    """1, 2, 4, ... users; stop when the SLO breaks, errors rise or throughput stalls."""

    def __init__(self) -> None:
        super().__init__()
        self.index = -1
        self.step_started = 0.0
        self.results: list[dict[str, Any]] = []
        self.stopped_because: str | None = None
        #: A finished step waiting for its grace period: (index, seconds, judge at).
        self.pending: tuple[int, float, float] | None = None

    def tick(self) -> tuple[int, float] | None:
        now = self.get_run_time()
        if self.index == -1:
            if now < WARMUP_SECONDS:
                return (1, 1)
            self._begin(0, now)
        elif self.pending is None and now - self.step_started >= STEP_SECONDS:
            self.pending = (self.index, now - self.step_started, now + SUMMARY_GRACE_SECONDS)
            if self.index + 1 < len(STEPS):
                self._begin(self.index + 1, now)
            else:
                # The last step is over: later requests belong to no step.
                RECORDER.begin_step(AFTER_THE_LAST_STEP)
        if self.pending is not None and now >= self.pending[2]:
            index, seconds, _ = self.pending
            self.pending = None
            summary = RECORDER.summarise(index, seconds)
            self.results.append(summary)
            verdict = self._verdict(summary)
            if verdict is None and index + 1 >= len(STEPS):
                verdict = "max_users"
            if verdict is not None:
                self.stopped_because = verdict
                self._write(done=True)
                return None
            self._write(done=False)
        users = STEPS[self.index]
        return (users, float(users))

    def _begin(self, index: int, now: float) -> None:
        self.index = index
        self.step_started = now
        RECORDER.begin_step(index)

    def _verdict(self, summary: dict[str, Any]) -> str | None:
        broken = [name for name, stats in summary["targets"].items() if _breaks_slo(stats)]
        summary["broken_targets"] = broken
        if broken:
            return "slo"
        if summary["error_rate"] > PLAN["max_error_rate"]:
            return "errors"
        best_before = max((r["rps"] for r in self.results[:-1]), default=0.0)
        if len(self.results) >= 3 and summary["rps"] < best_before * PLAN["min_growth"]:
            return "throughput"
        return None

    def _write(self, *, done: bool) -> None:
        RECORDER.client_log.flush()
        path = Path(PLAN["results_path"])
        tmp = path.with_suffix(".tmp")
        tmp.write_text(
            json.dumps(
                {
                    "steps": self.results,
                    "stopped_because": self.stopped_because,
                    "done": done,
                    "load_generator_cpu_warning": RECORDER.cpu_warning,
                }
            )
        )
        tmp.replace(path)
