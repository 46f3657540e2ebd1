"""Everything the demo shop needs to run, ready in one ``with`` block.

    from headroom.demo.environment import prepare

    with prepare(size="small", fixed=False, workdir=Path(".headroom-demo")) as demo:
        server_env = {**os.environ, **demo.env}
        subprocess.run(["gunicorn", "headroom.demo.wsgi:application"], env=server_env)

:func:`prepare` builds (or reuses) the SQLite database, starts the slow SMTP server and payment
API, points this process's environment and Django at them, and undoes it all on exit.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import subprocess
import sys
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from headroom.demo.generate import DATA_VERSION, SIZES
from headroom.demo.services import SlowPaymentAPI, SlowSMTPServer

SETTINGS_MODULE = "headroom.demo.settings"
DemoSize = Literal["default", "small"]


class DemoError(Exception):
    """The demo could not be prepared; the message says why and what to do."""


@dataclass(frozen=True)
class DemoEnvironment:
    """A prepared demo: pass :attr:`env` to the server process."""

    #: Environment variables the server process needs (merge them into its environment).
    env: dict[str, str]
    #: The SQLite database file.
    database: Path
    fixed: bool
    size: str
    workdir: Path
    #: The slow SMTP server: ``.messages``, ``.wait_for_messages(n)``, ``.delay``.
    smtp: SlowSMTPServer
    #: The slow payment API: ``.charges``, ``.wait_for_charges(n)``, ``.delay``, ``.url``.
    payment: SlowPaymentAPI


def database_path(workdir: Path, size: str, fixed: bool) -> Path:
    """The database file of one size and mode under ``workdir``."""
    return workdir / f"shop-{size}-{'fixed' if fixed else 'planted'}.sqlite3"


def is_built(database: Path) -> bool:
    """Whether ``database`` is a finished build of this version of the demo."""
    if not database.is_file():
        return False
    try:
        with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as db:
            version = db.execute("PRAGMA user_version").fetchone()[0]
    except sqlite3.Error:
        return False
    return bool(version == DATA_VERSION)


def build(database: Path, *, size: str, fixed: bool, progress: bool = True) -> None:
    """Build ``database`` in a subprocess (its own Django setup), replacing any old file.

    The file appears under its name only once complete, so an interrupted build is never
    mistaken for a finished one.
    """
    partial = database.with_name(f"{database.name}.building-{os.getpid()}")
    _remove(partial)
    command = [sys.executable, "-m", "headroom.demo.generate", "--size", size]
    command += ["--database", str(partial)]
    command += ["--fixed"] if fixed else []
    command += [] if progress else ["--no-progress"]
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": SETTINGS_MODULE}
    result = subprocess.run(command, env=env, capture_output=not progress, text=True)
    if result.returncode != 0:
        _remove(partial)
        output = "" if progress else f"\n{result.stdout}{result.stderr}".rstrip()
        raise DemoError(
            f"building the demo database {database} failed (exit {result.returncode}).{output}"
        )
    _remove(database)
    os.replace(partial, database)


def _remove(database: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        with contextlib.suppress(FileNotFoundError):
            os.remove(f"{database}{suffix}")


def _point_django_at(database: Path, fixed: bool, env: dict[str, str]) -> None:
    """Set Django up on the demo settings, or re-point a process already on them."""
    import django
    from django.apps import apps
    from django.conf import settings

    if not settings.configured or not apps.ready:
        django.setup()
        return
    if getattr(settings, "SETTINGS_MODULE", None) != SETTINGS_MODULE:
        # Django runs the caller's own project (a test suite, say): leave it alone. The demo
        # runs in the server process, which gets `env`.
        return
    running_fixed = bool(getattr(settings, "HEADROOM_DEMO_FIXED", False))
    if running_fixed != fixed:
        mode = "fixed" if running_fixed else "planted"
        raise DemoError(
            f"this process already runs the demo in {mode} mode, and a model's indexes and "
            "migrations cannot change once loaded. Prepare the other mode in a new process."
        )
    from django.db import connections

    connections["default"].close()
    default = typing.cast(dict[str, object], settings.DATABASES["default"])
    default["NAME"] = database
    settings.EMAIL_PORT = int(env["HEADROOM_DEMO_SMTP_PORT"])
    settings.HEADROOM_DEMO_PAYMENT_URL = env["HEADROOM_DEMO_PAYMENT_URL"]


@contextlib.contextmanager
def prepare(
    *, size: DemoSize | str = "default", fixed: bool, workdir: Path, progress: bool = True
) -> Iterator[DemoEnvironment]:
    """Make the demo ready to serve, for the length of the ``with`` block.

    - builds ``workdir/shop-<size>-<planted|fixed>.sqlite3`` (migrated and filled, with a
      progress bar unless ``progress=False``), or reuses it when it was built by this version;
    - starts the slow SMTP server and payment API on free 127.0.0.1 ports, in threads;
    - sets ``DJANGO_SETTINGS_MODULE``, ``HEADROOM_DEMO_DB``, ``HEADROOM_DEMO_FIXED``,
      ``HEADROOM_DEMO_SMTP_PORT``, ``HEADROOM_DEMO_PAYMENT_URL`` and
      ``HEADROOM_DEMO_CACHE_DIR`` in ``os.environ`` (the same as :attr:`DemoEnvironment.env`);
    - calls ``django.setup()`` if Django is not set up, so this process can run checks and
      EXPLAIN against the demo database (a process already on other settings is left alone).

    On exit the servers stop and ``os.environ`` is restored.
    """
    if size not in SIZES:
        raise DemoError(f"unknown demo size {size!r}; choose one of {', '.join(SIZES)}.")
    workdir = Path(workdir).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    database = database_path(workdir, size, fixed)
    if not is_built(database):
        build(database, size=size, fixed=fixed, progress=progress)
    smtp, payment = SlowSMTPServer(), SlowPaymentAPI()
    env = {
        "DJANGO_SETTINGS_MODULE": SETTINGS_MODULE,
        "HEADROOM_DEMO_DB": str(database),
        "HEADROOM_DEMO_FIXED": "1" if fixed else "0",
        "HEADROOM_DEMO_SMTP_PORT": str(smtp.port),
        "HEADROOM_DEMO_PAYMENT_URL": payment.url,
        "HEADROOM_DEMO_CACHE_DIR": str(workdir / f"cache-{size}-{'fixed' if fixed else 'planted'}"),
    }
    saved = {name: os.environ.get(name) for name in env}
    smtp.start()
    payment.start()
    try:
        os.environ.update(env)
        _point_django_at(database, fixed, env)
        yield DemoEnvironment(
            env=dict(env),
            database=database,
            fixed=fixed,
            size=size,
            workdir=workdir,
            smtp=smtp,
            payment=payment,
        )
    finally:
        smtp.stop()
        payment.stop()
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
