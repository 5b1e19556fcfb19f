"""Excel workbooks (.xlsx/.xlsm/.xls/.xlsb/.ods): every visible sheet, read by calamine;
hidden sheets listed; percent-formatted and number cells recognised (openpyxl, .xlsx/.xlsm);
a monthly tab dated by its name."""

from __future__ import annotations

from pathlib import Path

import fastexcel
import polars as pl

from adapters.readers.common import finish_sheet, header_position
from schemas.reasons import FileRejected, Reason
from schemas.sheet import RawSheet
from transforms.filenames import date_from_name
from transforms.layout import HEAD_ROWS


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
        at, groups = header_position(head_rows, notes, first_line=1)
        headers = head_rows[at] if at < len(head_rows) else []
        cells = df.slice(at + 1)
        cells.columns = [f"c{i}" for i in range(df.width)]
        sheet_label = f"{label}#{name}" if total > 1 else label
        sheet = finish_sheet(
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
