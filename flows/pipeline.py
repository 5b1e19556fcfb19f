"""The pipeline's stages as plain functions (the Prefect flow wraps them in tasks).

ingest_file: read -> map headers -> normalise -> validate one file; stage the valid rows
    and the quarantined ones as parquet; return a small ``FileOutcome``.
build_roster: all staged rows -> dedupe -> enrich -> validate the enriched roster.
Counts are reconciled per file before anything is published.
"""

from __future__ import annotations

import datetime as dt
import errno
import hashlib
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from flows.archives import decoded_size, read_delivery
from flows.config import load_country_aliases, load_rate_card
from flows.ingest import parse_sheet, plan_sheet, reader_failures, validate_rows
from flows.readers import FileRejected, RawSheet
from schemas import EnrichedRoster, soft_validate
from schemas.reasons import Reason
from schemas.validation import FAILURE_COLUMNS
from schemas.vocabulary import DuplicateStatus, FileStatus
from transforms.backtest import backtest
from transforms.country import country_lookup
from transforms.dedupe import conflicts_to_quarantine, mark_repeated, repeated_key_rows
from transforms.enrich import creator_key, enrich, reach_observations
from transforms.reach_model import fit_reach
from transforms.settings import RateCard

QUARANTINE_COLUMNS: dict[str, pl.DataType] = {
    **FAILURE_COLUMNS,
    "detail": pl.String(),
    "platform": pl.String(),
    "snapshot_date": pl.Date(),
}
# Every staged artefact is named by a stage index unique in the run (``stage_index``), and
# ``_input_order`` = stage index << ROW_BITS | source_row orders rows across files.
ROW_BITS = 32  # rows per sheet < 2**32
SHEET_BITS = 12  # sheets per workbook < 4095; stage index = file << 12 | sheet
WHOLE_FILE = (1 << SHEET_BITS) - 1  # the stage index "sheet" of a file rejected whole
DELIVERY_KEY = ("source_file", "platform", "handle_norm", "snapshot_date")


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


@dataclass
class FileOutcome:
    """What happened to one input file (or workbook sheet). Small and JSON-friendly."""

    source_file: str  # the delivery: path relative to the input root, "#sheet" for a sheet
    path: str
    sha256: str
    file_index: int  # stage index, unique per outcome of a run (see stage_index)
    delivery_file: str = ""  # the file part of source_file: the unit a later run replaces
    modified_at: str | None = None  # the file's modification time (UTC, ISO)
    copy_of: str | None = None  # an already loaded delivery with exactly the same bytes
    # the options that decided this file's output (see enrich_roster.processing_key_of);
    # "" = the run's own
    processing_key: str = ""
    status: FileStatus = FileStatus.OK
    reason: str | None = None
    detail: str | None = None
    platform: str | None = None
    snapshot_date: str | None = None
    records: int = 0  # data records in the file, blank ones included
    independent_records: int | None = None  # the same, counted by a second reader
    blank_rows: int = 0
    rows_read: int = 0  # records - blank_rows
    parse_failed_rows: int = 0
    validation_failed_rows: int = 0
    staged_rows: int = 0
    staged_path: str | None = None
    quarantine_path: str | None = None
    mapping: dict[str, str] = field(default_factory=dict)
    decisions: list[str] = field(default_factory=list)
    column_decisions: list[dict] = field(default_factory=list)  # flows.ingest ColumnDecision
    unmapped_columns: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def to_dict(self) -> dict:
        return asdict(self)


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def empty_quarantine() -> pl.DataFrame:
    return pl.DataFrame(schema=QUARANTINE_COLUMNS)


def _quarantine_frame(
    df: pl.DataFrame, platform: str | None, snapshot: dt.date | None
) -> pl.DataFrame:
    """Give failure rows the full quarantine column set."""
    out = df
    for name, dtype in QUARANTINE_COLUMNS.items():
        if name not in out.columns:
            default = {"platform": platform, "snapshot_date": snapshot}.get(name)
            out = out.with_columns(pl.lit(default, dtype=dtype).alias(name))
    return out.select([pl.col(n).cast(t) for n, t in QUARANTINE_COLUMNS.items()])


def file_rejection(outcome: FileOutcome, reason: str, detail: str) -> pl.DataFrame:
    outcome.status, outcome.reason, outcome.detail = FileStatus.QUARANTINED, reason, detail
    snapshot = dt.date.fromisoformat(outcome.snapshot_date) if outcome.snapshot_date else None
    return _quarantine_frame(
        pl.DataFrame(
            {
                "source_file": [outcome.source_file],
                "source_row": [None],
                "reason": [reason],
                "detail": [detail],
            },
            schema_overrides={"source_row": pl.Int64},
        ),
        outcome.platform,
        snapshot,
    )


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
    """Plan (column evidence, file rules) -> parse -> validate -> stage one sheet."""
    plan = plan_sheet(
        sheet,
        platform=options.platform,
        snapshot_date=options.snapshot_date,
        mapping_file=options.mapping_file,
        today=dt.date.today(),
    )
    mapping = plan.mapping
    outcome.mapping = {f: mapping.headers[c] for f, c in sorted(mapping.columns.items())}
    if mapping.categories:
        outcome.mapping["categories"] = " + ".join(mapping.headers[c] for c in mapping.categories)
    outcome.decisions = plan.decisions
    outcome.column_decisions = [d.to_dict() for d in plan.column_decisions]
    outcome.unmapped_columns = mapping.unmapped
    outcome.notes += plan.notes
    outcome.platform = plan.platform
    outcome.snapshot_date = plan.snapshot.isoformat() if plan.snapshot else None
    if plan.problems:
        reason = "+".join(p[0].value for p in plan.problems)
        q = file_rejection(outcome, reason, " | ".join(p[1] for p in plan.problems))
        _stage_quarantine(outcome, q, staging)
        return

    failures, cells = reader_failures(sheet, sheet.cells)
    good_df, parse_df = parse_sheet(sheet, cells, plan)
    outcome.parse_failed_rows = parse_df.get_column("source_row").n_unique()
    failures.append(parse_df)
    valid, vfail = validate_rows(good_df, cells, mapping)
    del good_df
    sheet.cells = cells = cells.clear()  # the text of the file is no longer needed
    outcome.validation_failed_rows = vfail.get_column("source_row").n_unique()
    failures.append(vfail)

    valid = valid.with_columns(
        _input_order=(pl.lit(outcome.file_index, pl.Int64) * (1 << ROW_BITS)) + pl.col("source_row")
    )
    staged = staging / f"rows-{outcome.file_index:06d}.parquet"
    valid.write_parquet(staged, compression="lz4")
    outcome.staged_path, outcome.staged_rows = str(staged), valid.height
    q = pl.concat(
        [_quarantine_frame(f, plan.platform, plan.snapshot) for f in failures], how="vertical"
    )
    _stage_quarantine(outcome, q, staging)


def _stage_quarantine(outcome: FileOutcome, q: pl.DataFrame, staging: Path) -> None:
    if q.height:
        p = staging / f"quarantine-{outcome.file_index:06d}.parquet"
        q.write_parquet(p, compression="lz4")
        outcome.quarantine_path = str(p)


@dataclass
class RosterBuild:
    enriched_path: str | None
    quarantine_paths: list[str]
    per_file: dict[str, dict[str, int]]  # source_file -> enriched, duplicates, conflicts, failed
    seconds: dict[str, float]
    contacts_path: str | None = None
    reach_model: dict | None = None  # what the run learned about reach (ReachFit.summary)
    # the backtest of the reach estimates on this run's rows (transforms.backtest)
    reach_evaluation: dict | None = None
    collapsed_path: str | None = None  # (source_file, source_row) of collapsed duplicates


class ReconciliationError(RuntimeError):
    """Counts do not add up: nothing is published."""


def build_roster(
    outcomes: list[FileOutcome],
    options: RunOptions,
    staging: Path,
    run_id: str,
    history: pl.LazyFrame | None = None,
) -> RosterBuild:
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    staged = [o.staged_path for o in outcomes if o.staged_path and o.staged_rows]
    qpaths = [o.quarantine_path for o in outcomes if o.quarantine_path]
    per_file = {
        o.source_file: {"enriched": 0, "duplicates": 0, "conflicts": 0, "enrich_failed": 0}
        for o in outcomes
    }
    if not staged:
        return RosterBuild(None, qpaths, per_file, timings)
    rate_card = load_rate_card(Path(options.rate_card_file) if options.rate_card_file else None)
    countries = country_lookup(load_country_aliases())

    rows = pl.scan_parquet(staged)
    kept, marks, collapsed_path = _dedupe_within_deliveries(rows, staging)
    timings["dedupe"] = time.perf_counter() - t0
    for o in outcomes:
        if o.staged_path and o.staged_rows:
            per_file[o.source_file]["enriched"] += o.staged_rows
    dropped = marks.filter(pl.col("_dup_status") != DuplicateStatus.KEPT)
    for src, status, n in dropped.group_by("source_file", "_dup_status").len().iter_rows():
        key = {DuplicateStatus.DUPLICATE: "duplicates", DuplicateStatus.CONFLICT: "conflicts"}[
            status
        ]
        per_file[src][key] += n
        per_file[src]["enriched"] -= n
    conflicts = conflicts_to_quarantine(marks.lazy()).collect()

    t1 = time.perf_counter()
    # reach is learned from this run's rows and the earlier published snapshots (history)
    reach_fit = fit_reach(reach_observations(kept, history), rate_card.reach_model)
    enriched_lf = enrich(
        kept,
        rate_card,
        scheme=options.tier_scheme,
        countries=countries,
        run_id=run_id,
        history=history,
        reach_fit=reach_fit,
    )
    enriched_lf = enriched_lf.with_columns(rate_card_version=pl.lit(rate_card.meta.version))
    columns = list(EnrichedRoster.to_schema().columns)
    # Partition order for the writer: by snapshot_date, stable, so rows keep their input
    # order within a date. Sorted eagerly after one rechunk: on 10M rows a sort over the
    # streaming engine's many small chunks took 14 s, and a sort by platform and
    # creator_key as well 7.6 s, against 2 s for this.
    enriched = (
        enriched_lf.select(columns).collect().rechunk().sort("snapshot_date", maintain_order=True)
    )
    timings["enrich"] = time.perf_counter() - t1

    t2 = time.perf_counter()
    result = soft_validate(EnrichedRoster, enriched)
    timings["validate_enriched"] = time.perf_counter() - t2
    for src, n in (
        result.failures.group_by("source_file").agg(pl.col("source_row").n_unique()).iter_rows()
    ):
        per_file[src]["enriched"] -= n
        per_file[src]["enrich_failed"] += n

    extra_q = []
    if conflicts.height:
        extra_q.append(conflicts.with_columns(detail=pl.lit("duplicate key with different values")))
    if result.failures.height:
        extra_q.append(
            result.failures.with_columns(
                detail=pl.concat_str(pl.col("field"), pl.lit(" failed check "), pl.col("reason"))
            )
        )
    if extra_q:
        p = staging / "quarantine-roster.parquet"
        pl.concat([_quarantine_frame(q, None, None) for q in extra_q]).write_parquet(p)
        qpaths.append(str(p))
    out = staging / "enriched.parquet"
    result.valid.write_parquet(out, compression="lz4")
    t3 = time.perf_counter()
    evaluation = evaluate_reach(kept, rate_card, countries, options.tier_scheme, history)
    timings["evaluate_reach"] = time.perf_counter() - t3
    # Contact data never goes further than here unless asked for (--keep-contacts).
    contacts_path = _stage_contacts(kept, run_id, staging) if options.keep_contacts else None
    timings["build_total"] = time.perf_counter() - t0
    return RosterBuild(
        str(out),
        qpaths,
        per_file,
        timings,
        contacts_path,
        reach_model=reach_fit.summary(),
        reach_evaluation=evaluation,
        collapsed_path=str(collapsed_path),
    )


EVALUATE_MAX_ROWS = 200_000  # past this, the run's backtest scores an even sample of creators


def evaluate_reach(
    kept: pl.LazyFrame,
    rate_card: RateCard,
    countries: pl.DataFrame,
    scheme: str | None,
    history: pl.LazyFrame | None,
    max_rows: int = EVALUATE_MAX_ROWS,
) -> dict | None:
    """The backtest of ``roster evaluate`` on the run's own rows, for the manifest: each
    platform's latest snapshot has its views hidden and predicted from everything else.
    A run over ``max_rows`` rows is scored on every k-th creator (all of that
    creator's rows, chosen by a hash of platform and handle) to bound the second enrich
    pass; the result says which share. None when no row has views."""
    rows = kept.select(pl.len()).collect().item()
    every = -(-rows // max_rows)  # ceil: 1 = every creator
    if every > 1:
        creator = pl.concat_str("platform", "handle_norm", separator=":")
        kept = kept.filter(creator.hash(seed=0) % every == 0)
    result = backtest(kept.collect(), rate_card, countries, scheme, history)
    if not result.held_out:
        return None
    return {**result.to_dict(), "creators_sampled": f"1 in {every}" if every > 1 else "all"}


def _dedupe_within_deliveries(
    rows: pl.LazyFrame, staging: Path
) -> tuple[pl.LazyFrame, pl.DataFrame, Path]:
    """(rows kept, marks of the rows whose key repeats, staged collapsed duplicates).

    Duplicates collapse within one delivery; across deliveries the merge decides at publish
    time (transforms.merge), so the key includes the source file. Only rows whose key
    repeats are marked (a few in a thousand): the rest are kept as they are, so the staged
    rows are read straight into enrich, with no marked copy."""
    repeated = repeated_key_rows(rows, DELIVERY_KEY).collect().get_column("_input_order")
    marks = mark_repeated(
        rows.filter(pl.col("_input_order").is_in(repeated.implode())), DELIVERY_KEY
    ).collect()
    dropped = marks.filter(pl.col("_dup_status") != DuplicateStatus.KEPT)
    collapsed_path = staging / "collapsed.parquet"
    dropped.filter(pl.col("_dup_status") == DuplicateStatus.DUPLICATE).select(
        "source_file", "source_row"
    ).write_parquet(collapsed_path)
    kept = rows.filter(~pl.col("_input_order").is_in(dropped.get_column("_input_order").implode()))
    return kept, marks, collapsed_path


def _stage_contacts(kept: pl.LazyFrame, run_id: str, staging: Path) -> str | None:
    contacts = (
        kept.filter(pl.col("email").is_not_null() | pl.col("phone").is_not_null())
        .select(
            creator_key(pl.col("platform"), pl.col("handle_norm")).alias("creator_key"),
            "platform",
            "handle",
            "email",
            "phone",
            "snapshot_date",
            "source_file",
            "source_row",
            run_id=pl.lit(run_id),
        )
        .collect()
    )
    if not contacts.height:
        return None
    path = staging / "contacts.parquet"
    contacts.write_parquet(path)
    return str(path)


def tally_by_file(
    delivered: pl.DataFrame, losers: pl.DataFrame, quarantine: pl.DataFrame, collapsed: pl.DataFrame
) -> dict[str, dict[str, int]]:
    """Per source file, counted from the rows about to be published (never from the
    outcome records that ``reconcile`` checks): rows delivered, of which superseded;
    distinct quarantined rows; whole-file rejections; repeated quarantine rows (a
    bookkeeping error); collapsed duplicates."""
    tally: dict[str, dict[str, int]] = {}

    def add(frame: pl.DataFrame, name: str) -> None:
        for src, n in frame.iter_rows():
            tally.setdefault(src, {}).setdefault(name, 0)
            tally[src][name] += n

    add(delivered.group_by("source_file").len(), "delivered")
    add(losers.group_by("source_file").len(), "superseded")
    add(collapsed.group_by("source_file").len(), "collapsed")
    rowwise = quarantine.filter(pl.col("source_row").is_not_null())
    add(rowwise.group_by("source_file").agg(pl.col("source_row").n_unique()), "quarantined")
    whole = quarantine.filter(pl.col("source_row").is_null())
    add(whole.group_by("source_file").len(), "whole_file")
    identity = ["source_file", "source_row", "reason", "column", "field", "raw_value"]
    repeats = quarantine.filter(pl.struct(identity).is_duplicated())
    add(repeats.group_by("source_file").len(), "repeated_quarantine_rows")
    return tally


def staged_tally(build: RosterBuild) -> dict[str, dict[str, int]]:
    """``tally_by_file`` of one run's staging alone (before any merge with other
    deliveries: nothing superseded)."""
    delivered = (
        pl.read_parquet(build.enriched_path, columns=["source_file"])
        if build.enriched_path
        else pl.DataFrame(schema={"source_file": pl.String})
    )
    quarantine = (
        pl.concat([pl.read_parquet(p) for p in build.quarantine_paths], how="vertical")
        if build.quarantine_paths
        else empty_quarantine()
    )
    collapsed = (
        pl.read_parquet(build.collapsed_path)
        if build.collapsed_path
        else pl.DataFrame(schema={"source_file": pl.String, "source_row": pl.Int64})
    )
    return tally_by_file(delivered, delivered.clear(), quarantine, collapsed)


def reconcile(
    outcomes: list[FileOutcome], tally: dict[str, dict[str, int]]
) -> list[dict[str, Any]]:
    """Per delivery: rows read = enriched + quarantined (superseded included) + collapsed
    duplicates, with the right side counted from the staged and merged rows. A staged
    artefact that went missing, was counted twice or belongs to no outcome fails it."""
    labels = [o.source_file for o in outcomes]
    rows: list[dict[str, Any]] = []
    for o in outcomes:
        t = tally.get(o.source_file, {})
        whole = o.status == FileStatus.QUARANTINED
        superseded = t.get("superseded", 0)
        enriched = t.get("delivered", 0) - superseded
        quarantined = (o.rows_read if whole else t.get("quarantined", 0)) + superseded
        dups = t.get("collapsed", 0)
        problems = [
            text
            for failed, text in (
                (labels.count(o.source_file) != 1, "the label is used by another file"),
                (
                    t.get("repeated_quarantine_rows", 0) > 0,
                    f"{t.get('repeated_quarantine_rows', 0)} quarantine rows staged twice",
                ),
                (
                    t.get("whole_file", 0) != (1 if whole else 0),
                    f"{t.get('whole_file', 0)} whole-file quarantine rows, expected "
                    f"{1 if whole else 0}",
                ),
                (whole and enriched + dups > 0, "rows staged for a file rejected whole"),
            )
            if failed
        ]
        sound = not problems
        rows.append(
            {
                "source_file": o.source_file,
                "delivery_file": o.delivery_file,
                "status": o.status,
                "reason": o.reason,
                "records": o.records,
                "blank_rows": o.blank_rows,
                "rows_read": o.rows_read,
                "enriched": enriched,
                "quarantined": quarantined,
                "superseded": superseded,
                "duplicates_collapsed": dups,
                "independent_records": o.independent_records,
                "problems": problems,
                "reconciled": sound
                and o.rows_read == enriched + quarantined + dups
                and (o.independent_records is None or o.independent_records == o.records),
            }
        )
    orphans = sorted(set(tally) - set(labels))
    for src in orphans:  # staged rows no outcome accounts for
        rows.append({"source_file": src, "reconciled": False, "orphan": tally[src]})
    return rows
