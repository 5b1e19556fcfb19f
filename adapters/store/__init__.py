"""Where the published tables live: a ``TableStore`` (``adapters.store.base``) over Delta
Lake in a folder (``DeltaTableStore``, what runs publish to) or in memory
(``MemoryTableStore``, its twin for tests). Publishing (``adapters.publish``) goes through
the interface only."""

from adapters.store.base import (
    VACUUM_RETENTION_HOURS,
    MissingTable,
    TableStore,
    read_table,
    versions,
)
from adapters.store.delta import DeltaTableStore
from adapters.store.memory import MemoryTableStore

__all__ = [
    "VACUUM_RETENTION_HOURS",
    "DeltaTableStore",
    "MemoryTableStore",
    "MissingTable",
    "TableStore",
    "read_table",
    "versions",
]
