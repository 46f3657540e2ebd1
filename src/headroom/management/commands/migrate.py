"""``manage.py migrate`` with the headroom guard: refuses migrations with lint errors.

Django's own migrate command, plus ``--headroom-allow``. See
:mod:`headroom.migrationlint.guard` for why the check hangs on ``pre_migrate``.
"""

from __future__ import annotations

from typing import Any

from django.core.management.commands.migrate import Command as DjangoMigrateCommand
from django.db.models.signals import pre_migrate

_DISPATCH_UID = "headroom.migrationlint.guard"


class Command(DjangoMigrateCommand):
    help = DjangoMigrateCommand.help + (
        " With django-headroom, migrations with migration-lint errors are refused unless "
        "--headroom-allow is given."
    )

    def add_arguments(self, parser: Any) -> None:
        super().add_arguments(parser)
        parser.add_argument(
            "--headroom-allow",
            action="store_true",
            help="Apply migrations even when headroom's migration linter finds errors in them.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        from headroom.conf import conf
        from headroom.migrationlint.guard import PlanGuard

        if options.get("fake"):
            super().handle(*args, **options)
            return
        refuse = conf.MIGRATION_GUARD and not options.get("headroom_allow")
        guard = PlanGuard(refuse=refuse, warn=lambda text: self.stderr.write(text))
        pre_migrate.connect(guard, dispatch_uid=_DISPATCH_UID, weak=False)
        try:
            super().handle(*args, **options)
        finally:
            pre_migrate.disconnect(dispatch_uid=_DISPATCH_UID)
