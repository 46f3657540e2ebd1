"""Is changing a column from one field to another a widening, and does it rewrite the table?

The allowlist follows what PostgreSQL does without rewriting: a longer varchar, varchar to
text, more numeric precision at the same scale, dropping a CHECK (positive to signed
integers). Widening an integer keeps old code working but rewrites the table.
"""

from __future__ import annotations

from typing import Any, Literal

from django.db import models

Change = Literal["same", "widen", "widen_rewrite", "narrow", "change"]

_VARCHAR = {"CharField", "SlugField", "EmailField", "URLField", "FileField", "FilePathField"}
_INTEGERS = {
    "SmallAutoField": (1, False),
    "SmallIntegerField": (1, False),
    "PositiveSmallIntegerField": (1, True),
    "AutoField": (2, False),
    "IntegerField": (2, False),
    "PositiveIntegerField": (2, True),
    "BigAutoField": (3, False),
    "BigIntegerField": (3, False),
    "PositiveBigIntegerField": (3, True),
}


def kind(fld: models.Field[Any, Any]) -> tuple[Any, ...]:
    internal = fld.get_internal_type()
    if internal in _VARCHAR or internal == "CharField":
        if getattr(fld, "max_length", None) is None:
            return ("text",)
        return ("varchar", fld.max_length)
    if internal == "TextField":
        return ("text",)
    if internal in _INTEGERS:
        rank, positive = _INTEGERS[internal]
        return ("int", rank, positive)
    if internal == "DecimalField":
        return ("numeric", fld.max_digits, fld.decimal_places)  # type: ignore[attr-defined]
    if internal in ("ForeignKey", "OneToOneField"):
        remote = fld.remote_field
        target = remote.model if remote is not None else None
        label = target.lower() if isinstance(target, str) else repr(target)
        return ("relation", label, getattr(remote, "field_name", None))
    path = fld.deconstruct()[1]
    return (internal, path, getattr(fld, "max_length", None))


def classify(old: models.Field[Any, Any], new: models.Field[Any, Any]) -> Change:
    """How the column type changes between ``old`` and ``new``."""
    a, b = kind(old), kind(new)
    if getattr(old, "db_collation", None) != getattr(new, "db_collation", None):
        return "change"
    if a == b:
        return "same"
    if a[0] == "varchar" and b[0] == "varchar":
        return "widen" if b[1] > a[1] else "narrow"
    if a[0] == "varchar" and b[0] == "text":
        return "widen"
    if a[0] == "text" and b[0] == "varchar":
        return "narrow"
    if a[0] == "int" and b[0] == "int":
        (_, rank_a, pos_a), (_, rank_b, pos_b) = a, b
        if rank_b < rank_a or (pos_b and not pos_a):
            return "narrow"
        return "widen_rewrite" if rank_b > rank_a else "widen"
    if a[0] == "numeric" and b[0] == "numeric":
        (_, digits_a, places_a), (_, digits_b, places_b) = a, b
        whole_a, whole_b = digits_a - places_a, digits_b - places_b
        if places_b == places_a and digits_b >= digits_a:
            return "widen"
        if places_b >= places_a and whole_b >= whole_a:
            return "widen_rewrite"
        return "narrow"
    if a[0] == "int" and b[0] == "numeric":
        return "widen_rewrite" if b[1] - b[2] >= 19 else "narrow"
    return "change"
