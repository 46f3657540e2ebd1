"""How much the probe costs a real server: bare Django vs the probe vs two well-known tools.

    python benchmarks/probe_overhead.py            # about 4 minutes

Serves one page (20 queries and a template, benchmarks/probe_site/) with gunicorn (one sync
worker) and loads it with wrk, for four variants in one run:

    bare        the `startproject` middleware stack
    probe       + headroom.probe.ProbeMiddleware, PROBE_MODE="production" (the default)
    prometheus  + django-prometheus middleware and its instrumented database backend
    silk        + django-silk's middleware

All four servers start once; then the variants are loaded in turn, in many short
interleaved rounds (the order rotates each round), and medians are reported, because a small
shared machine's throughput is noisy. The steadier figure is the
worker's CPU time per request: utime+stime of the gunicorn worker from /proc, divided by the
requests wrk completed. The last line is the probe's throughput as a ratio to bare.

Needs `wrk` (Debian: apt-get install -y wrk). django-prometheus and django-silk are
installed into a throwaway virtualenv (~/.cache/django-headroom/bench-venv), never into the
project's dependencies.
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
VENV = Path.home() / ".cache" / "django-headroom" / "bench-venv"
BENCH_PACKAGES = ["Django>=5.2,<6", "gunicorn", "django-prometheus", "django-silk"]
VARIANTS = ["bare", "probe", "prometheus", "silk"]
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def venv_python() -> Path:
    python = VENV / "bin" / "python"
    marker = VENV / ".headroom-bench-ready"
    if not marker.exists():
        print(f"setting up {VENV} (once): {' '.join(BENCH_PACKAGES)}", flush=True)
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(VENV)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", *BENCH_PACKAGES],
            check=True,
        )
        marker.write_text("ok\n")
    return python


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def environment(variant: str, db: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        BENCH_VARIANT=variant,
        BENCH_DB=str(db),
        DJANGO_SETTINGS_MODULE="probe_site.settings",
        PYTHONPATH=os.pathsep.join([str(HERE), str(REPO / "src")]),
        PYTHONDONTWRITEBYTECODE="1",
    )
    env.pop("HEADROOM_PROBE_MODE", None)
    env.pop("HEADROOM_SPOOL_DIR", None)
    return env


def prepare_database(python: Path, variant: str, db: Path) -> None:
    env = environment(variant, db)
    run = [str(python), "-m", "django"]
    subprocess.run([*run, "migrate", "--run-syncdb", "-v", "0"], env=env, check=True)
    seed = "import django; django.setup(); from probe_site.models import seed; seed()"
    subprocess.run([str(python), "-c", seed], env=env, check=True)


def children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    # After the command name: state is field 3, utime 14, stime 15 (1-based).
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def get(port: int) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", "/")
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


class Server:
    def __init__(self, python: Path, variant: str, db: Path) -> None:
        self.port = free_port()
        gunicorn = [str(python), "-m", "gunicorn", "probe_site.wsgi:application"]
        options = ["-w", "1", "-b", f"127.0.0.1:{self.port}", "--log-level", "warning"]
        self.process = subprocess.Popen(
            [*gunicorn, *options], env=environment(variant, db), cwd=str(HERE)
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                status, self.headers, self.body = get(self.port)
                break
            except OSError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    self.stop()
                    raise RuntimeError(f"gunicorn for {variant} did not start") from None
                time.sleep(0.2)
        if status != 200:
            self.stop()
            raise RuntimeError(f"{variant}: GET / answered {status}")
        workers = children(self.process.pid)
        if len(workers) != 1:
            self.stop()
            raise RuntimeError(f"{variant}: expected one gunicorn worker, found {workers}")
        self.worker = workers[0]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


_REQUESTS = re.compile(r"(\d+) requests in ([\d.]+)(m?s)")
_ERRORS = re.compile(r"Non-2xx or 3xx responses: (\d+)|Socket errors: (.*)")


def wrk(port: int, seconds: int, connections: int) -> tuple[int, float]:
    """(requests completed, seconds) of one wrk run against the page."""
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", f"http://127.0.0.1:{port}/"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    found = _REQUESTS.search(out)
    if found is None:
        raise RuntimeError(f"could not read wrk's output:\n{out}")
    errors = _ERRORS.search(out)
    if errors is not None:
        raise RuntimeError(f"wrk saw errors:\n{out}")
    elapsed = float(found.group(2)) / (1000 if found.group(3) == "ms" else 1)
    return int(found.group(1)), elapsed


def check_variant(variant: str, server: Server) -> None:
    """Make sure each variant really runs what it claims to."""
    timing = server.headers.get("Server-Timing", "")
    if variant == "probe" and 'desc="20 queries"' not in timing:
        raise RuntimeError(f"probe variant: no Server-Timing with 20 queries ({timing!r})")
    if variant != "probe" and timing:
        raise RuntimeError(f"{variant}: unexpected Server-Timing {timing!r}")
    if b"Per category" not in server.body:
        raise RuntimeError(f"{variant}: the page did not render")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--seconds", type=int, default=3, help="measured wrk run")
    parser.add_argument("--warmup", type=int, default=3, help="unmeasured wrk run")
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--variants", default=",".join(VARIANTS))
    args = parser.parse_args(argv)
    variants = args.variants.split(",")
    if "bare" not in variants:
        parser.error("the bare variant is the anchor: keep it in --variants")
    if shutil.which("wrk") is None:
        print("wrk is not installed. On Debian/Ubuntu:  apt-get update && apt-get install -y wrk")
        return 2

    python = venv_python()
    work = Path(tempfile.mkdtemp(prefix="headroom-bench-"))
    dbs = {}
    for variant in variants:
        dbs[variant] = work / f"{variant}.sqlite3"
        prepare_database(python, variant, dbs[variant])

    rps: dict[str, list[float]] = {v: [] for v in variants}
    cpu_ms: dict[str, list[float]] = {v: [] for v in variants}
    print(
        f"{args.rounds} rounds x {len(variants)} variants; wrk -t1 -c{args.connections} "
        f"-d{args.seconds}s per variant per round, after a {args.warmup}s warm-up; "
        f"one gunicorn sync worker per variant; {os.cpu_count()} CPUs",
        flush=True,
    )
    servers: dict[str, Server] = {}
    try:
        for variant in variants:
            servers[variant] = Server(python, variant, dbs[variant])
            check_variant(variant, servers[variant])
            wrk(servers[variant].port, args.warmup, args.connections)
        for round_number in range(args.rounds):
            # All servers stay up (idle when not loaded); the order rotates every round so
            # that drift in the machine's speed falls on every variant alike.
            shift = round_number % len(variants)
            line = []
            for variant in variants[shift:] + variants[:shift]:
                server = servers[variant]
                cpu_before = cpu_seconds(server.worker)
                requests, elapsed = wrk(server.port, args.seconds, args.connections)
                cpu_after = cpu_seconds(server.worker)
                rps[variant].append(requests / elapsed)
                cpu_ms[variant].append((cpu_after - cpu_before) * 1000.0 / requests)
                line.append(f"{variant} {requests / elapsed:.0f}/s")
            print(f"round {round_number + 1}: " + ", ".join(line), flush=True)
    finally:
        for server in servers.values():
            server.stop()
        shutil.rmtree(work, ignore_errors=True)

    bare_rps = statistics.median(rps["bare"])
    bare_cpu = statistics.median(cpu_ms["bare"])
    print()
    print(f"{'variant':<12}{'req/s':>9}{'vs bare':>9}{'CPU ms/req':>12}{'vs bare':>9}")
    for variant in variants:
        median_rps = statistics.median(rps[variant])
        median_cpu = statistics.median(cpu_ms[variant])
        print(
            f"{variant:<12}{median_rps:>9.0f}{median_rps / bare_rps:>8.3f}x"
            f"{median_cpu:>12.3f}{median_cpu / bare_cpu:>8.3f}x"
        )
    if "probe" in variants:
        per_round = [p / b for p, b in zip(rps["probe"], rps["bare"], strict=True)]
        cpu_round = [p / b for p, b in zip(cpu_ms["probe"], cpu_ms["bare"], strict=True)]
        extra_cpu_us = (statistics.median(cpu_ms["probe"]) - bare_cpu) * 1000.0
        print(
            f"\nprobe: {extra_cpu_us:+.0f} us CPU per request over bare (median CPU ratio per "
            f"round {statistics.median(cpu_round):.3f}x); throughput ratio per round: "
            f"{', '.join(f'{r:.2f}' for r in per_round)}"
        )
        print(
            "probe (production mode) throughput vs bare Django, median of per-round ratios: "
            f"{statistics.median(per_round):.3f}x"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
