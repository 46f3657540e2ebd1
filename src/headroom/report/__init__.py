"""Renderers of the doctor's report: terminal, one self-contained HTML file, and JSON."""

from __future__ import annotations
