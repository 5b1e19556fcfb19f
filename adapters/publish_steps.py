"""The steps of publishing a run, each small: read what the run staged back, merge the
deliveries of the snapshot dates it touches, reconcile, commit the tables in an order every
step can heal, and say exactly where the tables are when a step fails.

The tables are read and written through a ``TableStore`` (``adapters.publish`` says how);
the merge itself is ``transforms.merge`` (pure).
"""

from __future__ import annotations

import datetime as dt
import errno
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

import adapters.publish as pub
from adapters.build import RosterBuild
from adapters.ingest import is_disk_full
from adapters.store import TableStore
from schemas import EnrichedRoster
from schemas.manifest import FileOutcome, FileRecord
from schemas.tables import (
    CONTACTS,
    CREATORS,
    DELIVERIES,
    LEDGER,
    QUARANTINE,
    SNAPSHOTS,
    polars_schema,
)
from transforms import merge
from transforms.quarantine import empty_quarantine
from transforms.reconcile import ReconciliationError, reconcile, tally_by_file

LOW_DISK_BYTES = 64 << 20  # less free space than this on --out after a failure: a full disk


@dataclass
class Staged:
    """What this run staged, read back from the staging files."""

    rows: pl.DataFrame  # the run's delivered rows (EnrichedRoster + delivery columns)
    quarantine: pl.DataFrame  # the run's quarantine rows, with run_id
    collapsed: pl.DataFrame  # (source_file, source_row) of collapsed duplicates


@dataclass
class Merged:
    """The deliveries of the snapshot dates this run touches, merged (transforms.merge)."""

    dates: list[dt.date]
    deliveries: pl.DataFrame  # every delivered row of those dates after this run
    snapshots: pl.DataFrame  # one row per (platform, creator, snapshot_date) of those dates
    superseded: pl.DataFrame  # quarantine rows of the losing rows (all deliveries)
    new_losers: pl.DataFrame  # losing rows of this run's deliveries (for reconciliation)


DELIVERY_COLUMNS: dict[str, pl.DataType] = {
    "delivery_file": pl.String(),
    "sha256": pl.String(),
    "delivered_at": pl.Datetime("us"),
    "file_modified_at": pl.Datetime("us"),
}


def delivery_attributes(
    outcomes: list[FileOutcome], store: TableStore, started_at: dt.datetime
) -> pl.DataFrame:
    """Per source file: its delivery file, bytes, and when it was delivered: the first load
    of these bytes at this path, else this run (see transforms.merge for the rule)."""
    first_loaded = pub.delivered_at_of(store)
    now = started_at.astimezone(dt.UTC).replace(tzinfo=None)
    return pl.DataFrame(
        {
            "source_file": [o.source_file for o in outcomes],
            "delivery_file": [o.delivery_file for o in outcomes],
            "sha256": [o.sha256 for o in outcomes],
            "delivered_at": [first_loaded.get((o.delivery_file, o.sha256), now) for o in outcomes],
            "file_modified_at": [
                dt.datetime.fromisoformat(o.modified_at).replace(tzinfo=None)
                if o.modified_at
                else None
                for o in outcomes
            ],
        },
        schema={"source_file": pl.String(), **DELIVERY_COLUMNS},
    )


def read_staged(
    outcomes: list[FileOutcome], build: RosterBuild, attributes: pl.DataFrame, run_id: str
) -> Staged:
    columns = [*EnrichedRoster.to_schema().columns, *DELIVERY_COLUMNS]
    rows = (
        pl.read_parquet(build.enriched_path)
        .join(attributes, on="source_file", how="left")
        .select(columns)
        if build.enriched_path
        else pl.DataFrame(schema=polars_schema(SNAPSHOTS)).with_columns(
            [pl.lit(None, t).alias(c) for c, t in DELIVERY_COLUMNS.items()]
        )
    )
    quarantine = (
        pl.concat([pl.read_parquet(p) for p in build.quarantine_paths], how="vertical")
        if build.quarantine_paths
        else empty_quarantine()
    ).with_columns(run_id=pl.lit(run_id))
    collapsed = (
        pl.read_parquet(build.collapsed_path)
        if build.collapsed_path
        else pl.DataFrame(schema={"source_file": pl.String, "source_row": pl.Int64})
    )
    return Staged(rows, quarantine, collapsed)


def merge_dates(store: TableStore, staged: Staged, replaced: list[str], run_id: str) -> Merged:
    """Every delivered row of the dates the run touches (its own rows, the dates the
    replaced files had, the dates a killed publish left pending), merged per creator."""
    dates = sorted(
        set(staged.rows.get_column("snapshot_date").unique().to_list())
        | set(pub.delivery_dates(store, replaced))
        | set(pub.pending_dates(store))
    )
    kept = pub.delivery_rows(store, dates, replaced)
    rows = staged.rows
    if kept is not None and kept.height:
        rows = pl.concat([rows, kept.select(rows.columns)], how="vertical_relaxed")
    rows = rows.with_row_index(merge.ROW_ID)
    losers = merge.superseded(rows.lazy()).collect()
    snapshots = (
        merge.winners(rows.lazy(), losers)
        .select(list(EnrichedRoster.to_schema().columns))
        .collect()
        .sort("snapshot_date", maintain_order=True)
    )
    superseded_q = (
        merge.superseded_to_quarantine(losers.lazy()).with_columns(run_id=pl.lit(run_id)).collect()
    )
    return Merged(
        dates=dates,
        deliveries=rows.drop(merge.ROW_ID).sort("snapshot_date", maintain_order=True),
        snapshots=snapshots,
        superseded=superseded_q,
        new_losers=losers.filter(pl.col(merge.ROW_ID) < staged.rows.height),
    )


def check_reconciled(
    outcomes: list[FileOutcome], staged: Staged, merged: Merged
) -> list[FileRecord]:
    """The run's file records; raises ``ReconciliationError`` (nothing published) when the
    counts of any delivery do not add up."""
    tally = tally_by_file(staged.rows, merged.new_losers, staged.quarantine, staged.collapsed)
    result = reconcile(outcomes, tally)
    broken = result.broken()
    if broken:
        raise ReconciliationError(
            "counts do not reconcile, nothing was published: " + "; ".join(broken)
        )
    return [FileRecord.of(o, c) for o, c in zip(outcomes, result.files, strict=True)]


def ledger_rows(
    outcomes: list[FileOutcome],
    files: list[FileRecord],
    processing_key: str,
    delivered_at: dict[str, dt.datetime],
    run_id: str,
) -> list[dict[str, Any]]:
    """The ledger's row of each delivery: its bytes, the options that decided it, counts."""
    keys = {o.source_file: o.processing_key or processing_key for o in outcomes}
    return [
        {
            "source_file": f.source_file,
            "delivery_file": f.delivery_file,
            "path": f.path,
            "sha256": f.sha256,
            "processing_key": keys[f.source_file],
            "status": f.status.value,
            "rows_read": f.rows_read,
            "enriched": f.enriched,
            "quarantined": f.quarantined,
            "duplicates_collapsed": f.duplicates_collapsed,
            "delivered_at": delivered_at[f.source_file],
            "run_id": run_id,
        }
        for f in files
    ]


def commit_tables(
    store: TableStore,
    merged: Merged,
    staged: Staged,
    replaced_sources: list[str],
    contacts_path: str | None,
    ledger: list[dict[str, Any]],
    run_id: str,
) -> dict[str, int | None]:
    """The commits, in an order that each step can heal: deliveries, then what derives
    from them, then the ledger (a file is 'processed' only once all its rows are in)."""
    delivery_files = sorted({r["delivery_file"] for r in ledger})
    versions: dict[str, int | None] = {}
    if not (merged.dates or replaced_sources):
        return versions  # nothing delivered, nothing pending: no commit
    pub.mark_pending(store, run_id, merged.dates)
    versions[DELIVERIES] = pub.publish_dates(
        store, DELIVERIES, merged.deliveries, merged.dates, run_id
    )
    versions[SNAPSHOTS] = pub.publish_dates(
        store, SNAPSHOTS, merged.snapshots, merged.dates, run_id
    )
    versions[QUARANTINE] = pub.publish_quarantine_for(
        store,
        pl.concat([staged.quarantine, merged.superseded.select(staged.quarantine.columns)]),
        replaced_sources,
        merged.dates,
        run_id,
    )
    if merged.dates:
        versions[CREATORS] = pub.publish_creators(store, run_id)
    if contacts_path:
        versions[CONTACTS] = pub.publish_contacts(store, pl.read_parquet(contacts_path), run_id)
    versions[LEDGER] = pub.publish_ledger(store, ledger, delivery_files, run_id)
    pub.clear_pending(store)
    return versions


class DiskFull(OSError):
    """The disk holding --out is full (or a file-size limit was hit), whichever layer
    noticed it first: polars, arrow, Delta or Python."""


def as_disk_full(out: Path, err: Exception) -> DiskFull | None:
    """``err`` as a DiskFull when the disk is the cause: the error says so, or the disk has
    almost no free space left (a truncated file then surfaces as e.g. 'Invalid thrift')."""
    try:
        free = shutil.disk_usage(out).free
    except OSError:
        free = None
    low = free is not None and free < LOW_DISK_BYTES
    if not (is_disk_full(err) or low):
        return None
    where = f"{free / 2**20:,.0f} MiB free on {out}" if free is not None else str(out)
    first = str(err).splitlines()[0][:200] if str(err) else ""
    return DiskFull(
        errno.ENOSPC,
        f"the disk is full or a file-size limit was hit ({where}; {type(err).__name__}: "
        f"{first}); free space, then run again: tables are at their last complete version",
    )


class PublishIncomplete(RuntimeError):
    """A publish stopped between commits: the message says where each table is."""


def publish_failure(
    store: TableStore, err: Exception, before: dict[str, int | None], dates: list[dt.date]
) -> str:
    """Which tables this run committed and which it did not, and that the next run heals
    them (the pending record makes it derive these dates again). Short enough to be read
    whole in the CLI's one-line reason."""
    now = pub.table_versions(store)
    states = ", ".join(
        f"{t} v{now[t]} ({'this run' if now[t] != before.get(t) else 'unchanged'})" for t in now
    )
    shown = ", ".join(d.isoformat() for d in dates[:3]) + (
        f" and {len(dates) - 3} more" if len(dates) > 3 else ""
    )
    disk = "; the disk is full or a file-size limit was hit" if is_disk_full(err) else ""
    return (
        f"publishing stopped part-way, tables now: {states}; every table is readable and the "
        f"next run on this --out heals them (derives {shown or 'no date'} again){disk}; "
        f"cause: {type(err).__name__}: {str(err).splitlines()[0][:120] if str(err) else ''}"
    )
