"""Publish to Delta Lake tables under --out, safely.

* Each table write is one Delta commit: data files first, then an atomic log entry. A run
  killed mid-publish leaves every table at its previous version (orphan data files of an
  unfinished commit are never referenced and are removed by ``vacuum``).
* ``creator_snapshots`` replaces the rows of each (platform, snapshot_date) it carries, so
  re-running the same inputs never duplicates history; ``quarantine`` replaces the rows of
  each source file it carries; ``creators`` (latest snapshot per creator) is recomputed.
* One run at a time per --out: an exclusive lock file (``.roster.lock``).
* The run manifest is written last, atomically (temp file + rename).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

import polars as pl
from deltalake import DeltaTable

SNAPSHOTS = "creator_snapshots"
CREATORS = "creators"
QUARANTINE = "quarantine"
LEDGER = "ledger"
CONTACTS = "contacts"
LOCK_NAME = ".roster.lock"


class OutputLocked(RuntimeError):
    pass


@contextlib.contextmanager
def exclusive_lock(out: Path, run_id: str, wait_seconds: float = 0.0) -> Iterator[None]:
    """Hold ``OUT/.roster.lock`` for the whole run; wait up to ``wait_seconds`` for it."""
    out.mkdir(parents=True, exist_ok=True)
    path = out / LOCK_NAME
    fh = path.open("a+")
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            if time.monotonic() >= deadline:
                fh.seek(0)
                holder = fh.read().strip() or "another run"
                fh.close()
                raise OutputLocked(
                    f"{out} is being written by {holder}; this run stopped without changing "
                    "anything. Run again when it has finished, or pass --wait-lock SECONDS "
                    "to wait for it."
                ) from None
            time.sleep(0.5)
    try:
        fh.seek(0)
        fh.truncate()
        fh.write(
            f"run {run_id} (pid {os.getpid()}, "
            f"started {dt.datetime.now(dt.UTC):%Y-%m-%dT%H:%M:%SZ})"
        )
        fh.flush()
        yield
    finally:
        fh.seek(0)
        fh.truncate()
        fh.flush()
        fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
        fh.close()


def table_path(out: Path, name: str) -> Path:
    return out / name


def scan_table(path: Path) -> pl.LazyFrame:
    """A Delta table through pyarrow's dataset: polars' native reader infers hive columns
    from *every* ``key=value`` folder of the path, so an --out under ``/data/env=prod/``
    would fail."""
    # pyarrow's reader is slower and not streaming (10M rows: 35 s, 10.9 GiB for creators):
    # use it only where polars' own reader would fail
    return pl.scan_delta(str(path), use_pyarrow="=" in str(path.resolve()))


def table_exists(path: Path) -> bool:
    return (path / "_delta_log").is_dir()


def read_table(out: Path, name: str) -> pl.DataFrame | None:
    path = table_path(out, name)
    return scan_table(path).collect() if table_exists(path) else None


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def parquet_stream(path: str | Path, batch_rows: int = 262_144) -> object:
    """A sorted staged parquet file as an Arrow stream: the Delta writer then holds one
    batch at a time instead of the whole table."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    pf = pq.ParquetFile(str(path))
    return pa.RecordBatchReader.from_batches(
        pf.schema_arrow, pf.iter_batches(batch_size=batch_rows)
    )


def _write(
    path: Path,
    df: pl.DataFrame | Path,
    *,
    predicate: str | None,
    partition_by: list[str] | None,
    run_id: str,
) -> int:
    opts: dict = {}
    if partition_by:
        opts["partition_by"] = partition_by
    meta = {"run_id": run_id}
    from deltalake import CommitProperties

    opts["commit_properties"] = CommitProperties(custom_metadata=meta)
    if isinstance(df, Path):  # a staged parquet file, streamed batch by batch
        from deltalake import WriterProperties, write_deltalake

        # Small row groups: the writer keeps one open file per partition, and with many
        # partitions (710 snapshot dates in the 10M benchmark) big row-group buffers held the
        # whole table in memory (8.6 GiB peak -> 4.3 GiB, and faster).
        opts["writer_properties"] = WriterProperties(max_row_group_size=16_384)
        mode = "overwrite" if table_exists(path) else "append"
        if mode == "overwrite" and predicate:
            opts["predicate"] = predicate
        elif mode == "overwrite":
            opts["schema_mode"] = "overwrite"
        write_deltalake(str(path), parquet_stream(df), mode=mode, **opts)  # type: ignore[arg-type]
        return DeltaTable(str(path)).version()
    if not table_exists(path):
        df.write_delta(str(path), mode="append", delta_write_options=opts)
    elif predicate is None:
        df.write_delta(
            str(path), mode="overwrite", delta_write_options={**opts, "schema_mode": "overwrite"}
        )
    else:
        if predicate:
            opts["predicate"] = predicate
        df.write_delta(str(path), mode="overwrite", delta_write_options=opts)
    return DeltaTable(str(path)).version()


def publish_snapshots(out: Path, enriched: Path | pl.DataFrame, run_id: str) -> int | None:
    """Replace every (platform, snapshot_date) the run carries, in one commit.

    ``enriched`` is the staged parquet of the run, sorted by snapshot_date. The commit's
    predicate names whole ``snapshot_date`` partitions (a cheap, file-level replace); rows
    of *other* platforms already published in those partitions are carried over into the
    new files, so only the run's own (platform, snapshot_date) pairs change.
    """
    path = table_path(out, SNAPSHOTS)
    staged = pl.scan_parquet(enriched) if isinstance(enriched, Path) else enriched.lazy()
    keys = staged.select("platform", "snapshot_date").unique().collect()
    if keys.height == 0:
        return DeltaTable(str(path)).version() if table_exists(path) else None
    dates = keys.get_column("snapshot_date").unique().sort()
    data: Path | pl.DataFrame = (
        enriched
        if isinstance(enriched, Path)
        else enriched.sort("snapshot_date", "platform", "creator_key")
    )
    if table_exists(path):
        kept = (
            scan_table(path)
            .filter(pl.col("snapshot_date").is_in(dates.implode()))
            .join(keys.lazy(), on=["platform", "snapshot_date"], how="anti")
            .collect()
        )
        if kept.height:  # rare: another platform published on the same dates
            columns = staged.collect_schema().names()
            data = pl.concat([staged.collect(), kept.select(columns)], how="vertical_relaxed")
            data = data.sort("snapshot_date", "platform", "creator_key")
    predicate = "snapshot_date IN (" + ", ".join(f"'{d.isoformat()}'" for d in dates) + ")"
    # Sorted by the partition column, the Delta writer keeps one partition open at a time:
    # 10M rows over 710 dates write in 17 s instead of 58 s.
    return _write(path, data, predicate=predicate, partition_by=["snapshot_date"], run_id=run_id)


def publish_quarantine(
    out: Path, quarantine: pl.DataFrame, files: list[str], run_id: str
) -> int | None:
    path = table_path(out, QUARANTINE)
    if not files:
        return DeltaTable(str(path)).version() if table_exists(path) else None
    predicate = "source_file IN (" + ", ".join(_quote(f) for f in sorted(files)) + ")"
    return _write(path, quarantine, predicate=predicate, partition_by=None, run_id=run_id)


def creators_from_snapshots(snapshots: pl.LazyFrame | pl.DataFrame) -> pl.LazyFrame | pl.DataFrame:
    """Latest snapshot per creator, with growth against the creator's previous snapshot.

    Aggregates on three narrow columns, then joins the latest full rows: no full-width sort.
    """
    from flows.dictionary import polars_schema

    if isinstance(snapshots, pl.DataFrame):
        return creators_from_snapshots(snapshots.lazy()).collect()  # type: ignore[union-attr]
    date = pl.col("snapshot_date")
    narrow = snapshots.select("creator_key", "snapshot_date", "followers")
    stats = narrow.group_by("creator_key").agg(
        date.max().alias("snapshot_date"),
        date.min().alias("first_seen_date"),
        pl.len().cast(pl.Int64).alias("snapshots_count"),
    )
    # the previous snapshot: the latest among the rows that are not the latest
    prev = (
        narrow.join(
            stats.select("creator_key", "snapshot_date"),
            on=["creator_key", "snapshot_date"],
            how="anti",
        )
        .group_by("creator_key")
        .agg(pl.all().sort_by("snapshot_date").last())
        .rename({"snapshot_date": "snapshot_date_prev", "followers": "followers_prev"})
    )
    return (
        snapshots.join(stats, on=["creator_key", "snapshot_date"], how="inner")
        .join(prev, on="creator_key", how="left")
        .with_columns(
            followers_change=pl.col("followers") - pl.col("followers_prev"),
            followers_change_pct=pl.when(pl.col("followers_prev") > 0).then(
                (pl.col("followers") - pl.col("followers_prev")) / pl.col("followers_prev")
            ),
        )
        .select(list(polars_schema(CREATORS)))
    )


def publish_creators(out: Path, run_id: str) -> int | None:
    path = table_path(out, SNAPSHOTS)
    if not table_exists(path):
        return None
    staged = out / "_staging" / f"creators-{run_id}.parquet"
    staged.parent.mkdir(parents=True, exist_ok=True)
    try:
        creators = creators_from_snapshots(scan_table(path))
        creators.sort("platform", "creator_key").sink_parquet(staged, compression="lz4")  # type: ignore[union-attr]
        return _write(
            table_path(out, CREATORS),
            staged,
            predicate=None,
            partition_by=["platform"],
            run_id=run_id,
        )
    finally:
        staged.unlink(missing_ok=True)


def write_json_atomic(path: Path, payload: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with tmp.open("w", encoding="utf-8") as fh:
        json.dump(payload, fh, indent=2, ensure_ascii=False, default=str)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def write_text_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def remove_stale_staging(out: Path) -> None:
    """Staging folders of runs that died; only call while holding the lock."""
    import shutil

    staging = out / "_staging"
    if staging.is_dir():
        for child in staging.iterdir():
            shutil.rmtree(child, ignore_errors=True)


def ledger_lookup(out: Path, processing_key: str) -> dict[str, str]:
    """sha256 -> run id, for files already processed with this rate card and scheme."""
    path = table_path(out, LEDGER)
    if not table_exists(path):
        return {}
    ledger = (
        scan_table(path)
        .collect()
        .filter((pl.col("processing_key") == processing_key) & (pl.col("status") == "ok"))
    )
    return dict(ledger.select("sha256", "run_id").unique("sha256", keep="last").iter_rows())


def publish_ledger(out: Path, rows: list[dict], run_id: str) -> int | None:
    """One row per processed file and processing key; a file processed again replaces its row."""
    path = table_path(out, LEDGER)
    if not rows:
        return DeltaTable(str(path)).version() if table_exists(path) else None
    df = pl.DataFrame(rows).with_columns(
        processed_at=pl.lit(dt.datetime.now(dt.UTC))
        .dt.replace_time_zone(None)
        .cast(pl.Datetime("us"))
    )
    data = df
    if table_exists(path):
        existing = scan_table(path).collect()
        keep = existing.join(
            df.select("sha256", "processing_key").unique(),
            on=["sha256", "processing_key"],
            how="anti",
        )
        data = (
            pl.concat([keep, df.select(existing.columns)], how="vertical_relaxed")
            if keep.height
            else df
        )
    return _write(path, data, predicate=None, partition_by=None, run_id=run_id)


def publish_contacts(out: Path, contacts: pl.DataFrame, run_id: str) -> int | None:
    """Contact data, only with --keep-contacts, in its own table (not in the BI catalog)."""
    path = table_path(out, CONTACTS)
    if contacts.height == 0:
        return DeltaTable(str(path)).version() if table_exists(path) else None
    keys = contacts.get_column("creator_key").unique().sort()
    data = contacts
    if table_exists(path):
        existing = scan_table(path).collect().filter(~pl.col("creator_key").is_in(keys.implode()))
        data = pl.concat([existing, contacts.select(existing.columns)], how="vertical_relaxed")
    return _write(path, data, predicate=None, partition_by=None, run_id=run_id)


FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralise_formulas(df: pl.DataFrame) -> pl.DataFrame:
    """Text cells that a spreadsheet would run as a formula (=, +, -, @, tab, CR first) get a
    leading apostrophe, so opening the file in Excel or Sheets never executes them."""
    text_cols = [c for c, t in df.schema.items() if t == pl.String]
    return df.with_columns(
        [
            pl.when(pl.col(c).str.contains(r"^[=+\-@\t\r]"))
            .then(pl.lit("'") + pl.col(c))
            .otherwise(pl.col(c))
            .alias(c)
            for c in text_cols
        ]
    )


def write_csv_safe(path: Path, df: pl.DataFrame) -> None:
    """A CSV for people (opened in spreadsheets): formulas neutralised, written atomically."""
    flat = df.with_columns(
        [
            pl.col(c).cast(pl.List(pl.String)).list.join("|")
            for c, t in df.schema.items()
            if isinstance(t, pl.List)
        ]
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    neutralise_formulas(flat).write_csv(tmp)
    os.replace(tmp, path)
