"""The published tables under --out: their names, contracts, grain and partitioning, defined
once (publishing, the catalog and the data dictionary read them from here)."""

from __future__ import annotations

from dataclasses import dataclass

import pandera.polars as pa
import polars as pl

from schemas.models import CreatorsGrowth, EnrichedRoster, QuarantineRow
from schemas.quality import CreatorProfile

SNAPSHOTS = "creator_snapshots"
CREATORS = "creators"
QUARANTINE = "quarantine"
LEDGER = "ledger"
CONTACTS = "contacts"
DELIVERIES = "deliveries"  # every delivered row with its lineage: the source of truth


@dataclass(frozen=True)
class TableSpec:
    name: str
    model: type[pa.DataFrameModel]
    description: str
    grain: str
    partitioned_by: str | None
    extra: tuple[type[pa.DataFrameModel], ...] = ()  # columns appended after ``model``'s

    def schema(self) -> pa.DataFrameSchema:
        """The table's pandera schema (a copy when ``extra`` adds columns)."""
        schema = self.model.to_schema()
        for model in self.extra:
            schema = schema.add_columns(model.to_schema().columns)
        return schema


TABLES: tuple[TableSpec, ...] = (
    TableSpec(
        CREATORS,
        EnrichedRoster,
        "The latest snapshot of each creator, with growth against the creator's previous "
        "snapshot, identity across spellings and platforms, niche, peer percentiles and "
        "audience quality (docs/QUALITY.md). Recomputed from creator_snapshots on every run.",
        "one row per creator_id (handle spellings of one account merged; see identity_evidence)",
        "platform",
        extra=(CreatorsGrowth, CreatorProfile),
    ),
    TableSpec(
        SNAPSHOTS,
        EnrichedRoster,
        "Every published roster row: the deliveries (files, sheets) of each platform and "
        "snapshot_date merged per creator, the later delivery winning (the others are in "
        "quarantine as superseded). A file delivered again at the same path replaces its "
        "earlier version, so re-running the same exports never duplicates history.",
        "one row per (platform, creator_key, snapshot_date)",
        "snapshot_date",
    ),
    TableSpec(
        QUARANTINE,
        QuarantineRow,
        "Rejected rows and whole rejected files, with the reason and how to fix it, and rows "
        "superseded by a later delivery. A run replaces the rows of each source file it reads.",
        "one row per rejected cell, row or file (source_row null for a whole file)",
        None,
    ),
)


def table_spec(name: str) -> TableSpec:
    for spec in TABLES:
        if spec.name == name:
            return spec
    raise KeyError(f"unknown table {name!r}; known: {', '.join(t.name for t in TABLES)}")


def polars_schema(table: str) -> pl.Schema:
    """The column names and polars types the contract gives ``table``, in table order."""
    columns = table_spec(table).schema().columns
    return pl.Schema({name: col.dtype.type for name, col in columns.items()})
