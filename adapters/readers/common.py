"""What every reader shares: the suffixes each format has, decoding bytes in the encodings
exports come in, finding the header row below title rows, and turning a block of text cells
into a ``RawSheet`` (blank and footer rows counted and skipped)."""

from __future__ import annotations

import codecs

import polars as pl

from adapters.config import load_header_aliases
from schemas.sheet import RawSheet
from transforms.headers import known_field, platform_group
from transforms.layout import find_header_row, footer_rows, group_labels

EXTRA_FIELDS = 2  # room to catch rows with more fields than the header (each costs memory)
SNIFF_BYTES = 256 * 1024
DELIMITERS = (",", ";", "\t", "|")
CSV_SUFFIXES = {".csv", ".tsv", ".txt", ".tab", ".psv"}
EXCEL_SUFFIXES = {".xlsx", ".xlsm", ".xls", ".xlsb", ".ods"}
JSON_SUFFIXES = {".json"}
NDJSON_SUFFIXES = {".ndjson", ".jsonl"}
SUPPORTED_SUFFIXES = CSV_SUFFIXES | EXCEL_SUFFIXES | JSON_SUFFIXES | NDJSON_SUFFIXES


def decode_text(data: bytes) -> tuple[str, str]:
    """(text, encoding name) for a byte string, trying the encodings exports come in."""
    if data.startswith(codecs.BOM_UTF8):
        return data[len(codecs.BOM_UTF8) :].decode("utf-8"), "utf-8-sig"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16"), "utf-16"
    head = data[:4096]
    if len(head) >= 4 and head[1::2].count(0) > len(head) // 4 and head[0::2].count(0) == 0:
        return data.decode("utf-16-le"), "utf-16-le"
    if len(head) >= 4 and head[0::2].count(0) > len(head) // 4 and head[1::2].count(0) == 0:
        return data.decode("utf-16-be"), "utf-16-be"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:
        return data.decode("latin-1"), "latin-1"


def _is_known_header(cell: str) -> bool:
    aliases = load_header_aliases()
    return known_field(cell, aliases.lookup(), set(aliases.platform_lookup())) is not None


def _platform_label(cell: str) -> str | None:
    return platform_group(cell, load_header_aliases().platform_lookup())


def header_position(
    head_rows: list[list[str]], notes: list[str], first_line: int
) -> tuple[int, list[str | None] | None]:
    """(rows above the header, the platform group of each column from a group-header row
    just above it); what was skipped is noted."""
    at = find_header_row(head_rows, _is_known_header)
    if at == 0:
        return 0, None
    width = len(head_rows[at])
    groups = group_labels(head_rows[at - 1], _platform_label, width)
    title = " / ".join(" ".join(c for c in r if c).strip()[:60] for r in head_rows[:at])
    notes.append(
        f"header on row {first_line + at}: {at} title/notes row(s) above skipped ({title!r})"
    )
    if groups:
        notes.append(
            "group-header row: " + ", ".join(sorted({g for g in groups if g})) + " column groups"
        )
    return at, groups


def finish_sheet(
    cells: pl.DataFrame,
    headers: list[str],
    label: str,
    *,
    first_row: int,
    notes: list[str],
    encoding: str,
) -> RawSheet:
    width = len(headers)
    extra = [c for c in cells.columns if int(c[1:]) >= width]
    cells = cells.with_columns(
        source_row=pl.int_range(first_row, first_row + cells.height, dtype=pl.Int64),
        _extra_fields=(
            pl.when(pl.any_horizontal([pl.col(c).is_not_null() for c in extra])).then(
                pl.concat_str([pl.col(c) for c in extra], separator="|", ignore_nulls=True)
            )
            if extra
            else pl.lit(None, dtype=pl.String)
        ),
    ).drop(extra)
    data_cols = [f"c{i}" for i in range(width)]
    # empty cells are already null; a row of only spaces is not blank (it is quarantined
    # as missing a handle, so nothing is lost either way)
    blank = (
        pl.all_horizontal([pl.col(c).is_null() for c in data_cols])
        & pl.col("_extra_fields").is_null()
    )
    records = cells.height
    blank_rows = int(cells.select(blank.sum()).item())
    if blank_rows:
        cells = cells.filter(~blank)
        notes.append(f"{blank_rows} blank rows skipped")
    footers = footer_rows(cells, data_cols)
    if footers.len():
        cells = cells.filter(~pl.col("source_row").is_in(footers.implode()))
        notes.append(
            f"{footers.len()} footer row(s) (Total/Average/Sum) skipped: rows "
            + ", ".join(str(r) for r in footers.to_list())
        )
    return RawSheet(
        label=label,
        headers=headers,
        cells=cells,
        records=records,
        blank_rows=blank_rows + footers.len(),  # reconciled like blank rows
        footer_rows=footers.len(),
        notes=[f"encoding {encoding}", *notes] if encoding == "utf-8" else notes,
    )
