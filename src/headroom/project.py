"""Which code is the project's own: where a finding points, which apps' migrations to lint.

A stack frame, template or app is "project code" when its file lies under one of the project
paths (``HEADROOM["PROJECT_PATHS"]``, else ``settings.BASE_DIR``, else the directory holding
the settings module's package) and not in an installed library (site-packages), the standard
library, or django-headroom itself (its bundled demo excepted, so the demo's findings point
at the demo's code).
"""

from __future__ import annotations

import functools
import os
import sys
import sysconfig
from pathlib import Path

_HEADROOM_DIR = os.path.dirname(os.path.abspath(__file__))
_DEMO_DIR = os.path.join(_HEADROOM_DIR, "demo")


def _library_dirs() -> tuple[str, ...]:
    dirs = set()
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        path = sysconfig.get_paths().get(key)
        if path:
            dirs.add(os.path.abspath(path))
    return tuple(sorted(dirs))


@functools.cache
def project_paths() -> tuple[str, ...]:
    """The absolute directories that hold the project's own code."""
    from django.conf import settings

    from headroom.conf import conf

    if conf.PROJECT_PATHS:
        return tuple(os.path.abspath(p) for p in conf.PROJECT_PATHS)
    base_dir = getattr(settings, "BASE_DIR", None)
    if base_dir:
        return (os.path.abspath(str(base_dir)),)
    module = os.environ.get("DJANGO_SETTINGS_MODULE", "")
    top = module.split(".")[0]
    mod = sys.modules.get(top)
    if mod is not None and getattr(mod, "__file__", None):
        return (str(Path(str(mod.__file__)).resolve().parent.parent),)
    return (os.getcwd(),)


def _under(path: str, directory: str) -> bool:
    return path == directory or path.startswith(directory.rstrip(os.sep) + os.sep)


@functools.cache
def is_project_file(filename: str) -> bool:
    """Whether ``filename`` (as in a code object's ``co_filename``) is the project's code."""
    if not filename or filename.startswith("<"):
        return False
    path = os.path.abspath(filename)
    if _under(path, _HEADROOM_DIR) and not _under(path, _DEMO_DIR):
        return False
    if not any(_under(path, p) for p in project_paths()):
        return False
    # A virtualenv inside the project directory is still somebody else's code.
    return not any(_under(path, lib) for lib in _library_dirs()) or _under(path, _DEMO_DIR)


@functools.cache
def display_path(filename: str) -> str:
    """``filename`` as a user reads it: relative to the working directory when under it, else
    relative to the ``sys.path`` entry it was imported from (``shop/views.py``)."""
    path = os.path.abspath(filename)
    cwd = os.getcwd()
    if _under(path, cwd):
        return os.path.relpath(path, cwd)
    best = ""
    for entry in sys.path:
        entry = os.path.abspath(entry or cwd)
        if _under(path, entry) and len(entry) > len(best):
            best = entry
    return os.path.relpath(path, best) if best else path


def clear_caches() -> None:
    """Forget cached answers (tests that change PROJECT_PATHS call this)."""
    project_paths.cache_clear()
    is_project_file.cache_clear()
    display_path.cache_clear()


def _on_setting_changed(*, setting: str, **kwargs: object) -> None:
    if setting in ("HEADROOM", "BASE_DIR"):
        clear_caches()


def _connect() -> None:
    from django.core.signals import setting_changed

    setting_changed.connect(_on_setting_changed, dispatch_uid="headroom.project")


_connect()
