"""Publish the run's tables through a table store (``adapters.store``), safely.

* Each table write is one commit of the store (Delta: data files first, then an atomic log
  entry). A run killed mid-publish leaves every table at its previous version (orphan data
  files of an unfinished Delta commit are never referenced; ``vacuum_tables`` deletes them,
  and files replaced by later runs, once they are a week old).
* The unit a run replaces is a *delivery*: a file, named by its path relative to the input
  root (with its sheets). ``deliveries`` keeps every delivered row with its lineage
  (partitioned by snapshot_date); a file delivered again at the same path replaces its
  earlier rows there. ``creator_snapshots`` of each snapshot_date a run touches is derived
  again from all deliveries of that date by ``transforms.merge`` (the later delivery wins;
  the losing rows go to quarantine as ``superseded``); ``creators`` is recomputed from it.
* A publish first records the dates it is changing (the store's pending record: Delta's
  ``.publish_pending.json``) and clears the record after the ledger commit: a run killed in
  between leaves the record, and the next run derives those dates again, healing the tables.
* One run at a time per --out: an exclusive lock file (``.roster.lock``, ``adapters.lock``).
* The run manifest is written last, atomically (temp file + rename).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl

from adapters.config import load_niche_taxonomy, load_quality_rules
from adapters.store import VACUUM_RETENTION_HOURS, TableStore, read_table, versions
from adapters.writers import write_csv_safe, write_json_atomic, write_text_atomic
from schemas.reasons import Reason
from schemas.tables import (
    CONTACTS,
    CREATORS,
    DELIVERIES,
    LEDGER,
    QUARANTINE,
    SNAPSHOTS,
    polars_schema,
)
from schemas.vocabulary import FileStatus
from transforms.creators import creators_from_snapshots as creators_transform
from transforms.profile import profile_snapshots
from transforms.safety import neutralise_formulas

__all__ = [
    "CONTACTS",
    "CREATORS",
    "DELIVERIES",
    "LEDGER",
    "QUARANTINE",
    "SNAPSHOTS",
    "neutralise_formulas",
    "write_csv_safe",
    "write_json_atomic",
    "write_text_atomic",
]

RUN_TABLES = (DELIVERIES, SNAPSHOTS, QUARANTINE, CREATORS, LEDGER)  # what a run commits
ALL_TABLES = (DELIVERIES, SNAPSHOTS, CREATORS, QUARANTINE, LEDGER, CONTACTS)


def table_versions(store: TableStore) -> dict[str, int | None]:
    """The current version of each table a run commits (None: not created yet)."""
    return versions(store, RUN_TABLES)


def publish_snapshots(store: TableStore, enriched: Path | pl.DataFrame, run_id: str) -> int | None:
    """Replace every (platform, snapshot_date) the rows carry, in one commit (kept for
    single-platform loads; a run derives its dates from the deliveries instead).

    ``enriched`` is a staged parquet file or frame, sorted by snapshot_date. The commit
    replaces whole ``snapshot_date`` partitions; rows of *other* platforms already published
    in those partitions are carried over into the new files, so only the given (platform,
    snapshot_date) pairs change.
    """
    data = pl.read_parquet(enriched) if isinstance(enriched, Path) else enriched
    keys = data.select("platform", "snapshot_date").unique()
    if keys.height == 0:
        return store.version(SNAPSHOTS)
    dates = keys.get_column("snapshot_date").unique().sort()
    if not data.get_column("snapshot_date").is_sorted():
        data = data.rechunk().sort("snapshot_date", maintain_order=True)
    if store.exists(SNAPSHOTS):
        kept = (
            store.scan(SNAPSHOTS)
            .filter(pl.col("snapshot_date").is_in(dates.implode()))
            .join(keys.lazy(), on=["platform", "snapshot_date"], how="anti")
            .collect()
        )
        if kept.height:  # rare: another platform published on the same dates
            data = pl.concat([data, kept.select(data.columns)], how="vertical_relaxed")
            data = data.rechunk().sort("snapshot_date", maintain_order=True)
    return store.replace_partitions(
        SNAPSHOTS, data.lazy(), "snapshot_date", dates.to_list(), run_id=run_id
    )


def creators_from_snapshots(snapshots: pl.LazyFrame | pl.DataFrame) -> pl.DataFrame:
    """``creators`` rows in the table's contract types: the whole snapshot history through
    ``transforms.profile`` (identity, niche, peers, audience quality, currency), then the
    latest row and growth per ``creator_id`` (see ``transforms.creators``)."""
    profiled = profile_snapshots(
        snapshots.lazy(), load_quality_rules(), load_niche_taxonomy()
    ).collect()
    return creators_transform(profiled, polars_schema(CREATORS), key="creator_id")


def publish_creators(store: TableStore, run_id: str) -> int | None:
    """``creators`` recomputed from the whole of ``creator_snapshots``, partitioned by
    platform, replacing the table."""
    if not store.exists(SNAPSHOTS):
        return None
    creators = creators_from_snapshots(store.scan(SNAPSHOTS))
    return store.overwrite(CREATORS, creators.lazy(), partition_by="platform", run_id=run_id)


def vacuum_tables(
    store: TableStore, retention_hours: int = VACUUM_RETENTION_HOURS
) -> dict[str, int]:
    """Delete data files that no current table version uses and that are older than the
    retention: files replaced by later runs, and orphans of runs killed before their
    commit. Without this every nightly run would leave its replaced files on disk for
    ever. Returns the number of files deleted per table."""
    return store.vacuum(ALL_TABLES, retention_hours)


def read_ledger(store: TableStore) -> pl.DataFrame | None:
    """The ledger, one row per delivery (file or sheet) in its current version. Ledgers
    written before deliveries were tracked get ``delivery_file`` = ``source_file``."""
    ledger = read_table(store, LEDGER)
    if ledger is None:
        return None
    if "delivery_file" not in ledger.columns:
        ledger = ledger.with_columns(delivery_file=pl.col("source_file"))
    if "delivered_at" not in ledger.columns:
        ledger = ledger.with_columns(delivered_at=pl.col("processed_at"))
    return ledger


def ledger_lookup(store: TableStore, processing_key: str) -> dict[tuple[str, str | None], str]:
    """(delivery file, sha256) -> run id, for files already processed at that path with
    those bytes, this rate card and these options. A file with the same bytes at another
    path is a different delivery, so it is not in here under that path."""
    ledger = read_ledger(store)
    if ledger is None:
        return {}
    done = ledger.filter(
        (pl.col("processing_key") == processing_key) & (pl.col("status") == FileStatus.OK.value)
    )
    return {
        (f, sha): run
        for f, sha, run in done.select("delivery_file", "sha256", "run_id")
        .unique(["delivery_file", "sha256"], keep="last", maintain_order=True)
        .iter_rows()
    }


# The file-level options at fixed positions of a ledger's processing key (after the rate
# card version and the tier scheme), as every release has written them; later file-level
# options follow the mapping part as name=value (adapters.run.processing_key_of).
KEYED_OPTIONS = ("platform", "snapshot_date")


def remembered_options(
    store: TableStore,
) -> dict[tuple[str, str | None], tuple[dict[str, str], str]]:
    """(delivery file, sha256) -> (file-level options given for that file in the run that
    loaded it, that run's id): a later run that gives none applies them again, so an
    undated export dated once stays dated."""
    ledger = read_ledger(store)
    if ledger is None:
        return {}
    done = ledger.filter(pl.col("status") == FileStatus.OK.value).unique(
        ["delivery_file", "sha256"], keep="last", maintain_order=True
    )
    out: dict[tuple[str, str | None], tuple[dict[str, str], str]] = {}
    for f, sha, key, run in done.select(
        "delivery_file", "sha256", "processing_key", "run_id"
    ).iter_rows():
        given = options_in_key(key)
        if given:
            out[(f, sha)] = (given, run)
    return out


def options_in_key(key: str) -> dict[str, str]:
    """The file-level options a processing key records (see ``KEYED_OPTIONS``)."""
    parts = key.split("/")
    given = {
        name: parts[2 + i]
        for i, name in enumerate(KEYED_OPTIONS)
        if len(parts) > 2 + i and parts[2 + i] != "-"
    }
    named = parts[3 + len(KEYED_OPTIONS) :]
    given.update(dict(p.split("=", 1) for p in named if "=" in p))
    return given


def loaded_copies(store: TableStore) -> dict[str, tuple[str, str]]:
    """sha256 -> (delivery file, run id) of every delivery loaded: a file with the same
    bytes under another name is flagged as a copy of it."""
    ledger = read_ledger(store)
    if ledger is None:
        return {}
    return {
        sha: (f, run)
        for sha, f, run in ledger.sort("delivery_file")
        .select("sha256", "delivery_file", "run_id")
        .unique("sha256", keep="first", maintain_order=True)
        .iter_rows()
    }


def delivered_at_of(store: TableStore) -> dict[tuple[str, str], dt.datetime]:
    """(delivery file, sha256) -> when those bytes were first loaded at that path."""
    ledger = read_ledger(store)
    if ledger is None:
        return {}
    return {
        (f, sha): when
        for f, sha, when in ledger.select("delivery_file", "sha256", "delivered_at").iter_rows()
    }


def source_files_of(store: TableStore, files: list[str]) -> list[str]:
    """Every ``source_file`` (sheet) the tables hold for these delivery files, in any earlier
    version: a workbook delivered again without one of its sheets drops that sheet too."""
    found: set[str] = set()
    ledger = read_ledger(store)
    if ledger is not None:
        found |= set(ledger.filter(pl.col("delivery_file").is_in(files)).get_column("source_file"))
    if store.exists(DELIVERIES):
        found |= set(
            store.scan(DELIVERIES)
            .filter(pl.col("delivery_file").is_in(files))
            .select(pl.col("source_file").unique())
            .collect()
            .get_column("source_file")
        )
    return sorted(found)


def publish_ledger(
    store: TableStore, rows: list[dict], files: list[str], run_id: str
) -> int | None:
    """One row per delivery (sheet) in its current version: a delivery file processed
    again replaces all its earlier rows."""
    if not rows:
        return store.version(LEDGER)
    df = pl.DataFrame(rows).with_columns(
        processed_at=pl.lit(dt.datetime.now(dt.UTC))
        .dt.replace_time_zone(None)
        .cast(pl.Datetime("us"))
    )
    existing = read_ledger(store)  # older ledgers get their missing columns here
    data = df
    if existing is not None:
        keep = existing.filter(~pl.col("delivery_file").is_in(files))
        if keep.height:
            data = pl.concat([keep.select(df.columns), df], how="vertical_relaxed")
    return store.overwrite(LEDGER, data.lazy(), run_id=run_id)


# ----------------------------------------------------------------------------- deliveries
def pending_dates(store: TableStore) -> list[dt.date]:
    """Snapshot dates a publish that did not finish was changing: they are derived again."""
    record = store.read_pending()
    if record is None:
        return []
    return [dt.date.fromisoformat(d) for d in record["snapshot_dates"]]


def mark_pending(store: TableStore, run_id: str, dates: list[dt.date]) -> None:
    store.write_pending({"run_id": run_id, "snapshot_dates": sorted(d.isoformat() for d in dates)})


def clear_pending(store: TableStore) -> None:
    store.clear_pending()


def delivery_dates(store: TableStore, files: list[str]) -> list[dt.date]:
    """Snapshot dates on which the deliveries table holds rows of these delivery files."""
    if not files or not store.exists(DELIVERIES):
        return []
    return (
        store.scan(DELIVERIES)
        .filter(pl.col("delivery_file").is_in(files))
        .select(pl.col("snapshot_date").unique().sort())
        .collect()
        .get_column("snapshot_date")
        .to_list()
    )


def delivery_rows(
    store: TableStore, dates: list[dt.date], replaced: list[str]
) -> pl.DataFrame | None:
    """The delivered rows of ``dates`` that stay: all but those of the ``replaced`` files."""
    if not dates or not store.exists(DELIVERIES):
        return None
    return (
        store.scan(DELIVERIES)
        .filter(
            pl.col("snapshot_date").is_in(pl.Series(dates, dtype=pl.Date).implode())
            & ~pl.col("delivery_file").is_in(replaced)
        )
        .collect()
    )


def publish_dates(
    store: TableStore, name: str, rows: pl.DataFrame, dates: list[dt.date], run_id: str
) -> int | None:
    """Replace the ``dates`` partitions of table ``name`` with ``rows`` (sorted by
    snapshot_date), in one commit. A date without rows is emptied."""
    if not dates or (not store.exists(name) and rows.height == 0):
        return store.version(name)
    return store.replace_partitions(
        name, rows.lazy(), "snapshot_date", sorted(dates), run_id=run_id
    )


def publish_quarantine_for(
    store: TableStore,
    quarantine: pl.DataFrame,
    source_files: list[str],
    dates: list[dt.date],
    run_id: str,
) -> int | None:
    """Replace the quarantine rows of ``source_files`` and the ``superseded`` rows of
    ``dates`` (recomputed by the merge of those dates) with ``quarantine``."""
    data = quarantine.lazy()
    if store.exists(QUARANTINE):
        stale = pl.col("source_file").is_in(source_files) | (
            (pl.col("reason") == Reason.SUPERSEDED.value)
            & pl.col("snapshot_date").is_in(pl.Series(dates, dtype=pl.Date).implode())
        )
        keep = store.scan(QUARANTINE).filter(~stale)
        columns = store.schema(QUARANTINE).names()
        data = pl.concat([keep, data.select(columns)], how="vertical_relaxed")
    data = data.sort("source_file", "source_row", "reason", nulls_last=False)
    return store.overwrite(QUARANTINE, data, run_id=run_id)


def publish_contacts(store: TableStore, contacts: pl.DataFrame, run_id: str) -> int | None:
    """Contact data, only with --keep-contacts, in its own table (not in the BI catalog):
    a creator's contacts replace their earlier ones."""
    if contacts.height == 0:
        return store.version(CONTACTS)
    return store.merge_by_key(CONTACTS, contacts.lazy(), "creator_key", run_id=run_id)


WORKBOOK_SHEET = r"^(.*\.(?:xlsx|xlsm|xls|xlsb|ods))#.*$"


def seed_deliveries(store: TableStore, run_id: str) -> int | None:
    """An --out published before deliveries were kept has ``creator_snapshots`` but no
    ``deliveries``: its snapshot rows become the deliveries (one per source file, delivered
    when the ledger says it was processed), so the first merge keeps every one of them."""
    if store.exists(DELIVERIES) or not store.exists(SNAPSHOTS):
        return None
    rows = store.scan(SNAPSHOTS).collect()
    ledger = read_ledger(store)
    known = (
        ledger.select("source_file", "sha256", "delivered_at").unique(
            "source_file", keep="last", maintain_order=True
        )
        if ledger is not None
        else pl.DataFrame(
            schema={
                "source_file": pl.String,
                "sha256": pl.String,
                "delivered_at": pl.Datetime("us"),
            }
        )
    )
    rows = (
        rows.join(known, on="source_file", how="left")
        .with_columns(
            delivery_file=pl.col("source_file").str.replace(WORKBOOK_SHEET, "$1"),
            sha256=pl.col("sha256").fill_null(""),
            delivered_at=pl.col("delivered_at")
            .cast(pl.Datetime("us"))
            .fill_null(dt.datetime(1970, 1, 1)),
            file_modified_at=pl.lit(None, pl.Datetime("us")),
        )
        .select(*rows.columns, "delivery_file", "sha256", "delivered_at", "file_modified_at")
        .sort("snapshot_date", maintain_order=True)
    )
    return store.overwrite(DELIVERIES, rows.lazy(), partition_by="snapshot_date", run_id=run_id)
