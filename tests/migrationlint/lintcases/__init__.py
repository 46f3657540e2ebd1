"""A test project app whose migrations are one unsafe and one safe example per rule.

Each migration is named after the case it shows (``0002_hr101_bad``, ``0003_hr101_safe``);
the chain is linear so every case is judged against the state the earlier ones left.
It is only installed by the migrationlint tests (``override_settings``), never migrated.
"""
