"""SQL fingerprints: one statement shape for many executions.

``fingerprint_sql`` keeps placeholders (``%s``, ``%(name)s``, ``?``, ``$1``, ``:name``),
replaces literals with ``?``, collapses ``IN (...)`` lists and multi-row ``VALUES`` lists,
drops comments and squeezes whitespace. The ORM sends the same SQL text again and again, so
:func:`cached_fingerprint` remembers answers by text in a bounded dict: the hot path is one
dict lookup.
"""

from __future__ import annotations

import re

# One pass over the statement: quoted identifiers are kept, strings and numbers become "?",
# comments go. Order matters: a quote inside a comment must not start a string.
_TOKENS = re.compile(
    r"""
    (?P<comment>/\*.*?\*/|--[^\n]*)
    | (?P<ident>"(?:[^"]|"")*"|`[^`]*`|\[[^\]\s]*\])
    | (?P<string>[EeNnBbXx]?'(?:[^'\\]|''|\\.)*')
    | (?P<number>(?<![\w$:%?.])-?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?(?![\w.]))
    """,
    re.VERBOSE | re.DOTALL,
)
_SPACE = re.compile(r"\s+")
# A list of placeholders/literals; after _TOKENS every literal is "?".
_ITEM = r"(?:\?|%s|%\([^)]*\)s|\$\d+|:\w+|NULL|TRUE|FALSE)"
_IN_LIST = re.compile(rf"\bIN\s*\(\s*{_ITEM}(?:\s*,\s*{_ITEM})*\s*\)", re.IGNORECASE)
_ROW = rf"\(\s*{_ITEM}(?:\s*,\s*{_ITEM})*\s*\)"
_VALUES_LIST = re.compile(rf"\bVALUES\s*{_ROW}(?:\s*,\s*{_ROW})*", re.IGNORECASE)


def _replace_token(match: re.Match[str]) -> str:
    kind = match.lastgroup
    if kind == "comment":
        return " "
    if kind == "ident":
        return match.group()
    return "?"


def fingerprint_sql(sql: str) -> str:
    """The shape of ``sql``: literals as ``?``, lists collapsed, whitespace squeezed.

    >>> fingerprint_sql("SELECT * FROM t WHERE id IN (1, 2, 3) AND name = 'x'")
    'SELECT * FROM t WHERE id IN (...) AND name = ?'
    """
    text = _TOKENS.sub(_replace_token, sql)
    text = _SPACE.sub(" ", text).strip()
    text = _IN_LIST.sub("IN (...)", text)
    return _VALUES_LIST.sub("VALUES (...)", text)


#: How many distinct SQL texts to remember. ORM SQL has few shapes; raw SQL with inlined
#: literals can have many, so the cache is emptied when it fills rather than growing.
CACHE_SIZE = 4096
_cache: dict[str, str] = {}


def cached_fingerprint(sql: str) -> str:
    """:func:`fingerprint_sql`, remembered by SQL text."""
    fingerprint = _cache.get(sql)
    if fingerprint is None:
        # Looked up through the module so a test can replace it.
        fingerprint = fingerprint_sql(sql)
        if len(_cache) >= CACHE_SIZE:
            _cache.clear()
        _cache[sql] = fingerprint
    return fingerprint


def clear_cache() -> None:
    """Forget remembered fingerprints."""
    _cache.clear()


_FROM = re.compile(r"""\bFROM\s+["`\[]?([\w.$]+)["`\]]?""", re.IGNORECASE)
_FILTER = re.compile(
    r"""\bWHERE\s+\(*\s*(?:["`\[]?([\w$]+)["`\]]?\.)?["`\[]?([\w$]+)["`\]]?\s*(?:=|IN\b)""",
    re.IGNORECASE,
)


def filtered_column(sql: str) -> tuple[str | None, str | None, str | None]:
    """``(table read, table of the filtered column, filtered column)`` as named in ``sql``:
    the first table after FROM, and the first column compared in WHERE."""
    table = _FROM.search(sql)
    where = _FILTER.search(sql)
    table_name = table.group(1) if table else None
    if where is None:
        return table_name, None, None
    return table_name, where.group(1) or table_name, where.group(2)


def table_and_column(sql: str) -> tuple[str | None, str | None]:
    """The first table read and the first column filtered on, as named in ``sql``."""
    table, _, column = filtered_column(sql)
    return table, column
