"""``roster inspect FILE...``: how a run would read each file, without publishing or Prefect.

Built on the pipeline's own stages: each file goes through ``adapters.ingest.ingest_file`` into
a temporary staging folder, exactly as a run's ingest task does, then ``build_roster`` over all
of them (duplicates, enrich checks); the report is read from the ``FileOutcome`` (mapping,
decisions, platform, date, counts), the build's per-file counts and the staged parquet files
(rows as parsed, quarantined cells). So what ``inspect`` shows is what a run would publish
or quarantine, never a second opinion. The raw cells are read once more only to show the
evidence for each column's number format (what the text looked like).
"""

from __future__ import annotations

import dataclasses
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from adapters.build import build_roster
from adapters.config import load_header_aliases
from adapters.ingest import RunOptions, ingest_file
from adapters.readers import read_export
from schemas.manifest import FileOutcome
from schemas.reasons import FileRejected
from schemas.sheet import RawSheet
from transforms.filenames import date_from_name, platform_from_name
from transforms.headers import NUMERIC_FIELDS

# How a number was written, first match wins (checked on the stripped text).
NUMBER_FORMS: list[tuple[str, str]] = [
    ("placeholder", r"^(?i:n/?a'?|-+|#\S*|unknown|none|null|nan|—)$"),
    ("percent", r"%$"),
    ("K/M/B suffix", r"^[+-]?[\d.,]+\s*[kKmMbB]$"),
    ("scientific", r"^[+-]?\d+([.,]\d+)?[eE][+-]?\d+$"),
    ("thousands separators", r"^[+-]?\d{1,3}([,.\s]\d{3})+([.,]\d+)?$"),
    ("plain", r"^[+-]?\d+([.,]\d+)?$"),
]
PREVIEW_COLUMNS = ("source_row", "platform", "handle", "display_name", *NUMERIC_FIELDS, "country")


@dataclass
class ColumnReport:
    field: str
    header: str
    # (dataclasses.field: the attribute ``field`` above shadows the bare name here)
    forms: dict[str, int] = dataclasses.field(default_factory=dict)  # how values were written
    examples: list[tuple[str, Any]] = dataclasses.field(default_factory=list)  # (raw, parsed)


@dataclass
class SheetReport:
    outcome: FileOutcome
    file_format: str
    header_row: int | None
    platform_from: str
    date_from: str
    columns: list[ColumnReport]
    first_rows: pl.DataFrame
    problems: pl.DataFrame  # reason, column, rows, example, detail
    would_enrich: int = 0  # rows that would reach the roster
    duplicates: int = 0  # rows collapsed into an identical row of the same key


def _origin(value: str | None, column: str | None, by_name: object, option: object) -> str:
    if column:
        return f"column {column!r}"
    if value is None:
        return "unknown"
    if by_name is not None:
        return "the file name"
    return "the command-line option" if option is not None else "unknown"


def number_forms(raw: pl.Series) -> dict[str, int]:
    """How many present values of a raw text column are written in each ``NUMBER_FORMS``."""
    text = raw.drop_nulls().str.strip_chars()
    text = text.filter(text != "")
    kind = pl.lit("other")
    for name, pattern in reversed(NUMBER_FORMS):
        kind = pl.when(pl.col("v").str.contains(pattern)).then(pl.lit(name)).otherwise(kind)
    counts = text.to_frame("v").select(kind.alias("form")).group_by("form").len()
    return dict(sorted(counts.iter_rows(), key=lambda kv: (-kv[1], kv[0])))


def _columns(sheet: RawSheet, outcome: FileOutcome, staged: pl.DataFrame) -> list[ColumnReport]:
    reports = []
    for fld, header in outcome.mapping.items():
        report = ColumnReport(fld, header)
        col = outcome.mapped_columns.get(fld)
        if fld in NUMERIC_FIELDS and col is not None:
            report.forms = number_forms(sheet.cells.get_column(col))
            target = fld if fld in staged.columns else f"{fld}_reported"
            if target not in staged.columns:  # nothing staged: the file is quarantined whole
                reports.append(report)
                continue
            parsed = (
                sheet.cells.select("source_row", pl.col(col).alias("raw"))
                .join(staged.select("source_row", target), on="source_row", how="inner")
                .filter(pl.col("raw").str.strip_chars() != "")
            )
            # one example per form, in the order of the counts
            for form in report.forms:
                pattern = dict(NUMBER_FORMS).get(form)
                if pattern is None:
                    continue
                hit = parsed.filter(pl.col("raw").str.strip_chars().str.contains(pattern))
                if hit.height:
                    report.examples.append((hit.item(0, "raw"), hit.item(0, target)))
        reports.append(report)
    return reports


def _problems(outcome: FileOutcome, later: pl.DataFrame | None) -> pl.DataFrame:
    """Quarantine a run would write, by reason and column: input rows, an example raw value
    and the detail (which says how to fix it); a whole file counts its rows."""
    empty = pl.DataFrame(
        schema={
            "reason": pl.String,
            "column": pl.String,
            "rows": pl.UInt32,
            "example": pl.String,
            "detail": pl.String,
        }
    )
    parts = [pl.read_parquet(outcome.quarantine_path)] if outcome.quarantine_path else []
    if later is not None:  # found when building the roster: duplicate conflicts, enrich checks
        parts.append(later.filter(pl.col("source_file") == outcome.source_file))
    if not parts:
        return empty
    q = pl.concat(parts, how="vertical_relaxed")
    return (
        q.group_by("reason", "column")
        .agg(
            pl.when(pl.col("source_row").is_null().all())
            .then(pl.lit(outcome.rows_read, pl.UInt32))
            .otherwise(pl.col("source_row").drop_nulls().n_unique())
            .alias("rows"),
            pl.col("raw_value").drop_nulls().first().alias("example"),
            pl.col("detail").first(),
        )
        .sort("rows", "reason", descending=[True, False])
        .select(empty.columns)
    )


def _file_format(path: Path, sheet: RawSheet | None) -> str:
    notes = sheet.notes if sheet else []
    kind = path.suffix.lower().lstrip(".") or "text"
    if kind in ("csv", "tsv", "txt", "tab", "psv"):
        delimiter = next((n for n in notes if n.startswith("delimiter ")), "delimiter ','")
        return f"{kind}, {delimiter}"
    return kind


def _read_sheets(path: Path) -> dict[str, RawSheet]:
    try:
        return {s.label: s for s in read_export(path, path.name)}
    except FileRejected:
        return {}


def inspect_files(paths: list[Path], options: RunOptions, rows: int = 5) -> list[SheetReport]:
    """How a run would read ``paths`` with these options (one report per file or sheet):
    the run's ingest of each file, then its build (dedupe, enrich, validation) over all of
    them, into a temporary folder that is removed afterwards."""
    platforms = load_header_aliases().platform_lookup()
    with tempfile.TemporaryDirectory(prefix="roster-inspect-") as tmp:
        staging = Path(tmp)
        ingested = [(p, ingest_file(p, p.name, i, options, staging)) for i, p in enumerate(paths)]
        outcomes = [o for _, os_ in ingested for o in os_]
        build = build_roster(outcomes, options, staging, run_id="inspect")
        from_ingest = {o.quarantine_path for o in outcomes}
        from_build = [q for q in build.quarantine_paths if q not in from_ingest]
        later = pl.concat([pl.read_parquet(q) for q in from_build]) if from_build else None
        reports = []
        for path, sheet_outcomes in ingested:
            sheets = _read_sheets(path)
            for o in sheet_outcomes:
                sheet = sheets.get(o.source_file)
                staged = pl.read_parquet(o.staged_path) if o.staged_path else pl.DataFrame()
                reports.append(
                    SheetReport(
                        outcome=o,
                        file_format=_file_format(path, sheet),
                        header_row=None if sheet is None else _header_row(sheet),
                        platform_from=_origin(
                            o.platform,
                            o.mapping.get("platform"),
                            platform_from_name(path.name, platforms),
                            options.platform,
                        ),
                        date_from=_origin(
                            o.snapshot_date,
                            o.mapping.get("snapshot_date"),
                            date_from_name(path.name),
                            options.snapshot_date,
                        ),
                        columns=[] if sheet is None else _columns(sheet, o, staged),
                        first_rows=staged.select(
                            [c for c in PREVIEW_COLUMNS if c in staged.columns]
                        ).head(rows),
                        problems=_problems(o, later),
                        would_enrich=build.per_file.get(o.source_file, {}).get("enriched", 0),
                        duplicates=build.per_file.get(o.source_file, {}).get("duplicates", 0),
                    )
                )
    return reports


def inspect_file(path: Path, options: RunOptions, rows: int = 5) -> list[SheetReport]:
    return inspect_files([path], options, rows)


def _header_row(sheet: RawSheet) -> int:
    """The file row holding the headers: 1, or 2 below Excel's ``sep=`` line."""
    return 2 if any(n.startswith("'sep=") for n in sheet.notes) else 1


def report_dict(report: SheetReport) -> dict[str, Any]:
    """The report as JSON-friendly data (``roster inspect --json``)."""
    o = report.outcome
    return {
        "file": o.source_file,
        "status": o.status,
        "reason": o.reason,
        "detail": o.detail,
        "format": report.file_format,
        "notes": o.notes,
        "header_row": report.header_row,
        "rows_read": o.rows_read,
        "would_enrich": report.would_enrich,
        "duplicates_collapsed": report.duplicates,
        "platform": o.platform,
        "platform_from": report.platform_from,
        "snapshot_date": o.snapshot_date,
        "snapshot_date_from": report.date_from,
        "mapping": o.mapping,
        "decisions": o.decisions,
        "unmapped_columns": o.unmapped_columns,
        "number_formats": {
            c.field: {"forms": c.forms, "examples": [list(e) for e in c.examples]}
            for c in report.columns
            if c.forms
        },
        "first_rows": report.first_rows.to_dicts(),
        "problems": report.problems.to_dicts(),
    }
