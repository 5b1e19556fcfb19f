"""Parse the numbers creator exports actually contain, as polars expressions.

A column's number format is decided once, from the evidence of the whole column (see
``decide_number_format``), then every cell is parsed with that format:

* thousands separators ``,`` ``.`` space, NBSP, narrow NBSP, thin space, ``'`` and ``’``
  (groups of three digits, or the Indian 1,23,456);
* decimal point or decimal comma, also before a suffix (``1,2M``, ``12,5K``) or a percent
  sign (``3,5 %``), and fractions (``0,035``);
* suffixes and words: ``K M B``, ``Mio.``, ``Mrd.``, ``mln``, ``bn``, ``тыс.``, ``млн``,
  ``万``, ``億``, ``lakh``, ``crore``, ``mil`` (thousand in Spanish and Portuguese, read only
  where the column has a decimal comma: ``1.2 mil`` in an English file is refused);
* ``~50k`` and ``10K+`` (read as 50,000 and 10,000); non-ASCII digits (``١٢٣``, ``１２３``);
  ``5e+06``, ``477900000.00``.

Placeholders (``N/A``, ``N/A'``, ``-``, ``#VALOR!``, ``#N/A``, ``unknown``, empty) become
null. A value that is present but not a number is *flagged*, never silently nulled: the
caller routes it to quarantine with its raw text. A value whose separator reads both ways in
a column whose format the evidence does not decide (``1.234`` = 1234 or 1.234) is flagged
``is_ambiguous``: quarantined, never guessed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, NamedTuple

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

Decimal = Literal[".", ","]

# multiplier words, lower case; "mil" is decided by the column's decimal separator
SUFFIXES: dict[str, float] = {
    "": 1.0,
    "k": 1e3,
    "m": 1e6,
    "b": 1e9,
    "mm": 1e6,
    "mn": 1e6,
    "mln": 1e6,
    "mio": 1e6,
    "mio.": 1e6,
    "mill.": 1e6,
    "million": 1e6,
    "millions": 1e6,
    "mi": 1e6,
    "bn": 1e9,
    "mrd": 1e9,
    "mrd.": 1e9,
    "billion": 1e9,
    "billions": 1e9,
    "thousand": 1e3,
    "tsd": 1e3,
    "tsd.": 1e3,
    "тыс": 1e3,
    "тыс.": 1e3,
    "млн": 1e6,
    "млн.": 1e6,
    "млрд": 1e9,
    "млрд.": 1e9,
    "千": 1e3,
    "万": 1e4,
    "萬": 1e4,
    "億": 1e8,
    "亿": 1e8,
    "lakh": 1e5,
    "lac": 1e5,
    "crore": 1e7,
    "cr": 1e7,
}
THOUSANDS_WORDS = ("mil",)  # thousand where the decimal separator is a comma (es, pt)

# Unicode decimal digits other than 0-9 -> ASCII (Arabic-Indic, Persian, Devanagari,
# Bengali, Thai, full-width ...): every Nd block whose zero is listed here
_DIGIT_ZEROS: tuple[int, ...] = (0x0660, 0x06F0, 0x07C0, 0x0966, 0x09E6, 0x0A66, 0x0AE6)
_DIGIT_ZEROS += (0x0B66, 0x0BE6, 0x0C66, 0x0CE6, 0x0D66, 0x0E50, 0x0ED0, 0x0F20, 0x1040)
_DIGIT_ZEROS += (0x17E0, 0x1810, 0xFF10)
UNICODE_DIGITS: dict[str, str] = {chr(zero + d): str(d) for zero in _DIGIT_ZEROS for d in range(10)}
_SPACES = "\\s\u00a0\u202f\u2009"  # \s is Unicode-aware; the rest are listed for the reader
_APPROX = r"(?:~|≈|ca\.?|approx\.?|about)?"
# approx prefix, currency, body (digits and separators), exponent, suffix word, +, %
_NUMBER_RE = (
    rf"^{_APPROX}[{_SPACES}]*[$€£¥₹]?[{_SPACES}]*"
    rf"([+-]?(?:[0-9][0-9.,'’{_SPACES}]*|[.,][0-9]+))"
    r"(e[+-]?[0-9]+)?"
    rf"[{_SPACES}]*([^0-9{_SPACES}%+]*)[{_SPACES}]*(\+?)[{_SPACES}]*(%?)$"
)


def _grouped(thousands: str, decimal: str) -> str:
    """The body of a number with the given separators (a regex, anchored)."""
    d = "\\" + decimal
    t = f"[{thousands}]"
    western = rf"[0-9]{{1,3}}(?:{t}[0-9]{{3}})+"
    indian = rf"[0-9]{{1,2}}(?:{t}[0-9]{{2}})+{t}[0-9]{{3}}"  # 12,34,567
    int_part = rf"(?:{western}|{indian}|[0-9]+)"
    return rf"^[+-]?(?:{int_part}(?:{d}[0-9]*)?|{d}[0-9]+)$"


_THOUSANDS = {".": rf",'’{_SPACES}", ",": rf".'’{_SPACES}"}
BODY_RE = {d: _grouped(_THOUSANDS[d], d) for d in (".", ",")}

# ---- evidence patterns, on a cell with spaces removed and lower-cased ----------------
# a separator that can only be a decimal one: followed by 1-2 or 4+ digits, after a
# leading 0 or a group of 4+ digits, before a multiplier suffix, or the last of two kinds
_SUFFIX_CLASS = r"[a-zа-я\p{Han}]"


def _decimal_evidence(sep: str, other: str) -> str:
    s, o = "\\" + sep, "\\" + other
    return (
        rf"[0-9]{s}[0-9]{{1,2}}(?:[^0-9]|$)|[0-9]{s}[0-9]{{4,}}|^[+-]?0{s}[0-9]|^[+-]?{s}[0-9]"
        rf"|[0-9]{{4,}}{s}[0-9]|[0-9]{s}[0-9]+{_SUFFIX_CLASS}|{o}[0-9]{{3}}{s}[0-9]|{o}[0-9]+{o}[0-9]"
    )


DECIMAL_EVIDENCE = {".": _decimal_evidence(".", ","), ",": _decimal_evidence(",", ".")}
# one separator followed by exactly three digits and nothing else: reads both ways
AMBIGUOUS = {
    ".": r"^[+-]?[1-9][0-9]{0,2}\.[0-9]{3}%?$",
    ",": r"^[+-]?[1-9][0-9]{0,2},[0-9]{3}%?$",
}


class ParsedNumber(NamedTuple):
    value: pl.Expr  # Float64, null for placeholders and failures
    is_percent: pl.Expr  # Boolean: the text carried a % sign
    is_invalid: pl.Expr  # Boolean: text present, not a placeholder, not a number
    is_ambiguous: pl.Expr = pl.lit(False)  # Boolean: its separator reads both ways


@dataclass(frozen=True)
class NumberFormat:
    """How a column writes its numbers. ``decimal`` None: undecided (a separator followed by
    three digits is then ambiguous and flagged)."""

    decimal: Decimal | None = "."
    non_ascii_digits: bool = False
    plain: bool = False  # every present value is a plain number: a straight cast is exact

    def describe(self) -> str:
        if self.plain:
            return "plain numbers"
        if self.decimal is None:
            return "undecided decimal separator"
        name = {".": "decimal point", ",": "decimal comma"}[self.decimal]
        thousands = {".": "',' or space", ",": "'.' or space"}[self.decimal]
        return f"{name} ({thousands} thousands)"


DOT = NumberFormat(".")
COMMA = NumberFormat(",")


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


def ascii_digits(text: pl.Expr) -> pl.Expr:
    """Non-ASCII decimal digits (``١٢٣``, ``１２３``, ``१२३``) as 0-9."""
    return text.str.replace_many(list(UNICODE_DIGITS), list(UNICODE_DIGITS.values()))


def plain_number_columns(df: pl.DataFrame, columns: list[str]) -> frozenset[str]:
    """Columns whose every present value is already a plain finite number (``1234``,
    ``-5.5``): they need no quirk parsing, a straight cast is exact. One cheap pass.
    (Whether ``12.345`` there is a decimal is for ``decide_number_format`` to say.)"""
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


def number_parts(text: pl.Expr, fmt: NumberFormat) -> pl.Expr:
    """The pieces of each cell (body, exponent, suffix, plus, percent) as one struct: worth
    computing once as a column of its own (``parse_number(parts=...)``), since every
    ``struct.field`` of an expression evaluates the expression again."""
    low = text.str.strip_chars().str.to_lowercase()
    if fmt.non_ascii_digits:
        low = ascii_digits(low)
    return low.str.extract_groups(_NUMBER_RE)


def parse_number(
    text: pl.Expr,
    *,
    decimal_comma: bool = False,
    plain: bool = False,
    fmt: NumberFormat | None = None,
    parts: pl.Expr | None = None,
) -> ParsedNumber:
    """Parse ``text`` with the column's format (``fmt``; else decimal point, or decimal
    comma with ``decimal_comma``); ``parts``: ``number_parts`` of it, already computed."""
    if fmt is None:
        fmt = NumberFormat("," if decimal_comma else ".", plain=plain)
    if fmt.plain:  # known to hold only plain finite numbers (see plain_number_columns)
        return ParsedNumber(text.cast(pl.Float64), pl.lit(False), pl.lit(False))
    placeholder = is_placeholder(text)
    if parts is None:
        parts = number_parts(text, fmt)
    body = parts.struct.field("1").str.strip_chars()
    exponent = parts.struct.field("2").fill_null("")
    suffix = parts.struct.field("3").fill_null("")
    decimal = fmt.decimal or "."
    well_formed = body.str.contains(BODY_RE[decimal])
    digits = body.str.replace_all(f"[{_THOUSANDS[decimal]}]", "")
    if decimal == ",":
        digits = digits.str.replace(",", ".", literal=True)
    mantissa = pl.when(well_formed).then(pl.concat_str(digits, exponent)).cast(pl.Float64)
    words = dict(SUFFIXES)
    if decimal == ",":
        words.update(dict.fromkeys(THOUSANDS_WORDS, 1e3))
    multiplier = suffix.replace_strict(words, default=None, return_dtype=pl.Float64)
    ambiguous = pl.lit(False)
    if fmt.decimal is None:  # a separator in this column reads both ways: refuse the cell
        ambiguous = body.str.contains("[.,]").fill_null(False) & ~placeholder
    raw_value = mantissa * multiplier
    finite = raw_value.is_finite().fill_null(False)
    value = pl.when(placeholder | ~finite | ambiguous).then(None).otherwise(raw_value)
    is_percent = parts.struct.field("5") == "%"
    is_invalid = (~placeholder) & ~finite & ~ambiguous
    return ParsedNumber(
        value=value,
        is_percent=is_percent.fill_null(False),
        is_invalid=is_invalid,
        is_ambiguous=ambiguous,
    )


def rate_in_points(
    df: pl.DataFrame,
    column: str | None,
    decimal_comma: bool = False,
    fmt: NumberFormat | None = None,
) -> bool:
    """Whether the bare numbers of a rate column are percentage points (3.4 = 3.4%), decided
    for the whole column: any bare value above 1 means points (0.8 is then 0.8%). Values
    written with % are points either way; Excel's percent cells arrive as fractions."""
    if column is None:
        return False
    p = parse_number(pl.col(column), decimal_comma=decimal_comma, fmt=fmt)
    biggest = df.select(p.value.filter(~p.is_percent).max()).item()
    return biggest is not None and biggest > 1
