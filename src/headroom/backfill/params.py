"""Typed parameters of a backfill: ``since = Param(datetime.date, help="...")``.

Values come from the command line (``--param since=2024-01-31``) or from Python, are parsed
by their type, and are kept with the run (``BackfillRun.params``) so that a resumed run, or a
Celery worker, rebuilds the same backfill.
"""

from __future__ import annotations

import datetime
import decimal
import math
import uuid
from collections.abc import Callable
from typing import Any

_MISSING: Any = object()


def _parse_bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"{text!r} is not a boolean (use true or false)")


_PARSERS: dict[Any, Callable[[str], Any]] = {
    bool: _parse_bool,
    int: int,
    float: float,
    str: str,
    decimal.Decimal: decimal.Decimal,
    uuid.UUID: uuid.UUID,
    datetime.date: datetime.date.fromisoformat,
    datetime.datetime: datetime.datetime.fromisoformat,
}

#: What a value of each built-in type looks like, for the message when one does not parse:
#: Python's own (``[<class 'decimal.ConversionSyntax'>]``) does not say what was expected.
_EXPECTED: dict[Any, str] = {
    int: "a whole number",
    float: "a number",
    decimal.Decimal: "a decimal number",
    uuid.UUID: "a UUID",
    datetime.date: "a date (YYYY-MM-DD)",
    datetime.datetime: "a date and time (YYYY-MM-DDTHH:MM:SS)",
}


class Param:
    """A typed parameter, declared as a class attribute of a :class:`Backfill`.

    ``type`` is one of bool, int, float, str, Decimal, UUID, date, datetime, or any callable
    taking the command-line text. Without ``default`` the parameter is required.
    """

    def __init__(self, type: Any = str, *, default: Any = _MISSING, help: str = "") -> None:
        self.type = type
        self.default = default
        self.help = help
        self.name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @property
    def required(self) -> bool:
        return self.default is _MISSING

    def parse(self, value: Any) -> Any:
        """``value`` (text from the command line or JSON, or already typed) as ``type``."""
        if value is None:
            return None
        if (
            isinstance(self.type, type)
            and isinstance(value, self.type)
            and not (self.type is int and isinstance(value, bool))
        ):
            return value
        parser = _PARSERS.get(self.type, self.type)
        text = str(value) if self.type is not str else value
        try:
            parsed = parser(text)
        except Exception as exc:  # a user's callable may raise anything (a KeyError, say)
            expected = _EXPECTED.get(self.type)
            # A user's callable (and the bool parser) words its own message.
            problem = (
                f"{text!r} is not {expected}"
                if expected
                else str(exc)
                if isinstance(exc, ValueError)
                else f"{type(exc).__name__}: {exc}"
            )
            raise ValueError(f"parameter {self.name!r}: {problem}") from exc
        if self.type in (float, decimal.Decimal) and not math.isfinite(parsed):
            # float() and Decimal() take "nan" and "inf", which no batch can compute with.
            raise ValueError(f"parameter {self.name!r}: {text!r} is not a finite number")
        return parsed

    def to_json(self, value: Any) -> Any:
        if value is None or isinstance(value, (bool, int, float, str)):
            return value
        if isinstance(value, (datetime.date, datetime.datetime)):
            return value.isoformat()
        return str(value)

    def describe(self) -> str:
        kind = getattr(self.type, "__name__", str(self.type))
        default = "required" if self.required else f"default {self.default!r}"
        return f"{self.name} ({kind}, {default})" + (f": {self.help}" if self.help else "")

    def __get__(self, instance: Any, owner: type | None = None) -> Any:
        if instance is None:
            return self
        values: dict[str, Any] = instance.__dict__.get("_param_values", {})
        if self.name in values:
            return values[self.name]
        if self.required:
            raise AttributeError(f"parameter {self.name!r} was not given")
        return self.default
