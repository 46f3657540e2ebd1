from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.conf import settings
from django.test import override_settings

LINTCASES = "tests.migrationlint.lintcases"


@pytest.fixture
def lintcases() -> Iterator[None]:
    """The test project with the ``lintcases`` app installed, linted by PostgreSQL rules."""
    apps = [*settings.INSTALLED_APPS, LINTCASES]
    with override_settings(INSTALLED_APPS=apps, HEADROOM={"MIGRATION_LINT_VENDOR": "postgresql"}):
        yield
