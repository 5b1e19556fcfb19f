"""Parse the numbers creator exports actually contain, as polars expressions.

``12.3K``, ``1.2M``, ``2.1B``, ``475.8m``, ``0.89k``, ``1,234``, ``5e+06``,
``477900000.00``, ``3.4%`` and, in decimal-comma files, ``12,5%`` / ``1.234.567``.
Placeholders (``N/A``, ``N/A'``, ``-``, ``#VALOR!``, ``#N/A``, ``unknown``, empty) become
null. A value that is present but not a number is *flagged*, never silently nulled: the
caller routes it to quarantine with its raw text.
"""

from __future__ import annotations

from typing import NamedTuple

import polars as pl

PLACEHOLDERS: tuple[str, ...] = (
    "",
    "n/a",
    "n/a'",
    "na",
    "n.a.",
    "-",
    "--",
    "—",
    "–",
    "#valor!",
    "#value!",
    "#n/a",
    "#n/d",
    "#div/0!",
    "#ref!",
    "#null!",
    "unknown",
    "null",
    "none",
    "nil",
    "?",
)

# sign, mantissa, exponent, then an optional K/M/B suffix and an optional percent sign
_NUMBER_RE = r"^([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:e[+-]?\d+)?)([kmb]?)(%?)$"
_SUFFIX = {"": 1.0, "k": 1e3, "m": 1e6, "b": 1e9}


class ParsedNumber(NamedTuple):
    value: pl.Expr  # Float64, null for placeholders and failures
    is_percent: pl.Expr  # Boolean: the text carried a % sign
    is_invalid: pl.Expr  # Boolean: text present, not a placeholder, not a number


def is_placeholder(text: pl.Expr) -> pl.Expr:
    """True where a cell is empty or one of the known 'no value' placeholders."""
    low = text.str.strip_chars().str.to_lowercase()
    return low.is_null() | low.is_in(PLACEHOLDERS)


def parse_number(text: pl.Expr, *, decimal_comma: bool = False) -> ParsedNumber:
    low = text.str.strip_chars().str.to_lowercase()
    placeholder = low.is_null() | low.is_in(PLACEHOLDERS)
    if decimal_comma:
        # 1.234.567 -> 1234567 ; 12,5% -> 12.5%
        cleaned = low.str.replace_all(r"[\s._'$€£]", "").str.replace(",", ".", literal=True)
    else:
        # 1,234 -> 1234 ; thin/no-break spaces and currency signs dropped
        cleaned = low.str.replace_all(r"[\s,_'$€£]", "")
    parts = cleaned.str.extract_groups(_NUMBER_RE)
    mantissa = parts.struct.field("1").cast(pl.Float64, strict=False)
    multiplier = parts.struct.field("2").replace_strict(_SUFFIX, default=None, return_dtype=pl.Float64)
    raw_value = mantissa * multiplier
    finite = raw_value.is_finite().fill_null(False)
    value = pl.when(placeholder | ~finite).then(None).otherwise(raw_value)
    is_percent = parts.struct.field("3") == "%"
    is_invalid = (~placeholder) & ~finite
    return ParsedNumber(value=value, is_percent=is_percent.fill_null(False), is_invalid=is_invalid)
