"""JSON exports: an array of objects (or an object holding one list of them) and NDJSON
(one object a line). Nested values are kept as JSON text; records that are not objects are
quarantined row by row."""

from __future__ import annotations

import io
import json
from pathlib import Path

import polars as pl

from adapters.readers.common import decode_text
from schemas.reasons import FileRejected, Reason
from schemas.sheet import RawSheet


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
    text, encoding = decode_text(path.read_bytes())
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
    text, encoding = decode_text(path.read_bytes())
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
