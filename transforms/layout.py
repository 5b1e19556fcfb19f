"""Where the table is in a sheet: header row, group-header row, footer rows (pure).

Exports put things around the table: a title and notes above the header, a merged
group-header row ("Instagram" over three columns, "YouTube" over the next three), total and
average rows at the bottom. These functions look at the first and last rows as text and
say where the header is, which platform group each column belongs to, and which trailing
rows are footers; the readers act on it and note what they skipped.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

import polars as pl

HEAD_ROWS = 30  # the header is looked for in the first rows only
MIN_KNOWN = 2  # a header row names at least this many known fields
FOOTER_WORDS = (
    "total",
    "totals",
    "grand total",
    "sum",
    "average",
    "averages",
    "avg",
    "mean",
    "median",
    "subtotal",
    "gesamt",
    "summe",
    "durchschnitt",
    "promedio",
    "moyenne",
    "total general",
)
FOOTER_RE = r"(?i)^\s*(?:" + "|".join(re.escape(w) for w in FOOTER_WORDS) + r")\s*:?\s*$"
FOOTER_SCAN = 10  # footers are looked for among the last rows only


def find_header_row(rows: Sequence[Sequence[str | None]], is_known: Callable[[str], bool]) -> int:
    """Index of the header row among ``rows`` (the first rows of a sheet): the first row
    naming the most known fields, when that is at least ``MIN_KNOWN``; else 0."""
    best, best_count = 0, 0
    for i, row in enumerate(rows[:HEAD_ROWS]):
        count = sum(1 for cell in row if cell and cell.strip() and is_known(cell))
        if count > best_count:
            best, best_count = i, count
    return best if best_count >= MIN_KNOWN else 0


def group_labels(
    row: Sequence[str | None], platform_of: Callable[[str], str | None], width: int
) -> list[str | None] | None:
    """Per column, the platform a merged group-header row puts it under (a label spans
    the columns to its right up to the next label), or None when the row names fewer than
    two platforms."""
    labels: list[str | None] = []
    current: str | None = None
    for i in range(width):
        cell = row[i] if i < len(row) else None
        if cell and cell.strip():
            current = platform_of(cell)
        labels.append(current)
    return labels if len({x for x in labels if x}) >= 2 else None


def footer_rows(cells: pl.DataFrame, data_cols: Sequence[str]) -> pl.Series:
    """``source_row`` of the trailing rows whose first non-empty cell is a footer word
    (Total, Average, Sum, Grand total ...): summaries of the table, not creators."""
    if cells.height == 0 or not data_cols:
        return pl.Series("source_row", [], dtype=pl.Int64)
    tail = cells.tail(FOOTER_SCAN)
    first = pl.coalesce([pl.col(c).str.strip_chars().replace("", None) for c in data_cols])
    marks = tail.select("source_row", footer=first.str.contains(FOOTER_RE).fill_null(False))
    flags = marks.get_column("footer").to_list()
    n = 0
    for flag in reversed(flags):  # only the trailing run: a "Total" creator mid-table stays
        if not flag:
            break
        n += 1
    return marks.get_column("source_row").tail(n) if n else marks.get_column("source_row").head(0)
