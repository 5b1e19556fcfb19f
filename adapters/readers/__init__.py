"""Read an export file as the user has it into raw String cells.

Every reader returns ``RawSheet``s (``schemas.sheet``): the header row, the data rows as
String columns ``c0..cN`` plus ``source_row`` (1-based row in the file, header = row 1) and
the number of records it saw, so that every record can be accounted for downstream. A file
that cannot be read raises ``FileRejected`` with a reason code and a message saying what to
do. Formats: ``delimited`` (CSV/TSV/TXT), ``workbooks`` (Excel), ``records`` (JSON, NDJSON),
``archives`` (.gz, .zip, .parquet).
"""

from __future__ import annotations

from pathlib import Path

from adapters.readers.common import (
    CSV_SUFFIXES,
    EXCEL_SUFFIXES,
    JSON_SUFFIXES,
    NDJSON_SUFFIXES,
    SUPPORTED_SUFFIXES,
)
from adapters.readers.delimited import read_csv_export
from adapters.readers.records import read_json_export, read_ndjson_export
from adapters.readers.workbooks import read_excel_export
from schemas.reasons import FileRejected, Reason
from schemas.sheet import RawSheet

__all__ = ["SUPPORTED_SUFFIXES", "FileRejected", "RawSheet", "read_export"]


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
