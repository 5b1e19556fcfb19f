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
        fh.write(f"run {run_id} (pid {os.getpid()}, started {dt.datetime.now(dt.UTC):%Y-%m-%dT%H:%M:%SZ})")
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


def table_exists(path: Path) -> bool:
    return (path / "_delta_log").is_dir()


def read_table(out: Path, name: str) -> pl.DataFrame | None:
    path = table_path(out, name)
    return pl.read_delta(str(path)) if table_exists(path) else None


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _write(
    path: Path,
    df: pl.DataFrame,
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
    if not table_exists(path):
        df.write_delta(str(path), mode="append", delta_write_options=opts)
    elif predicate is None:
        df.write_delta(str(path), mode="overwrite", delta_write_options={**opts, "schema_mode": "overwrite"})
    else:
        if predicate:
            opts["predicate"] = predicate
        df.write_delta(str(path), mode="overwrite", delta_write_options=opts)
    return DeltaTable(str(path)).version()


def publish_snapshots(out: Path, enriched: pl.DataFrame, run_id: str) -> int | None:
    path = table_path(out, SNAPSHOTS)
    if enriched.height == 0:
        return DeltaTable(str(path)).version() if table_exists(path) else None
    keys = enriched.select("platform", "snapshot_date").unique().sort("platform", "snapshot_date")
    predicate = " OR ".join(
        f"(platform = {_quote(p)} AND snapshot_date = '{d.isoformat()}')" for p, d in keys.iter_rows()
    )
    return _write(path, enriched, predicate=predicate, partition_by=["snapshot_date"], run_id=run_id)


def publish_quarantine(out: Path, quarantine: pl.DataFrame, files: list[str], run_id: str) -> int | None:
    path = table_path(out, QUARANTINE)
    if not files:
        return DeltaTable(str(path)).version() if table_exists(path) else None
    predicate = "source_file IN (" + ", ".join(_quote(f) for f in sorted(files)) + ")"
    return _write(path, quarantine, predicate=predicate, partition_by=None, run_id=run_id)


def creators_from_snapshots(snapshots: pl.DataFrame) -> pl.DataFrame:
    """Latest snapshot per creator, with growth against the creator's previous snapshot."""
    ordered = snapshots.sort("creator_key", "snapshot_date")
    with_prev = ordered.with_columns(
        followers_prev=pl.col("followers").shift(1).over("creator_key"),
        snapshot_date_prev=pl.col("snapshot_date").shift(1).over("creator_key"),
        snapshots_count=pl.len().over("creator_key").cast(pl.Int64),
        first_seen_date=pl.col("snapshot_date").min().over("creator_key"),
    )
    latest = with_prev.filter(pl.col("snapshot_date") == pl.col("snapshot_date").max().over("creator_key"))
    return latest.with_columns(
        followers_change=pl.col("followers") - pl.col("followers_prev"),
        followers_change_pct=pl.when(pl.col("followers_prev") > 0).then(
            (pl.col("followers") - pl.col("followers_prev")) / pl.col("followers_prev")
        ),
    ).sort("platform", "creator_key")


def publish_creators(out: Path, run_id: str) -> int | None:
    snapshots = read_table(out, SNAPSHOTS)
    if snapshots is None:
        return None
    creators = creators_from_snapshots(snapshots)
    return _write(table_path(out, CREATORS), creators, predicate=None, partition_by=["platform"], run_id=run_id)


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
