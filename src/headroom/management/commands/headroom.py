"""``manage.py headroom <verb>``: the same CLI as the ``headroom`` console script."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "django-headroom: run `manage.py headroom --help` for its verbs."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("args", nargs=argparse.REMAINDER)

    def run_from_argv(self, argv: list[str]) -> None:
        # Django has already applied --settings/--pythonpath; the verbs parse the rest.
        from headroom.cli import main

        sys.exit(main(argv[2:], django_ready=True))

    def handle(self, *args: Any, **options: Any) -> None:
        # call_command("headroom", "doctor", "--json") lands here.
        from headroom.cli import main

        code = main(list(args), django_ready=True)
        if code:
            sys.exit(code)
