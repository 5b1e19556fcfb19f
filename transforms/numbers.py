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


def _case_variants(word: str) -> set[str]:
    out = {""}
    for ch in word:
        out = {prefix + v for prefix in out for v in {ch.lower(), ch.upper()}}
    return out


# Every upper/lower-case spelling of every placeholder, so a lookup needs no lower-casing
# of the whole column (which would copy every string).
PLACEHOLDER_SPELLINGS: tuple[str, ...] = tuple(
    sorted({v for p in PLACEHOLDERS for v in _case_variants(p)})
)


def is_placeholder(text: pl.Expr) -> pl.Expr:
    """True where a cell is empty or one of the known 'no value' placeholders."""
    stripped = text.str.strip_chars()
    return stripped.is_null() | stripped.is_in(PLACEHOLDER_SPELLINGS)


def plain_number_columns(df: pl.DataFrame, columns: list[str]) -> frozenset[str]:
    """Columns whose every present value is already a plain finite number (``1234``,
    ``-5.5``): they need no quirk parsing, a straight cast is exact. One cheap pass."""
    if not columns:
        return frozenset()
    checks = df.select(
        [
            (
                pl.col(c).is_not_null()
                & ~pl.col(c).cast(pl.Float64, strict=False).is_finite().fill_null(False)
            )
            .any()
            .alias(c)
            for c in columns
        ]
    ).row(0, named=True)
    return frozenset(c for c, has_other in checks.items() if not has_other)


def parse_number(
    text: pl.Expr, *, decimal_comma: bool = False, plain: bool = False
) -> ParsedNumber:
    if plain:  # known to hold only plain finite numbers (see plain_number_columns)
        return ParsedNumber(text.cast(pl.Float64), pl.lit(False), pl.lit(False))
    placeholder = is_placeholder(text)
    low = text.str.strip_chars().str.to_lowercase()
    if decimal_comma:
        # 1.234.567 -> 1234567 ; 12,5% -> 12.5%
        cleaned = low.str.replace_all(r"[\s._'$€£]", "").str.replace(",", ".", literal=True)
    else:
        # 1,234 -> 1234 ; thin/no-break spaces and currency signs dropped
        cleaned = low.str.replace_all(r"[\s,_'$€£]", "")
    parts = cleaned.str.extract_groups(_NUMBER_RE)
    mantissa = parts.struct.field("1").cast(pl.Float64, strict=False)
    multiplier = parts.struct.field("2").replace_strict(
        _SUFFIX, default=None, return_dtype=pl.Float64
    )
    raw_value = mantissa * multiplier
    finite = raw_value.is_finite().fill_null(False)
    value = pl.when(placeholder | ~finite).then(None).otherwise(raw_value)
    is_percent = parts.struct.field("3") == "%"
    is_invalid = (~placeholder) & ~finite
    return ParsedNumber(value=value, is_percent=is_percent.fill_null(False), is_invalid=is_invalid)


def rate_in_points(df: pl.DataFrame, column: str | None, decimal_comma: bool = False) -> bool:
    """Whether the bare numbers of a rate column are percentage points (3.4 = 3.4%), decided
    for the whole column: any bare value above 1 means points (0.8 is then 0.8%). Values
    written with % are points either way; Excel's percent cells arrive as fractions."""
    if column is None:
        return False
    p = parse_number(pl.col(column), decimal_comma=decimal_comma)
    biggest = df.select(p.value.filter(~p.is_percent).max()).item()
    return biggest is not None and biggest > 1
