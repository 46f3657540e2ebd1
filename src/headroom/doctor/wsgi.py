"""The WSGI application ``headroom doctor`` serves: the project's own, with the probe first.

gunicorn loads ``headroom.doctor.wsgi:application``. Before the project's WSGI module builds
its handler, the probe is put at the front of ``settings.MIDDLEWARE`` (when the project has
not installed it already), so a doctor run needs no change to the project's settings. The
project's module is then imported as usual, keeping whatever it wraps the handler in.
"""

from __future__ import annotations

import importlib
import os

from django.conf import settings

PROBE = "headroom.probe.ProbeMiddleware"

_target = os.environ["HEADROOM_WSGI_APPLICATION"]  # e.g. "mysite.wsgi:application"
if PROBE not in settings.MIDDLEWARE:
    settings.MIDDLEWARE = [PROBE, *settings.MIDDLEWARE]
_module, _, _attribute = _target.partition(":")
application = getattr(importlib.import_module(_module), _attribute or "application")
