"""The run's ingest step for one delivered file: read it (every sheet, every zip member),
then per sheet plan -> parse -> validate (``transforms.staging``), and stage the valid rows
and the quarantined ones as parquet; return a small ``FileOutcome`` per sheet.

Any failure of one file quarantines that file whole; only a full disk stops the run.
"""

from __future__ import annotations

import datetime as dt
import errno
import hashlib
import time
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from adapters.config import staging_settings
from adapters.readers.archives import decoded_size, read_delivery
from schemas.manifest import FileOutcome
from schemas.reasons import FileRejected, Reason
from schemas.sheet import RawSheet
from schemas.vocabulary import FileStatus
from transforms.quarantine import whole_file_row
from transforms.stages import stage_sheet

# Every staged artefact is named by a stage index unique in the run (``stage_index``), and
# ``_input_order`` = stage index << ROW_BITS | source_row orders rows across files.
ROW_BITS = 32  # rows per sheet < 2**32
SHEET_BITS = 12  # sheets per workbook < 4095; stage index = file << 12 | sheet
WHOLE_FILE = (1 << SHEET_BITS) - 1  # the stage index "sheet" of a file rejected whole


def stage_index(file_index: int, sheet: int | None) -> int:
    """A number unique to each staged artefact of a run: one per workbook sheet, and one
    for a file rejected whole (``sheet`` None). Sheets past the 4094th are refused."""
    if sheet is not None and sheet >= WHOLE_FILE:
        raise FileRejected(
            Reason.TOO_MANY_SHEETS,
            f"the workbook has more than {WHOLE_FILE - 1} sheets; split it into workbooks",
        )
    return (file_index << SHEET_BITS) | (WHOLE_FILE if sheet is None else sheet)


@dataclass
class RunOptions:
    platform: str | None = None
    snapshot_date: dt.date | None = None
    mapping_file: str | None = None
    rate_card_file: str | None = None
    tier_scheme: str | None = None
    keep_contacts: bool = False
    max_file_bytes: int = 2 << 30  # see docs/RELIABILITY.md: memory bound


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def file_rejection(outcome: FileOutcome, reason: str, detail: str) -> pl.DataFrame:
    """Mark ``outcome`` as refused whole; its one quarantine row."""
    outcome.status, outcome.reason, outcome.detail = FileStatus.QUARANTINED, reason, detail
    snapshot = dt.date.fromisoformat(outcome.snapshot_date) if outcome.snapshot_date else None
    return whole_file_row(outcome.source_file, reason, detail, outcome.platform, snapshot)


RUN_LEVEL_ERRNOS = frozenset({errno.ENOSPC, errno.EFBIG, errno.EDQUOT})


def failure_as_rejection(err: Exception, label: str) -> FileRejected:
    """A per-file failure as a whole-file rejection, so the other files go on. A full
    disk is the run's problem, not the file's: it is raised again by the caller."""
    first = str(err).splitlines()[0][:300] if str(err) else type(err).__name__
    if isinstance(err, PermissionError):
        return FileRejected(
            Reason.PERMISSION_DENIED,
            f"{label}: cannot be opened (permission denied); give the user that runs the "
            "roster read access to it",
        )
    if isinstance(err, RecursionError):
        return FileRejected(
            Reason.TOO_DEEPLY_NESTED,
            f"{label}: nested too deeply to read ({first}); export flat records "
            "(a JSON array of objects, or CSV)",
        )
    if isinstance(err, OSError):
        return FileRejected(Reason.UNREADABLE_FILE, f"{label}: cannot be read ({first})")
    return FileRejected(
        Reason.READER_ERROR,
        f"{label}: the reader failed ({type(err).__name__}: {first}); deliver it again as "
        "CSV, or report the file to the roster team",
    )


DISK_FULL_TEXT = ("No space left", "File too large", "os error 28", "os error 27", "Disk quota")


def is_disk_full(err: BaseException) -> bool:
    """A full disk or a file-size limit, whichever layer reports it (Python's OSError, or
    the text of a polars/arrow/Delta error that wraps the OS error)."""
    chain: list[BaseException] = []
    cur: BaseException | None = err
    while cur is not None and len(chain) < 10:
        chain.append(cur)
        cur = cur.__cause__ or cur.__context__
    return any(
        (isinstance(e, OSError) and e.errno in RUN_LEVEL_ERRNOS)
        or any(t in str(e) for t in DISK_FULL_TEXT)
        for e in chain
    )


def _is_run_level(err: BaseException) -> bool:
    return isinstance(err, MemoryError) or is_disk_full(err)


def _check_size(size: int, label: str, options: RunOptions) -> None:
    """The memory bound, on what the file expands to (``decoded_size``)."""
    if size > options.max_file_bytes:
        raise FileRejected(
            Reason.FILE_TOO_LARGE,
            f"{label} expands to {size / 2**20:,.0f} MiB, over the "
            f"{options.max_file_bytes / 2**20:,.0f} MiB limit that keeps a run inside "
            "this machine's memory (reading takes up to about 13x that); split the export, "
            "or raise the limit with --max-file-mb on a bigger machine",
        )


def ingest_file(
    path: Path,
    label: str,
    file_index: int,
    options: RunOptions,
    staging: Path,
    sha256: str | None = None,
) -> list[FileOutcome]:
    """Read, parse and validate one input file; stage results under ``staging``. Any
    failure of this one file quarantines it whole; only a full disk stops the run."""
    started = time.perf_counter()
    base = FileOutcome(
        source_file=label,
        path=str(path),
        sha256=sha256 or "",
        file_index=stage_index(file_index, None),
        delivery_file=label,
    )
    try:
        base.sha256 = base.sha256 or sha256_of(path)
        stat = path.stat()
        base.modified_at = dt.datetime.fromtimestamp(stat.st_mtime, dt.UTC).isoformat()
        _check_size(decoded_size(path), label, options)
        unpack = staging / f"unpacked-{file_index:06d}"
        members = read_delivery(path, label, unpack, options.max_file_bytes)
        sheets = [(member, sheet) for member, found in members for sheet in found]
        indexes = [stage_index(file_index, n) for n in range(len(sheets))]
    except Exception as err:
        if _is_run_level(err):
            raise
        rej = err if isinstance(err, FileRejected) else failure_as_rejection(err, label)
        _stage_quarantine(base, file_rejection(base, rej.reason, rej.detail), staging)
        base.seconds = time.perf_counter() - started
        return [base]
    outcomes = []
    for index, (member, sheet) in zip(indexes, sheets, strict=True):
        outcome = FileOutcome(
            source_file=sheet.label,
            path=str(member),
            sha256=base.sha256,
            file_index=index,
            delivery_file=label,
            modified_at=base.modified_at,
            notes=list(sheet.notes),
        )
        outcome.records, outcome.blank_rows = sheet.records, sheet.blank_rows
        outcome.independent_records = sheet.independent_records
        outcome.rows_read = sheet.records - sheet.blank_rows
        _ingest_sheet_or_reject(sheet, outcome, options, staging)
        outcome.path = str(path)  # the delivered file (a zip member's name is in its label)
        outcome.seconds = time.perf_counter() - started
        outcomes.append(outcome)
    return outcomes


def _ingest_sheet_or_reject(
    sheet: RawSheet, outcome: FileOutcome, options: RunOptions, staging: Path
) -> None:
    """``_ingest_sheet``; when it fails, the sheet is quarantined whole instead."""
    try:
        _ingest_sheet(sheet, outcome, options, staging)
    except Exception as err:
        if _is_run_level(err):
            raise
        rej = err if isinstance(err, FileRejected) else failure_as_rejection(err, sheet.label)
        outcome.staged_path, outcome.staged_rows, outcome.quarantine_path = None, 0, None
        _stage_quarantine(outcome, file_rejection(outcome, rej.reason, rej.detail), staging)


def _ingest_sheet(
    sheet: RawSheet, outcome: FileOutcome, options: RunOptions, staging: Path
) -> None:
    """``transforms.stages.stage_sheet``, then the sheet's rows and quarantine staged."""
    stage = stage_sheet(
        sheet,
        staging_settings(options.mapping_file),
        platform=options.platform,
        snapshot_date=options.snapshot_date,
    )
    plan, mapping = stage.plan, stage.plan.mapping
    outcome.mapping = {f: mapping.headers[c] for f, c in sorted(mapping.columns.items())}
    outcome.mapped_columns = dict(mapping.columns)
    if mapping.categories:
        outcome.mapping["categories"] = " + ".join(mapping.headers[c] for c in mapping.categories)
    outcome.decisions = plan.decisions
    outcome.column_decisions = list(plan.column_decisions)
    outcome.unmapped_columns = mapping.unmapped
    outcome.notes += plan.notes
    outcome.platform = plan.platform
    outcome.snapshot_date = plan.snapshot.isoformat() if plan.snapshot else None
    if stage.valid is None:
        reason = "+".join(p[0].value for p in plan.problems)
        q = file_rejection(outcome, reason, " | ".join(p[1] for p in plan.problems))
        _stage_quarantine(outcome, q, staging)
        return
    outcome.parse_failed_rows = stage.parse_failed_rows
    outcome.validation_failed_rows = stage.validation_failed_rows
    valid = stage.valid.with_columns(
        _input_order=(pl.lit(outcome.file_index, pl.Int64) * (1 << ROW_BITS)) + pl.col("source_row")
    )
    staged = staging / f"rows-{outcome.file_index:06d}.parquet"
    valid.write_parquet(staged, compression="lz4")
    outcome.staged_path, outcome.staged_rows = str(staged), valid.height
    _stage_quarantine(outcome, pl.concat(stage.quarantine, how="vertical"), staging)


def _stage_quarantine(outcome: FileOutcome, q: pl.DataFrame, staging: Path) -> None:
    if q.height:
        p = staging / f"quarantine-{outcome.file_index:06d}.parquet"
        q.write_parquet(p, compression="lz4")
        outcome.quarantine_path = str(p)
