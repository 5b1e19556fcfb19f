"""Delimited text exports: CSV, TSV, semicolon and pipe (delimiter sniffed; an Excel
``sep=,`` first line honoured), UTF-8 with or without BOM, UTF-16 LE/BE (Excel "Unicode
text"), CP1252/Latin-1. Read by polars; damaged quoting falls back to Python's lenient csv
module. A second, independent reader counts the records (``independent_record_count``)."""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import re
from pathlib import Path

import polars as pl

from adapters.readers.common import (
    DELIMITERS,
    EXTRA_FIELDS,
    SNIFF_BYTES,
    decode_text,
    finish_sheet,
    header_position,
)
from schemas.reasons import FileRejected, Reason
from schemas.sheet import RawSheet
from transforms.layout import HEAD_ROWS

# The csv module refuses cells over 128 KiB by default; exports can carry bigger ones.
csv.field_size_limit(2**31 - 1)


def _sniff_delimiter(sample_text: str) -> str:
    lines = [ln for ln in sample_text.splitlines()[:60]]
    best, best_score = ",", -1.0
    for delim in DELIMITERS:
        rows = [r for r in csv.reader(lines, delimiter=delim) if r]
        if not rows:
            continue
        counts = [len(r) for r in rows]
        width = max(set(counts), key=counts.count)
        if width < 2:
            continue
        consistency = counts.count(width) / len(counts)
        score = consistency * 10 + min(width, 50) / 50
        if score > best_score:
            best, best_score = delim, score
    return best


LONE_CR = re.compile(rb"\r(?!\n)")


def _scan_utf8(path: Path) -> tuple[bool, bool]:
    """(is valid UTF-8, needs byte fixes: NUL bytes or lone CR line ends), streaming
    16 MiB at a time: a big export is never held as one Python string."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    needs_fix = False
    try:
        with path.open("rb") as fh:
            for chunk in iter(lambda: fh.read(16 << 20), b""):
                needs_fix = needs_fix or b"\x00" in chunk or LONE_CR.search(chunk) is not None
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False, needs_fix
    return True, needs_fix


def _csv_source(path: Path, label: str, notes: list[str]) -> tuple[str | bytes, bytes, str]:
    """(what polars reads: the path, or repaired UTF-8 bytes; the first bytes as UTF-8;
    the file's encoding). Repairs are noted."""
    with path.open("rb") as fh:
        head = fh.read(SNIFF_BYTES)
    if not head.strip():
        raise FileRejected(Reason.EMPTY_FILE, f"{label} is empty: nothing to read")
    utf16 = head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or (
        len(head) >= 4 and max(head[1::2].count(0), head[0::2].count(0)) > len(head) // 4
    )
    valid_utf8, needs_fix = (False, False) if utf16 else _scan_utf8(path)
    if valid_utf8 and not needs_fix:
        if head.startswith(codecs.BOM_UTF8):
            notes.append("UTF-8 BOM")
            head = head[len(codecs.BOM_UTF8) :]
        return str(path), head, "utf-8"  # polars reads (and memory-maps) the file itself
    data = path.read_bytes()
    if not utf16 and b"\x00" in data:
        notes.append(f"{data.count(0)} NUL bytes removed")
        data = data.replace(b"\x00", b"")
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    try:
        if utf16:
            raise UnicodeError
        data.decode("utf-8")
        encoding = "utf-8"
    except UnicodeError:
        text, encoding = decode_text(data)
        notes.append(f"encoding {encoding} (converted to utf-8)")
        data = text.encode("utf-8")
    if LONE_CR.search(data):
        # old Mac exports end lines with CR alone; polars splits on LF only
        notes.append("CR line ends read as line breaks")
        data = LONE_CR.sub(b"\n", data)
    if not data.strip():
        raise FileRejected(Reason.EMPTY_FILE, f"{label} has no text: nothing to read")
    return data, data, encoding


def _csv_layout(sample_text: str, notes: list[str]) -> tuple[str, int, list[str | None] | None]:
    """(delimiter, lines before the header, column groups of a group-header row)."""
    skip = 0
    first_line = sample_text.split("\n", 1)[0].rstrip("\r\n")
    sep_line = re.fullmatch(r'"?sep=(.)"?,*', first_line)
    if sep_line:
        delimiter = sep_line.group(1)
        skip = 1
        notes.append(f"'sep={delimiter}' line skipped")
    else:
        delimiter = _sniff_delimiter(sample_text)
    if delimiter != ",":
        notes.append(f"delimiter {delimiter!r}")
    reader = csv.reader(io.StringIO(sample_text, newline=""), delimiter=delimiter)
    head_rows = list(itertools.islice(reader, skip, skip + HEAD_ROWS))
    header_at, groups = header_position(head_rows, notes, first_line=skip + 1)
    return delimiter, skip + header_at, groups


def read_csv_export(path: Path, label: str) -> RawSheet:
    notes: list[str] = []
    source, data, encoding = _csv_source(path, label, notes)
    sample_text = data[:SNIFF_BYTES].decode("utf-8", errors="ignore")
    delimiter, skip, groups = _csv_layout(sample_text, notes)
    try:
        headers, cells = _read_with_polars(source, delimiter, skip)
    except pl.exceptions.PolarsError as err:
        # Quotes in the middle of unquoted cells (=HYPERLINK("a","b")) and other damage that
        # spreadsheets tolerate: read with Python's lenient csv module instead. Slower, but
        # only broken files take this path, and nothing is dropped.
        notes.append(f"lenient CSV reader used ({str(err).splitlines()[0][:120]})")
        headers, cells = _read_with_csv_module(source, delimiter, skip)
    if not headers or not any(h.strip() for h in headers):
        raise FileRejected(
            Reason.NO_HEADER, f"{label}: the first row is empty, expected column headers"
        )
    sheet = finish_sheet(cells, headers, label, first_row=skip + 2, notes=notes, encoding=encoding)
    sheet.independent_records = independent_record_count(source, delimiter, skip)
    sheet.delimiter = delimiter
    sheet.column_groups = groups
    return sheet


def _read_with_polars(
    source: str | bytes, delimiter: str, skip: int
) -> tuple[list[str], pl.DataFrame]:
    header_df = pl.read_csv(
        source,
        has_header=False,
        infer_schema=False,
        separator=delimiter,
        skip_rows=skip,
        n_rows=1,
        truncate_ragged_lines=True,
        empty_string_is_null=False,
    )
    headers = [("" if v is None else str(v)) for v in header_df.row(0)] if header_df.height else []
    schema = {f"c{i}": pl.String for i in range(max(len(headers), 1) + EXTRA_FIELDS)}
    cells = pl.read_csv(
        source,
        has_header=False,
        schema=schema,
        separator=delimiter,
        skip_rows=skip + 1,
        truncate_ragged_lines=True,
        raise_if_empty=False,
        missing_columns="insert",
    )
    return headers, cells


def _read_with_csv_module(
    source: str | bytes, delimiter: str, skip: int
) -> tuple[list[str], pl.DataFrame]:
    raw = Path(source).read_bytes() if isinstance(source, str) else source
    text = raw.decode("utf-8").removeprefix("\ufeff")
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True))
    except csv.Error as err:
        if "unexpected end of data" in str(err):
            raise FileRejected(
                Reason.UNREADABLE_CSV,
                'a quoted cell is never closed (an unmatched " swallows the rest of the file); '
                "fix the quote in the export and deliver it again",
            ) from err
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    rows = rows[skip:]
    if not rows:
        return [], pl.DataFrame()
    headers, data = rows[0], rows[1:]
    width = len(headers) + EXTRA_FIELDS
    columns = {
        f"c{i}": pl.Series(
            [(r[i] if i < len(r) and r[i] != "" else None) for r in data], dtype=pl.String
        )
        for i in range(width)
    }
    # cells past the last extra column are kept, joined into the last one
    last = width - 1
    columns[f"c{last}"] = pl.Series(
        [("|".join(r[last:]) if len(r) > last else None) for r in data], dtype=pl.String
    )
    return headers, pl.DataFrame(columns)


CSV_MODULE_LIMIT = 64 << 20  # bytes: above this the count uses polars' record counter


def independent_record_count(source: str | bytes, delimiter: str, skip: int) -> int:
    """Data records after the header, counted by a reader other than the one that parsed
    them: Python's csv module (small files) or polars' count-only scan (large files)."""
    if isinstance(source, str) and Path(source).stat().st_size > CSV_MODULE_LIMIT:
        return int(
            pl.scan_csv(
                source,
                has_header=False,
                separator=delimiter,
                skip_rows=skip + 1,
                infer_schema=False,
                truncate_ragged_lines=True,
                raise_if_empty=False,
            )
            .select(pl.len())
            .collect()
            .item()
        )
    if isinstance(source, str):
        text = Path(source).read_bytes().decode("utf-8")
    else:
        text = source.decode("utf-8")
    text = text.removeprefix("\ufeff")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    n = sum(1 for _ in reader)
    # polars (like Excel) does not yield a record for a final line without content
    return max(n - skip - 1, 0)
