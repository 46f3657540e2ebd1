from __future__ import annotations

import pytest

from tests import services


@pytest.fixture
def postgres() -> str:
    """The ``postgres`` database alias, after making sure PostgreSQL answers."""
    services.require("postgresql")
    return "postgres"


@pytest.fixture
def mariadb() -> str:
    """The ``mariadb`` database alias, after making sure MariaDB answers and a MySQL driver
    (the ``mysql`` extra: PyMySQL) is installed."""
    services.require("mariadb")
    try:
        import MySQLdb  # noqa: F401
    except ImportError:
        reason = "no MySQL driver: pip install 'django-headroom[mysql]' (PyMySQL)"
        if services.services_required():
            pytest.fail(f"{reason} and HEADROOM_REQUIRE_SERVICES=1", pytrace=False)
        pytest.skip(reason)
    return "mariadb"
