"""The tables in memory: the twin of ``DeltaTableStore`` for running the pipeline's steps
without a disk (tests, notebooks). Same semantics (see ``adapters.store.base``): versions
from 0, one per commit, partitions replaced whole, the same refusals with the same
messages, types as Delta gives them back; a write that fails changes nothing. Each table
keeps every version it had until ``vacuum`` forgets the superseded ones."""

from __future__ import annotations

import copy
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import polars as pl

from adapters.store.base import (
    VACUUM_RETENTION_HOURS,
    MissingTable,
    check_partition_value,
    check_partitioning,
    conform,
    partition_text,
)

if TYPE_CHECKING:
    from polars._typing import PolarsDataType


@dataclass(frozen=True)
class Version:
    rows: pl.DataFrame
    partition_by: str | None
    run_id: str
    committed_at: float  # time.time()


def delta_type(dtype: PolarsDataType) -> pl.DataType:
    """The type a Delta table gives a column of ``dtype`` back as: no categoricals, no
    unsigned integers, timestamps in microseconds."""
    if isinstance(dtype, pl.Enum | pl.Categorical):
        return pl.String()
    if isinstance(dtype, pl.Datetime):
        return pl.Datetime("us", dtype.time_zone)
    if isinstance(dtype, pl.List):
        return pl.List(delta_type(dtype.inner))
    if isinstance(dtype, pl.Struct):
        return pl.Struct({f.name: delta_type(f.dtype) for f in dtype.fields})
    unsigned = {pl.UInt8: pl.Int8, pl.UInt16: pl.Int16, pl.UInt32: pl.Int32, pl.UInt64: pl.Int64}
    for u, signed in unsigned.items():
        if dtype == u:
            return signed()
    if dtype == pl.Null:
        raise TypeError("a column of only nulls has no type a Delta table can hold")
    return dtype() if isinstance(dtype, type) else dtype


def _columns(partition: str | None) -> list[str]:
    return [] if partition is None else [partition]


def as_delta(df: pl.DataFrame) -> pl.DataFrame:
    target = pl.Schema({c: delta_type(t) for c, t in df.schema.items()})
    return df if target == df.schema else df.cast(target)


class MemoryTableStore:
    """Tables as lists of versions in this process."""

    def __init__(self) -> None:
        self._tables: dict[str, list[Version | None]] = {}
        self._pending: dict[str, Any] | None = None

    def __repr__(self) -> str:
        return f"MemoryTableStore({ {n: len(v) - 1 for n, v in self._tables.items()} })"

    def exists(self, name: str) -> bool:
        return name in self._tables

    def version(self, name: str) -> int | None:
        return len(self._tables[name]) - 1 if name in self._tables else None

    def _current(self, name: str) -> Version:
        if name not in self._tables:
            raise MissingTable(f"{name}: no such table in memory")
        current = self._tables[name][-1]
        assert current is not None  # vacuum never forgets the current version
        return current

    def scan(self, name: str) -> pl.LazyFrame:
        return self._current(name).rows.lazy()

    def schema(self, name: str) -> pl.Schema:
        return self._current(name).rows.schema

    def _commit(self, name: str, rows: pl.DataFrame, partition: str | None, run_id: str) -> int:
        if partition is not None:
            for value in rows.get_column(partition).unique().to_list():
                check_partition_value(name, partition, value)
        version = Version(as_delta(rows), partition, run_id, time.time())
        self._tables.setdefault(name, []).append(version)
        return len(self._tables[name]) - 1

    def replace_partitions(
        self, name: str, rows: pl.LazyFrame, column: str, values: Sequence[Any], *, run_id: str
    ) -> int:
        df = rows.collect()
        if self.exists(name):
            current = self._current(name)
            check_partitioning(name, _columns(current.partition_by), column)
            df = conform(df, current.rows.schema, name, f"the {name} table")
            for value in values:
                partition_text(value)  # refused as Delta refuses it
            named = pl.Series(list(values), dtype=df.schema[column])
            kept = current.rows.filter(~pl.col(column).is_in(named.implode()))
            df = pl.concat([kept, df]).sort(column, maintain_order=True)
        return self._commit(name, df, column, run_id)

    def merge_by_key(self, name: str, rows: pl.LazyFrame, key: str, *, run_id: str) -> int:
        df = rows.collect()
        partition = None
        if self.exists(name):
            current = self._current(name)
            df = conform(df, current.rows.schema, name, f"the {name} table")
            keys = df.get_column(key).unique().implode()
            df = pl.concat([current.rows.filter(~pl.col(key).is_in(keys)), df])
            partition = current.partition_by
        return self._commit(name, df, partition, run_id)

    def overwrite(
        self, name: str, rows: pl.LazyFrame, *, partition_by: str | None = None, run_id: str
    ) -> int:
        df = rows.collect()
        if self.exists(name):
            check_partitioning(name, _columns(self._current(name).partition_by), partition_by)
        return self._commit(name, df, partition_by, run_id)

    def vacuum(
        self, names: Iterable[str], retention_hours: int = VACUUM_RETENTION_HOURS
    ) -> dict[str, int]:
        """Forget the superseded versions committed before the retention; returns how many
        versions were forgotten per table (their numbers stay taken)."""
        cutoff = time.time() - retention_hours * 3600
        removed = {}
        for name in names:
            if name in self._tables:
                history = self._tables[name]
                old = [
                    i
                    for i, v in enumerate(history[:-1])
                    if v is not None and v.committed_at <= cutoff
                ]
                for i in old:
                    history[i] = None
                removed[name] = len(old)
        return removed

    def write_pending(self, record: dict[str, Any]) -> None:
        self._pending = copy.deepcopy(record)

    def read_pending(self) -> dict[str, Any] | None:
        return copy.deepcopy(self._pending)

    def clear_pending(self) -> None:
        self._pending = None
