from __future__ import annotations

import pytest

from tests import services


@pytest.fixture
def postgres() -> str:
    """The ``postgres`` database alias, after making sure PostgreSQL answers."""
    services.require("postgresql")
    return "postgres"
