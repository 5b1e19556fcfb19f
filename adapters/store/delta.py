"""The tables as Delta Lake tables in one folder (``OUT/<name>``): each write is one Delta
commit, data files first, then an atomic log entry. A process killed before the entry leaves
the table at its previous version; the data files of the unfinished commit are never
referenced, and ``vacuum`` deletes them (and files replaced by later commits) once they are
older than the retention.

Partitioned tables are written in hive layout (``snapshot_date=2026-10-01/part-....parquet``,
the partition column left out of the file as Delta does), one file per partition value, with
Delta statistics per file; unpartitioned tables through ``write_delta``. The record of a
publish in progress is ``OUT/.publish_pending.json``.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import time
import uuid
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import polars as pl
from deltalake import DeltaTable

from adapters.store.base import (
    VACUUM_RETENTION_HOURS,
    MissingTable,
    check_partition_value,
    check_partitioning,
    conform,
    partition_text,
)
from adapters.writers import write_json_atomic

PENDING_NAME = ".publish_pending.json"


class DeltaTableStore:
    """Delta tables under ``root``, one folder per table."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)

    def __repr__(self) -> str:
        return f"DeltaTableStore({str(self.root)!r})"

    def path(self, name: str) -> Path:
        return self.root / name

    def exists(self, name: str) -> bool:
        return _is_table(self.path(name))

    def version(self, name: str) -> int | None:
        return DeltaTable(str(self.path(name))).version() if self.exists(name) else None

    def scan(self, name: str) -> pl.LazyFrame:
        """The current version, pinned (polars would otherwise list the files when the frame
        is collected), through polars' own reader; or through pyarrow's dataset where that
        would fail: polars infers hive columns from *every* ``key=value`` folder of the
        path, so an --out under ``/data/env=prod/`` would fail."""
        if not self.exists(name):
            raise MissingTable(f"{name}: no such table in {self.root}")
        path = self.path(name)
        table = DeltaTable(str(path))
        if "=" not in str(path.resolve()):
            return pl.scan_delta(str(path), version=table.version())
        # pyarrow's reader is slower and not streaming (10M rows: 35 s, 10.9 GiB for
        # creators): only where polars' own reader would fail. Filters are applied by
        # polars: translated to pyarrow, a filter on a text column picks wrong rows
        # (polars 2.1, deltalake 1.6: none on a partitioned table, an error otherwise).
        return pl.scan_pyarrow_dataset(table.to_pyarrow_dataset(), allow_pyarrow_filter=False)

    def schema(self, name: str) -> pl.Schema:
        return self.scan(name).collect_schema()

    def replace_partitions(
        self, name: str, rows: pl.LazyFrame, column: str, values: Sequence[Any], *, run_id: str
    ) -> int:
        path = self.path(name)
        df = rows.collect()
        if self.exists(name):
            check_partitioning(name, self._partition_columns(name), column)
            df = conform(df, self.schema(name), name, str(path))
        return _commit_partitioned(path, df, column, replace=sorted(values), run_id=run_id)

    def merge_by_key(self, name: str, rows: pl.LazyFrame, key: str, *, run_id: str) -> int:
        """The kept rows, then the new ones, rewritten in one commit (a full rewrite: the
        tables merged by key are small)."""
        path = self.path(name)
        df = rows.collect()
        partition: str | None = None
        if self.exists(name):
            df = conform(df, self.schema(name), name, str(path))
            keys = df.get_column(key).unique().implode()
            kept = self.scan(name).filter(~pl.col(key).is_in(keys)).collect()
            df = pl.concat([kept, df], how="vertical_relaxed")
            partition = next(iter(self._partition_columns(name)), None)
        return self._overwrite(path, df, partition, run_id)

    def overwrite(
        self, name: str, rows: pl.LazyFrame, *, partition_by: str | None = None, run_id: str
    ) -> int:
        df = rows.collect()
        if self.exists(name):
            check_partitioning(name, self._partition_columns(name), partition_by)
        return self._overwrite(self.path(name), df, partition_by, run_id)

    @staticmethod
    def _overwrite(path: Path, df: pl.DataFrame, partition: str | None, run_id: str) -> int:
        if partition is not None:
            return _commit_partitioned(path, df, partition, replace=None, run_id=run_id)
        return _write_whole(path, df, run_id)

    def _partition_columns(self, name: str) -> list[str]:
        return list(DeltaTable(str(self.path(name))).metadata().partition_columns)

    def vacuum(
        self, names: Iterable[str], retention_hours: int = VACUUM_RETENTION_HOURS
    ) -> dict[str, int]:
        """Delete data files that no current table version uses and that are older than the
        retention: files replaced by later runs, and orphans of runs killed before their
        commit. Returns the number of files deleted per table."""
        removed = {}
        for name in names:
            if self.exists(name):
                deleted = DeltaTable(str(self.path(name))).vacuum(
                    retention_hours=retention_hours,
                    dry_run=False,
                    enforce_retention_duration=retention_hours >= VACUUM_RETENTION_HOURS,
                    full=True,
                )
                removed[name] = len(deleted)
        return removed

    def write_pending(self, record: dict[str, Any]) -> None:
        write_json_atomic(self.root / PENDING_NAME, record)

    def read_pending(self) -> dict[str, Any] | None:
        path = self.root / PENDING_NAME
        if not path.exists():
            return None
        record: dict[str, Any] = json.loads(path.read_text())
        return record

    def clear_pending(self) -> None:
        (self.root / PENDING_NAME).unlink(missing_ok=True)


def _is_table(path: Path) -> bool:
    return (path / "_delta_log").is_dir()


def _commit_properties(run_id: str) -> Any:
    from deltalake import CommitProperties

    return CommitProperties(custom_metadata={"run_id": run_id})


def _write_whole(path: Path, df: pl.DataFrame, run_id: str) -> int:
    """The table becomes ``df`` (created by the first write), one commit by ``write_delta``."""
    opts: dict[str, Any] = {"commit_properties": _commit_properties(run_id)}
    if not _is_table(path):
        df.write_delta(str(path), mode="append", delta_write_options=opts)
    else:
        df.write_delta(
            str(path), mode="overwrite", delta_write_options={**opts, "schema_mode": "overwrite"}
        )
    return DeltaTable(str(path)).version()


def _file_stats(piece: pl.DataFrame) -> str:
    """Delta ``stats`` JSON for one data file: row count, null counts, and min/max of the
    numeric and date columns (what readers use to skip files). One select per file: on
    10M rows the 710 small selects take 0.4 s, one streaming group-by took 4 s."""
    ranged = [c for c, t in piece.schema.items() if t.is_numeric() or t == pl.Date]
    plain = [c for c, t in piece.schema.items() if not t.is_nested()]
    parts = [pl.len().alias("n")]
    if plain:
        parts.append(pl.struct([pl.col(c).null_count() for c in plain]).alias("nulls"))
    if ranged:
        parts.append(pl.struct([pl.col(c).min() for c in ranged]).alias("min"))
        parts.append(pl.struct([pl.col(c).max() for c in ranged]).alias("max"))
    row = piece.select(parts).row(0, named=True)

    def present(values: dict) -> dict:
        out = {}
        for c, v in values.items():
            if isinstance(v, dt.date):
                out[c] = v.isoformat()
            elif v is not None and not (isinstance(v, float) and not math.isfinite(v)):
                out[c] = v
        return out

    return json.dumps(
        {
            "numRecords": row["n"],
            "minValues": present(row.get("min") or {}),
            "maxValues": present(row.get("max") or {}),
            "nullCount": row.get("nulls") or {},
        }
    )


def _pieces(df: pl.DataFrame, partition: str) -> Iterable[tuple[Any, pl.DataFrame]]:
    """(partition value, its rows without the partition column), in value order."""
    column = df.get_column(partition)
    data = df[[c for c in df.columns if c != partition]]  # a projection, no copy
    if column.is_sorted():  # consecutive runs of one value: zero-copy slices
        parts, offset = [], 0
        for run in column.rle().to_list():
            parts.append((run["value"], offset, run["len"]))
            offset += run["len"]
        return ((v, data.slice(o, n)) for v, o, n in parts)
    values = column.unique().sort().to_list()  # a few values (platforms): one copy at a time
    return ((v, data.filter(column == v)) for v in values)


def _add_files(path: Path, df: pl.DataFrame, partition: str, run_id: str) -> list[Any]:
    """One parquet file per partition value of ``df``, written but not yet committed."""
    from deltalake.transaction import AddAction

    actions: list[AddAction] = []
    now_ms = int(time.time() * 1000)
    for value, piece in _pieces(df, partition):
        text = check_partition_value(path.name, partition, value)
        folder = f"{partition}={text}"
        relative = f"{folder}/part-{run_id}-{uuid.uuid4().hex[:12]}.parquet"
        (path / folder).mkdir(parents=True, exist_ok=True)
        piece.write_parquet(path / relative, compression="snappy", row_group_size=131_072)
        actions.append(
            AddAction(
                path=relative,
                size=(path / relative).stat().st_size,
                partition_values={partition: text},
                modification_time=now_ms,
                data_change=True,
                stats=_file_stats(piece),
            )
        )
    return actions


def _commit_partitioned(
    path: Path, df: pl.DataFrame, partition: str, *, replace: list | None, run_id: str
) -> int:
    """Publish ``df`` to the Delta table at ``path`` in one commit, partitioned by ``partition``.

    polars writes one parquet file per partition value (hive layout), then a single Delta
    commit adds them and removes the files they replace: the partitions in ``replace``, or
    the whole table when it is None. Until that commit the new files are unreferenced, so
    readers (and a run killed half-way) see the previous version; ``vacuum`` removes such
    orphans. On 10M rows over 710 dates: 7.8 s, where ``write_deltalake`` took 14.1 s.
    """
    from deltalake import Schema as DeltaSchema
    from deltalake.transaction import AddAction, RemoveAction, create_table_with_add_actions

    actions = _add_files(path, df, partition, run_id)
    schema = DeltaSchema.from_arrow(df.head(0).to_arrow().schema)
    commit = _commit_properties(run_id)
    if not _is_table(path):
        create_table_with_add_actions(
            str(path),
            schema,
            actions,
            mode="append",
            partition_by=[partition],
            commit_properties=commit,
        )
    else:
        filters = (
            None if replace is None else [(partition, "in", [partition_text(v) for v in replace])]
        )
        changes: list[AddAction | RemoveAction] = list(actions)
        DeltaTable(str(path)).create_write_transaction(
            changes,
            mode="overwrite",
            schema=schema,
            partition_by=[partition],
            partition_filters=filters,
            commit_properties=commit,
        )
    return DeltaTable(str(path)).version()
