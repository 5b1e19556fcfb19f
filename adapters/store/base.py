"""What publishing needs from a table store, and the rules every store applies alike.

A store holds named tables, each a sequence of versions (0 for the commit that created it,
then one more per commit). Reads are lazy: ``scan`` returns a LazyFrame of the current
version, pinned to it (a later commit does not change what an earlier scan reads, so a
commit may be computed from a scan of the table it replaces). Every
write takes a LazyFrame and is *one* commit of one table: until it lands, readers (and a run
killed half-way) see the previous version; a write that fails leaves that version current.

* ``replace_partitions``: the table's partitions named by ``values`` (of its partition
  column) are replaced by ``rows``: a named partition without rows is emptied, the others
  are kept. The rows take the table's column types; other columns are refused.
* ``merge_by_key``: rows whose ``key`` is among the new rows' keys are replaced by them, the
  others kept. Same column rule.
* ``overwrite``: the whole table becomes ``rows``, columns included (not its partitioning:
  a commit that would change it is refused, as are those of the other two).

Partition values are dates or plain names (``SAFE_PARTITION_VALUE``); anything else, and
null, is refused rather than escaped, so no input text ever becomes a path.

A store also keeps the record of a publish in progress (``write_pending`` ...): a publish
spans several tables, so it records what it is changing first and clears the record after
its last commit; a record left behind tells the next run what to derive again.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from typing import Any, Protocol

import polars as pl

VACUUM_RETENTION_HOURS = 7 * 24  # Delta's default: readers can time-travel a week back
SAFE_PARTITION_VALUE = re.compile(r"^[A-Za-z0-9_.-]+$")


class MissingTable(LookupError):
    """A read of a table that has no version yet."""


class TableStore(Protocol):
    """Versioned tables, read lazily, each write one commit (see the module's docstring)."""

    def exists(self, name: str) -> bool: ...

    def version(self, name: str) -> int | None:
        """The current version; None when the table has none yet."""
        ...

    def scan(self, name: str) -> pl.LazyFrame:
        """The current version's rows; ``MissingTable`` when there is none."""
        ...

    def schema(self, name: str) -> pl.Schema: ...

    def replace_partitions(
        self, name: str, rows: pl.LazyFrame, column: str, values: Sequence[Any], *, run_id: str
    ) -> int: ...

    def merge_by_key(self, name: str, rows: pl.LazyFrame, key: str, *, run_id: str) -> int: ...

    def overwrite(
        self, name: str, rows: pl.LazyFrame, *, partition_by: str | None = None, run_id: str
    ) -> int: ...

    def vacuum(
        self, names: Iterable[str], retention_hours: int = VACUUM_RETENTION_HOURS
    ) -> dict[str, int]:
        """Forget what no current version uses and is older than the retention; per table
        the number of things removed (Delta: data files)."""
        ...

    def write_pending(self, record: dict[str, Any]) -> None: ...

    def read_pending(self) -> dict[str, Any] | None: ...

    def clear_pending(self) -> None: ...


def read_table(store: TableStore, name: str) -> pl.DataFrame | None:
    """The current rows of table ``name``; None when it does not exist."""
    return store.scan(name).collect() if store.exists(name) else None


def versions(store: TableStore, names: Iterable[str]) -> dict[str, int | None]:
    """The current version of each table (None: not created yet)."""
    return {n: store.version(n) for n in names}


def partition_text(value: object) -> str:
    """A partition value as the folder name and Delta partition value: dates and platform
    names only. Anything else is refused rather than escaped, so no input text ever
    becomes a path."""
    text = value.isoformat() if isinstance(value, dt.date) else str(value)
    if not SAFE_PARTITION_VALUE.match(text) or text in (".", ".."):
        raise ValueError(f"refusing {text!r} as a partition value (expected a date or a name)")
    return text


def check_partition_value(name: str, column: str, value: object) -> str:
    if value is None:
        raise ValueError(f"{name}: null {column} cannot be a partition")
    return partition_text(value)


def check_partitioning(name: str, have: list[str], want: str | None) -> None:
    """A commit keeps the table's partitioning (changing it means rebuilding the table)."""
    wanted = [want] if want is not None else []
    if have != wanted:
        raise ValueError(f"{name}: the table is partitioned by {have}, not by {wanted}")


def conform(rows: pl.DataFrame, current: pl.Schema, name: str, where: str) -> pl.DataFrame:
    """``rows`` in the existing table's column order and types, for a commit that keeps
    some of its rows: the commit's schema becomes the table's, and the rows left alone keep
    theirs. Different columns are refused (an upgrade that changes a table's columns needs
    a fresh --out or a rebuild of that table); ``where`` says where the table is."""
    if set(current.names()) != set(rows.columns):
        added = sorted(set(rows.columns) - set(current.names()))
        missing = sorted(set(current.names()) - set(rows.columns))
        raise ValueError(
            f"{name}: the published table has other columns than this run "
            f"(new: {added}, gone: {missing}); publish to a fresh --out, or move "
            f"{where} aside to rebuild it"
        )
    if rows.schema == current:
        return rows
    rows = rows[current.names()]  # a projection: no copy of the data
    return rows if rows.schema == current else rows.cast(current)
