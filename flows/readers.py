"""Read an export file as the user has it into raw String cells.

Formats: CSV/TSV/semicolon/pipe (delimiter sniffed; optional Excel ``sep=,`` first line),
UTF-8 with or without BOM, UTF-16 LE/BE (Excel "Unicode text"), CP1252/Latin-1 fallback;
XLSX/XLS (every sheet); JSON array of objects; NDJSON.

Every reader returns ``RawSheet``s: the header row, the data rows as String columns
``c0..cN`` plus ``source_row`` (1-based row in the file, header = row 1) and the number of
records it saw, so that every record can be accounted for downstream. A file that cannot
be read raises ``FileRejected`` with a reason code and a message saying what to do.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import itertools
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import fastexcel
import polars as pl

from flows.config import load_header_aliases
from schemas.reasons import Reason
from transforms.filenames import date_from_name
from transforms.headers import known_field, platform_group
from transforms.layout import HEAD_ROWS, find_header_row, footer_rows, group_labels

# The csv module refuses cells over 128 KiB by default; exports can carry bigger ones.
csv.field_size_limit(2**31 - 1)

EXTRA_FIELDS = 2  # room to catch rows with more fields than the header (each costs memory)
SNIFF_BYTES = 256 * 1024
DELIMITERS = (",", ";", "\t", "|")
CSV_SUFFIXES = {".csv", ".tsv", ".txt", ".tab", ".psv"}
EXCEL_SUFFIXES = {".xlsx", ".xlsm", ".xls", ".xlsb", ".ods"}
JSON_SUFFIXES = {".json"}
NDJSON_SUFFIXES = {".ndjson", ".jsonl"}
SUPPORTED_SUFFIXES = CSV_SUFFIXES | EXCEL_SUFFIXES | JSON_SUFFIXES | NDJSON_SUFFIXES


class FileRejected(Exception):
    def __init__(self, reason: Reason | str, detail: str):
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


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


# --------------------------------------------------------------------------- encoding
def _decode_text(data: bytes) -> tuple[str, str]:
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


# --------------------------------------------------------------------------- CSV
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
        text, encoding = _decode_text(data)
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
    header_at, groups = _header_position(head_rows, notes, first_line=skip + 1)
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
    sheet = _finish_delimited(
        cells, headers, label, first_row=skip + 2, notes=notes, encoding=encoding
    )
    sheet.independent_records = independent_record_count(source, delimiter, skip)
    sheet.delimiter = delimiter
    sheet.column_groups = groups
    return sheet


def _is_known_header(cell: str) -> bool:
    aliases = load_header_aliases()
    return known_field(cell, aliases.lookup(), set(aliases.platform_lookup())) is not None


def _platform_label(cell: str) -> str | None:
    return platform_group(cell, load_header_aliases().platform_lookup())


def _header_position(
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


def _finish_delimited(
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


# --------------------------------------------------------------------------- Excel
def _sheet_visibility(path: Path) -> dict[str, str]:
    """sheet name -> "visible" | "hidden" | "veryhidden", in workbook order."""
    reader = fastexcel.read_excel(str(path))
    return {
        name: str(reader.load_sheet(name, header_row=None, n_rows=0).visible)
        for name in reader.sheet_names
    }


def _read_sheets(path: Path, label: str) -> tuple[dict[str, pl.DataFrame], list[str], int]:
    """(visible sheets by name, hidden sheet names, number of sheets)."""
    try:
        visibility = _sheet_visibility(path)
        visible = [n for n, v in visibility.items() if v == "visible"]
        sheets = (
            pl.read_excel(
                path,
                sheet_name=visible,
                engine="calamine",
                has_header=False,
                infer_schema_length=0,
                drop_empty_rows=False,
                raise_if_empty=False,
            )
            if visible
            else {}
        )
    except Exception as err:  # calamine raises its own error types
        raise FileRejected(Reason.UNREADABLE_EXCEL, f"{label}: {err}".splitlines()[0]) from err
    hidden = [n for n, v in visibility.items() if v != "visible"]
    return sheets, hidden, len(visibility)


CELL_SAMPLE_ROWS = 200  # cell types and formats are read from the first data rows only


def excel_cell_kinds(
    path: Path, sheet: str, first_data_row: int
) -> tuple[frozenset[str], frozenset[str]]:
    """(columns whose number cells all carry a % format, columns whose present cells are all
    number cells), over the first data rows. Only .xlsx/.xlsm keep cell types readable
    here; other workbooks give none."""
    if path.suffix.lower() not in {".xlsx", ".xlsm"}:
        return frozenset(), frozenset()
    import openpyxl

    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception:  # calamine read it; cell kinds are a bonus, not a requirement
        return frozenset(), frozenset()
    percent: dict[int, list[bool]] = {}
    kinds: dict[int, set[bool]] = {}
    try:
        rows = wb[sheet].iter_rows(
            min_row=first_data_row, max_row=first_data_row + CELL_SAMPLE_ROWS
        )
        for row in rows:
            for i, cell in enumerate(row):
                if cell.value is None:
                    continue
                number = isinstance(cell.value, int | float) and not isinstance(cell.value, bool)
                kinds.setdefault(i, set()).add(number)
                if number:
                    percent.setdefault(i, []).append("%" in str(cell.number_format))
    finally:
        wb.close()
    return (
        frozenset(f"c{i}" for i, marks in percent.items() if marks and all(marks)),
        frozenset(f"c{i}" for i, k in kinds.items() if k == {True}),
    )


def read_excel_export(path: Path, label: str) -> list[RawSheet]:
    sheets, hidden, total = _read_sheets(path, label)
    out = []
    for name, df in sheets.items():
        if df.height == 0 or df.width == 0:
            continue
        df = df.select([pl.col(c).cast(pl.String) for c in df.columns])
        notes = [f"sheet {name!r}"]
        if hidden:
            notes.append("hidden sheets skipped: " + ", ".join(repr(h) for h in hidden))
        head_rows = [[("" if v is None else str(v)) for v in r] for r in df.head(HEAD_ROWS).rows()]
        at, groups = _header_position(head_rows, notes, first_line=1)
        headers = head_rows[at] if at < len(head_rows) else []
        cells = df.slice(at + 1)
        cells.columns = [f"c{i}" for i in range(df.width)]
        sheet_label = f"{label}#{name}" if total > 1 else label
        sheet = _finish_delimited(
            cells, headers, sheet_label, first_row=at + 2, notes=notes, encoding="xlsx"
        )
        sheet.column_groups = groups
        sheet.percent_columns, sheet.number_columns = excel_cell_kinds(path, name, at + 2)
        if sheet.percent_columns:
            shown = ", ".join(repr(headers[int(c[1:])]) for c in sorted(sheet.percent_columns))
            sheet.notes.append(f"percent-formatted cells read as stored fractions: {shown}")
        sheet.snapshot_hint = date_from_name(name) if total > 1 else None
        if sheet.snapshot_hint:
            sheet.notes.append(f"sheet {name!r} dated {sheet.snapshot_hint} by its name")
        out.append(sheet)
    if not out:
        why = f" (hidden sheets skipped: {hidden})" if hidden else ""
        raise FileRejected(
            Reason.EMPTY_FILE, f"{label}: the workbook has no visible non-empty sheet{why}"
        )
    return out


# --------------------------------------------------------------------------- JSON
def _records_to_sheet(
    records: list[tuple[int, dict[str, object]]], label: str, notes: list[str], total: int
) -> RawSheet:
    keys: dict[str, None] = {}
    for _, rec in records:
        for k in rec:
            keys.setdefault(k, None)
    headers = list(keys)
    if not headers:
        raise FileRejected(Reason.NO_HEADER, f"{label}: the JSON records have no keys")

    def text(v: object) -> str | None:
        if v is None:
            return None
        if isinstance(v, (dict, list)):
            return json.dumps(v, ensure_ascii=False)
        if isinstance(v, bool):
            return str(v).lower()
        return str(v)

    columns = {
        f"c{i}": pl.Series([text(rec.get(k)) for _, rec in records], dtype=pl.String)
        for i, k in enumerate(headers)
    }
    cells = pl.DataFrame(columns).with_columns(
        source_row=pl.Series([n for n, _ in records], dtype=pl.Int64),
        _extra_fields=pl.lit(None, dtype=pl.String),
    )
    data_cols = list(columns)
    blank = pl.all_horizontal(
        [pl.col(c).is_null() | (pl.col(c).str.strip_chars() == "") for c in data_cols]
    )
    blank_rows = int(cells.select(blank.sum()).item())
    cells = cells.filter(~blank)

    def is_number(v: object) -> bool:
        return isinstance(v, int | float) and not isinstance(v, bool)

    typed = frozenset(
        f"c{i}"
        for i, k in enumerate(headers)
        if any(k in rec for _, rec in records)
        and all(is_number(rec[k]) for _, rec in records if rec.get(k) is not None)
        and any(rec.get(k) is not None for _, rec in records)
    )
    return RawSheet(
        label=label,
        headers=headers,
        cells=cells,
        records=total,
        blank_rows=blank_rows,
        notes=notes,
        number_columns=typed,
    )


def read_json_export(path: Path, label: str) -> RawSheet:
    text, encoding = _decode_text(path.read_bytes())
    if not text.strip():
        raise FileRejected(Reason.EMPTY_FILE, f"{label} is empty: nothing to read")
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as err:
        # maybe it is NDJSON with a .json name
        if text.lstrip().startswith("{") and "\n" in text.strip():
            return read_ndjson_export(path, label)
        raise FileRejected(
            Reason.UNREADABLE_JSON, f"{label}: line {err.lineno} column {err.colno}: {err.msg}"
        ) from err
    if isinstance(doc, dict):
        lists = [v for v in doc.values() if isinstance(v, list)]
        doc = lists[0] if len(lists) == 1 else [doc]
    if not isinstance(doc, list):
        raise FileRejected(Reason.UNREADABLE_JSON, f"{label}: expected an array of objects")
    records = []
    malformed = []
    for i, rec in enumerate(doc, start=1):
        if isinstance(rec, dict):
            records.append((i, rec))
        else:
            malformed.append(
                (i, Reason.NOT_AN_OBJECT.value, json.dumps(rec, ensure_ascii=False)[:200])
            )
    if not records:
        raise FileRejected(Reason.EMPTY_FILE, f"{label}: the JSON array has no objects")
    sheet = _records_to_sheet(
        records, label, [f"encoding {encoding}", "JSON array"], total=len(doc)
    )
    sheet.malformed = malformed
    sheet.independent_records = len(doc)
    return sheet


def read_ndjson_export(path: Path, label: str) -> RawSheet:
    text, encoding = _decode_text(path.read_bytes())
    records: list[tuple[int, dict[str, object]]] = []
    malformed: list[tuple[int, str, str]] = []
    total = 0
    for n, line in enumerate(io.StringIO(text), start=1):
        if not line.strip():
            continue
        total += 1
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as err:
            malformed.append((n, Reason.MALFORMED_JSON.value, f"{err.msg}: {line.strip()[:200]}"))
            continue
        if not isinstance(rec, dict):
            malformed.append((n, Reason.NOT_AN_OBJECT.value, line.strip()[:200]))
            continue
        records.append((n, rec))
    if not records:
        raise FileRejected(Reason.EMPTY_FILE, f"{label}: no JSON objects found")
    sheet = _records_to_sheet(records, label, [f"encoding {encoding}", "NDJSON"], total=total)
    sheet.malformed = malformed
    sheet.independent_records = sum(1 for line in text.split("\n") if line.strip())
    return sheet


def read_export(path: Path, label: str) -> list[RawSheet]:
    suffix = path.suffix.lower()
    if suffix in EXCEL_SUFFIXES:
        return read_excel_export(path, label)
    if suffix in JSON_SUFFIXES:
        return [read_json_export(path, label)]
    if suffix in NDJSON_SUFFIXES:
        return [read_ndjson_export(path, label)]
    if suffix in CSV_SUFFIXES or suffix == "":
        return [read_csv_export(path, label)]
    raise FileRejected(
        Reason.UNSUPPORTED_FORMAT,
        f"{label}: {suffix or 'no extension'} is not a supported export format "
        f"(supported: {', '.join(sorted(SUPPORTED_SUFFIXES))})",
    )


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
