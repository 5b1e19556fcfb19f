"""Column evidence: what the whole column and file say about a column, as typed decisions.

Pure functions over the file's cells (String columns ``c0..cN``): no IO, no Prefect.

* ``number_formats``: each numeric column's decimal separator, decided from its own values
  (a separator followed by one, two or four+ digits, after a leading 0, before a suffix, or
  the last of two kinds is a decimal one), else from the column's meaning (a follower count
  has no fraction, so ``12.345`` there is twelve thousand), else from the file's other
  numeric columns, else from the delimiter (``;`` files come from decimal-comma locales, ``,``
  files from decimal-point ones). A column with evidence both ways, or none, is undecided:
  its ambiguous cells are quarantined, never guessed.
* ``meaning_checks`` (see ``transforms.meaning``): interaction columns plausible together,
  lifetime totals told apart from per-post averages.

Each decision is a ``ColumnDecision``; ``line()`` is what the manifest shows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import polars as pl

from schemas.manifest import ColumnDecision
from transforms.numbers import (
    AMBIGUOUS,
    DECIMAL_EVIDENCE,
    Decimal,
    NumberFormat,
    ascii_digits,
    is_placeholder,
)

INTEGRAL_FIELDS = frozenset({"followers"})  # counts of people: never a fraction
DELIMITER_DECIMAL: dict[str, Decimal] = {";": ",", ",": "."}


@dataclass(frozen=True)
class NumberEvidence:
    present: int
    decimal_point: int  # values whose '.' can only be a decimal point
    decimal_comma: int  # values whose ',' can only be a decimal comma
    ambiguous_point: int  # values like 1.234 (one '.', three digits after it)
    ambiguous_comma: int  # values like 1,234
    examples: Mapping[str, str | None]  # one value per kind above
    non_ascii_digits: bool

    def own_decimal(self) -> Decimal | str | None:
        """'.' / ',' when the values decide it, 'mixed' when they say both, None when not."""
        if self.decimal_point and self.decimal_comma:
            return "mixed"
        if self.decimal_point:
            return "."
        if self.decimal_comma:
            return ","
        return None

    @property
    def ambiguous(self) -> int:
        return self.ambiguous_point + self.ambiguous_comma


KINDS = {
    "decimal_point": DECIMAL_EVIDENCE["."],
    "decimal_comma": DECIMAL_EVIDENCE[","],
    "ambiguous_point": AMBIGUOUS["."],
    "ambiguous_comma": AMBIGUOUS[","],
}


def _column_evidence(values: pl.Series) -> NumberEvidence:
    """Evidence of one column, from its distinct values weighted by their counts (number
    columns of exports repeat their few hundred formatted values over millions of rows)."""
    counts = values.value_counts(name="n").filter(~is_placeholder(pl.col(values.name)))
    text = pl.col(values.name).str.to_lowercase().str.replace_all(r"[\s'’]", "")
    non_ascii = bool(counts.select(text.str.contains(r"[\d&&[^0-9]]").any()).item())
    if non_ascii:
        text = ascii_digits(text)
    row = counts.select(
        present=pl.col("n").sum(),
        **{
            k: pl.col("n").filter(text.str.contains(p).fill_null(False)).sum()
            for k, p in KINDS.items()
        },
        **{
            f"{k}_ex": text.filter(text.str.contains(p).fill_null(False)).sort().first()
            for k, p in KINDS.items()
        },
    ).row(0, named=True)
    return NumberEvidence(
        present=int(row["present"] or 0),
        **{k: int(row[k] or 0) for k in KINDS},
        examples={k: row[f"{k}_ex"] for k in KINDS},
        non_ascii_digits=non_ascii,
    )


def number_evidence(cells: pl.DataFrame, columns: Sequence[str]) -> dict[str, NumberEvidence]:
    """Separator evidence of each column, over every row of it."""
    return {c: _column_evidence(cells.get_column(c)) for c in columns}


def _explain(ev: NumberEvidence) -> str:
    parts = []
    for kind, label in (
        ("decimal_point", "with a decimal point"),
        ("decimal_comma", "with a decimal comma"),
        ("ambiguous_point", "that read both ways"),
        ("ambiguous_comma", "that read both ways"),
    ):
        n = getattr(ev, kind)
        if n:
            parts.append(f"{n} of {ev.present} values {label} (e.g. {ev.examples[kind]!r})")
    return "; ".join(parts) or f"{ev.present} values, no separators"


def decide_number_format(
    ev: NumberEvidence,
    *,
    integral: bool,
    others: Sequence[Decimal],
    delimiter: str | None,
    forced: Decimal | None = None,
) -> tuple[NumberFormat, str]:
    """(format, why) for one column; ``others``: the decimals the file's other numeric
    columns decided by their own values; ``forced``: the user's mapping file says."""
    digits = ev.non_ascii_digits
    if forced:
        return NumberFormat(forced, digits), "set in the mapping file"
    own = ev.own_decimal()
    why = _explain(ev)
    if own in (".", ","):
        return NumberFormat(own, digits), why  # type: ignore[arg-type]
    if own == "mixed":
        return NumberFormat(None, digits), f"{why}: both kinds in one column"
    if not ev.ambiguous:
        return NumberFormat(".", digits), why
    if integral:
        # 12.345 followers: a count has no fraction, so the separator groups thousands
        decimal: Decimal = "," if ev.ambiguous_point and not ev.ambiguous_comma else "."
        if ev.ambiguous_point and ev.ambiguous_comma:
            return NumberFormat(None, digits), f"{why}: both '.' and ',' groups"
        return NumberFormat(decimal, digits), f"{why}; a count has no fraction: thousands"
    agreed = set(others)
    if len(agreed) == 1:
        (decimal,) = agreed
        return NumberFormat(
            decimal, digits
        ), f"{why}; the file's other numeric columns use {decimal!r}"
    if not agreed and delimiter in DELIMITER_DECIMAL:
        decimal = DELIMITER_DECIMAL[delimiter]
        return NumberFormat(decimal, digits), f"{why}; the file is {delimiter!r}-delimited"
    return NumberFormat(None, digits), f"{why}; nothing else in the file decides"


def number_formats(
    cells: pl.DataFrame,
    columns: Mapping[str, str],
    headers: Mapping[str, str],
    *,
    delimiter: str | None,
    forced: Mapping[str, Decimal] | None = None,
    typed: frozenset[str] = frozenset(),
) -> tuple[dict[str, NumberFormat], list[ColumnDecision]]:
    """Each numeric column's format (``columns``: field -> internal column) and the
    decision lines. ``forced``: field or ``"*"`` -> decimal, from the mapping file;
    ``typed``: columns of typed numbers (Excel number cells, JSON numbers), whose text is
    the stored value written with a decimal point."""
    forced = forced or {}
    stored = {f: c for f, c in columns.items() if c in typed and not forced.get(f)}
    columns = {f: c for f, c in columns.items() if f not in stored}
    evidence = number_evidence(cells, list(columns.values()))
    own = [ev.own_decimal() for ev in evidence.values()]
    decided: list[Decimal] = [d for d in own if d in (".", ",")]  # type: ignore[misc]
    formats: dict[str, NumberFormat] = {}
    decisions: list[ColumnDecision] = []
    for field, col in columns.items():
        ev = evidence[col]
        fmt, why = decide_number_format(
            ev,
            integral=field in INTEGRAL_FIELDS,
            others=decided,
            delimiter=delimiter,
            forced=forced.get(field) or forced.get("*"),
        )
        formats[col] = fmt
        if ev.decimal_point or ev.decimal_comma or ev.ambiguous or fmt.decimal is None:
            decision = fmt.describe()
            if fmt.decimal is None:
                decision += f": its {ev.ambiguous or 'separated'} ambiguous cells are quarantined"
            decisions.append(ColumnDecision(headers[col], field, "number_format", decision, why))
    for field, col in stored.items():
        formats[col] = NumberFormat(".")
        decisions.append(
            ColumnDecision(
                headers[col], field, "number_format", "stored values", "typed number cells"
            )
        )
    return formats, decisions
