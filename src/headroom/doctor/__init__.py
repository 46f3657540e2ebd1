"""``headroom doctor``: serve the project, load it step by step, and explain what broke."""

from __future__ import annotations
