"""What the audit needs to know about the machines: RAM, storage, and connection demand.

Connection demand is computed from the deployment, not guessed: every web worker thread on
every web server can hold a connection at once (persistent with ``CONN_MAX_AGE``, or for the
length of a request without it), so can every Celery worker process, and a connection pool
(``OPTIONS["pool"]``) holds up to its ``max_size`` per process.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGT]i?B?|B)?\s*$", re.I)
_FACTORS = {"": 1, "B": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


def parse_size(text: str) -> int:
    """``"16GB"``, ``"512MB"``, ``"16G"`` or ``"17179869184"`` as bytes (powers of 1024)."""
    found = _SIZE.match(text)
    if not found:
        raise ValueError(f"{text!r} is not a size like 16GB or 512MB")
    unit = (found.group(2) or "").upper()[:1]
    return int(float(found.group(1)) * _FACTORS[unit])


def format_size(size: float) -> str:
    """Bytes as a PostgreSQL setting value: whole MB, or GB when exact."""
    mb = int(size // (1 << 20))
    if mb >= 1024 and mb % 1024 == 0:
        return f"{mb // 1024}GB"
    if mb >= 1:
        return f"{mb}MB"
    return f"{max(int(size // 1024), 1)}kB"


def local_ram() -> int:
    return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))


def is_local(config: dict[str, Any]) -> bool:
    host = str(config.get("HOST") or "")
    return host in ("", "localhost", "127.0.0.1", "::1") or host.startswith("/")


def local_storage(path: str | None) -> str | None:
    """ "ssd" or "hdd" for the block device holding ``path`` on this machine, if known."""
    try:
        device = os.stat(path or "/").st_dev
        major, minor = os.major(device), os.minor(device)
        block = Path(f"/sys/dev/block/{major}:{minor}").resolve()
        for directory in (block, block.parent):
            rotational = directory / "queue" / "rotational"
            if rotational.exists():
                return "hdd" if rotational.read_text().strip() == "1" else "ssd"
    except (OSError, ValueError):
        return None
    return None


def default_workers() -> int:
    return 2 * (os.cpu_count() or 1) + 1


def _gunicorn_config() -> dict[str, int]:
    """workers / threads from ./gunicorn.conf.py, $GUNICORN_CMD_ARGS or $WEB_CONCURRENCY."""
    found: dict[str, int] = {}
    path = Path("gunicorn.conf.py")
    if path.exists():
        for key in ("workers", "threads"):
            match = re.search(rf"^{key}\s*=\s*(\d+)\s*$", path.read_text(), re.M)
            if match:
                found[key] = int(match.group(1))
    args = os.environ.get("GUNICORN_CMD_ARGS", "")
    for key, flag in (("workers", r"(?:-w|--workers)"), ("threads", r"--threads")):
        match = re.search(rf"{flag}[ =](\d+)", args)
        if match:
            found[key] = int(match.group(1))
    if "workers" not in found and os.environ.get("WEB_CONCURRENCY", "").isdigit():
        found["workers"] = int(os.environ["WEB_CONCURRENCY"])
    return found


@dataclass
class Demand:
    """How many connections the deployment can open at once, and from where."""

    web_servers: int
    workers: int
    threads: int
    celery: int
    per_process: int
    pooled: bool
    persistent: bool

    @property
    def total(self) -> int:
        web = self.web_servers * self.workers * (self.per_process if self.pooled else self.threads)
        return web + self.celery * (self.per_process if self.pooled else 1)

    def explain(self) -> str:
        if self.pooled:
            web = (
                f"{self.web_servers} web server(s) x {self.workers} worker(s) x pool of "
                f"{self.per_process}"
            )
        else:
            web = (
                f"{self.web_servers} web server(s) x {self.workers} worker(s) x "
                f"{self.threads} thread(s)"
            )
        return f"{web} + {self.celery} Celery process(es) = {self.total}"


def demand(
    alias: str,
    *,
    workers: int | None = None,
    threads: int | None = None,
    web_servers: int | None = None,
    celery: int | None = None,
) -> Demand:
    from django.conf import settings

    from headroom.conf import conf

    databases: dict[str, Any] = settings.DATABASES
    config: dict[str, Any] = databases[alias]
    gunicorn = _gunicorn_config()
    if celery is None:
        celery = conf.CELERY_CONCURRENCY
    if celery is None:
        configured = getattr(settings, "CELERY_WORKER_CONCURRENCY", None)
        uses_celery = configured is not None or conf.OFFLOAD_EXECUTOR == "celery"
        celery = int(configured or os.cpu_count() or 1) if uses_celery else 0
    pool = (config.get("OPTIONS") or {}).get("pool")
    per_process = 1
    if pool:
        per_process = int(pool.get("max_size", 4)) if isinstance(pool, dict) else 4
    return Demand(
        web_servers=web_servers or conf.WEB_SERVERS,
        workers=workers or conf.GUNICORN_WORKERS or gunicorn.get("workers") or default_workers(),
        threads=threads or gunicorn.get("threads") or conf.GUNICORN_THREADS,
        celery=celery,
        per_process=per_process,
        pooled=bool(pool),
        persistent=config.get("CONN_MAX_AGE", 0) != 0,
    )
