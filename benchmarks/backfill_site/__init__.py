"""The Django project ``benchmarks/backfill.py`` runs: one wide-ish table and its backfill."""
