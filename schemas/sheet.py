"""The contract between the readers and staging: one sheet of an export as raw text cells.

Every reader (``adapters.readers``) returns ``RawSheet``s; staging (``transforms.staging``)
decides what each column is from them. The cells are String columns ``c0..cN`` plus
``source_row`` (1-based row in the file, header = row 1) and ``_extra_fields``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import polars as pl


@dataclass
class RawSheet:
    label: str  # file name, plus "#sheet" for a workbook sheet
    headers: list[str]
    cells: pl.DataFrame  # c0..cN (String), source_row (Int64), _extra_fields (String)
    records: int  # data records seen, blank ones included
    blank_rows: int = 0
    notes: list[str] = field(default_factory=list)
    # rows that could not even be split into cells (malformed NDJSON lines)
    malformed: list[tuple[int, str, str]] = field(default_factory=list)
    # records counted by a second, independent reader (see independent_record_count)
    independent_records: int | None = None
    delimiter: str | None = None  # of a delimited file: evidence for its number format
    snapshot_hint: dt.date | None = None  # from the sheet's name (a monthly tab "Oct 2022")
    # per column, the platform a merged group-header row above the header puts it under
    column_groups: list[str | None] | None = None
    footer_rows: int = 0  # Total/Average rows at the end: skipped, counted in blank_rows
    # columns (c0..) whose numeric Excel cells are percent-formatted: their stored values
    # are fractions already (shown 5.2%, stored 0.052)
    percent_columns: frozenset[str] = frozenset()
    # columns whose values are typed numbers (Excel number cells, JSON numbers): their text
    # is the stored value with a decimal point, whatever the locale
    number_columns: frozenset[str] = frozenset()
