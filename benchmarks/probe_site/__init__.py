"""The site benchmarks/probe_overhead.py serves: one page of 20 queries and a template.

``BENCH_VARIANT`` picks what is measured: ``bare``, ``probe``, ``prometheus`` or ``silk``.
"""
