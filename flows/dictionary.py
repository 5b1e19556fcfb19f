"""The data dictionary of the published tables, generated from the pandera models.

One row per (table, column): SQL type (as BI sees it in ``roster.duckdb``), nullability,
description, allowed values (``isin`` checks), unit (``metadata={"unit": ...}``) and the other
column checks (``ge``, ``str_length``, ...). Nothing here is written by hand except the growth
columns that ``transforms.creators.creators_from_snapshots`` adds to ``creators``: they have no
model in ``schemas/models.py`` yet, so ``CreatorsGrowth`` below declares them the same way.

``write_data_dictionary(OUT)`` writes ``OUT/data_dictionary.md`` and ``OUT/data_dictionary.json``
(each atomically). The docs copy is kept with::

    python -m flows.dictionary > docs/DATA_DICTIONARY.md

The output is deterministic (no timestamps), so the docs copy only changes when a model does.
"""

from __future__ import annotations

import datetime as dt
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pandera.polars as pa
import polars as pl

from flows.atomic import write_json_atomic, write_text_atomic
from flows.tables import CREATORS, QUARANTINE, SNAPSHOTS
from schemas.models import EnrichedRoster, QuarantineRow
from schemas.quality import CreatorProfile


class CreatorsGrowth(pa.DataFrameModel):
    """The columns ``creators_from_snapshots`` adds to ``EnrichedRoster`` for ``creators``.

    A separate model, not a subclass of ``EnrichedRoster``: pandera 0.35 hands a dataframe
    check's ``name=`` to the first model that builds its schema only (``CheckInfo.to_check``
    pops it), so a subclass would rename ``EnrichedRoster``'s row checks to the method names
    (``_cost_order``) in whichever of the two models is built second.
    """

    followers_prev: int = pa.Field(
        description="followers at the creator's previous snapshot (the latest one before "
        "snapshot_date; not necessarily the previous month); null on the first snapshot",
        nullable=True,
        ge=0,
        metadata={"unit": "people"},
    )
    snapshot_date_prev: dt.date = pa.Field(
        description="snapshot_date of that previous snapshot; null on the first snapshot",
        nullable=True,
    )
    snapshots_count: int = pa.Field(
        description="number of snapshots of the creator in creator_snapshots, this one included",
        ge=1,
        metadata={"unit": "snapshots"},
    )
    first_seen_date: dt.date = pa.Field(
        description="earliest snapshot_date of the creator in creator_snapshots"
    )
    followers_change: int = pa.Field(
        description="followers - followers_prev (negative when the creator lost followers); "
        "null on the first snapshot",
        nullable=True,
        metadata={"unit": "people"},
    )
    followers_change_pct: float = pa.Field(
        description="(followers - followers_prev) / followers_prev, as a fraction (0.05 = +5 %); "
        "null on the first snapshot or when followers_prev is 0",
        nullable=True,
        metadata={"unit": "fraction"},
    )


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

COLUMN_KEYS = (
    "table",
    "column",
    "type",
    "nullable",
    "description",
    "allowed_values",
    "unit",
    "constraints",
    "partition_column",
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


def sql_types(schema: pl.Schema) -> dict[str, str]:
    """DuckDB SQL type of each column, as the Parquet files of that schema read in DuckDB."""
    empty = pl.DataFrame(schema=schema).to_arrow()
    with duckdb.connect() as con:
        rel = con.from_arrow(empty)
        return {name: str(t) for name, t in zip(rel.columns, rel.types, strict=True)}


def _fmt(value: object) -> str:
    return value.isoformat() if isinstance(value, dt.date) else str(value)


def _constraint(check: Any) -> str | None:
    """A column check as text; ``isin`` is reported as allowed values instead."""
    name, stats = check.name, dict(check.statistics or {})
    if name == "isin":
        return None
    ops = {
        "greater_than_or_equal_to": (">=", "min_value"),
        "greater_than": (">", "min_value"),
        "less_than_or_equal_to": ("<=", "max_value"),
        "less_than": ("<", "max_value"),
        "equal_to": ("=", "value"),
        "not_equal_to": ("!=", "value"),
    }
    if name in ops:
        op, key = ops[name]
        return f"{op} {_fmt(stats[key])}"
    if name == "in_range":
        lo = "[" if stats.get("include_min", True) else "("
        hi = "]" if stats.get("include_max", True) else ")"
        return f"in {lo}{_fmt(stats['min_value'])}, {_fmt(stats['max_value'])}{hi}"
    if name == "str_length":
        if stats.get("exact_value") is not None:
            return f"length {stats['exact_value']}"
        parts = []
        if stats.get("min_value") is not None:
            parts.append(f"length >= {stats['min_value']}")
        if stats.get("max_value") is not None:
            parts.append(f"length <= {stats['max_value']}")
        return ", ".join(parts) or None
    if name == "notin":
        return "not in " + ", ".join(_fmt(v) for v in stats.get("forbidden_values", []))
    if name == "str_matches":
        return f"matches {stats.get('pattern')}"
    return name  # a custom check: its name is its documentation


def data_dictionary() -> list[dict]:
    """One dict per (table, column), keys ``COLUMN_KEYS``, tables in ``TABLES`` order."""
    rows: list[dict] = []
    for spec in TABLES:
        columns = spec.schema().columns
        types = sql_types(polars_schema(spec.name))
        for name, col in columns.items():
            allowed = next(
                (list(c.statistics["allowed_values"]) for c in col.checks if c.name == "isin"),
                None,
            )
            constraints = [c for c in (_constraint(ch) for ch in col.checks) if c]
            rows.append(
                {
                    "table": spec.name,
                    "column": name,
                    "type": types[name],
                    "nullable": bool(col.nullable),
                    "description": col.description or "",
                    "allowed_values": allowed,
                    "unit": (col.metadata or {}).get("unit"),
                    "constraints": "; ".join(constraints) or None,
                    "partition_column": name == spec.partitioned_by,
                }
            )
    return rows


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def render_markdown(rows: list[dict]) -> str:
    """The dictionary as Markdown: a section per table, a row per column."""
    lines = [
        "# Data dictionary",
        "",
        "<!-- Generated by `python -m flows.dictionary` from the pandera models in "
        "schemas/models.py (and flows/dictionary.py for the creators growth columns). "
        "Do not edit by hand. -->",
        "",
        "The tables are Delta Lake tables under the output folder. `roster.duckdb` in the same "
        "folder has a view of the same name over each (plus `tier_summary` and `catalog_info`). "
        "Types are the SQL types as read there. Units: `fraction` is a share of 1 "
        "(0.05 = 5 %); `USD` is US dollars.",
        "",
    ]
    by_table: dict[str, list[dict]] = {}
    for row in rows:
        by_table.setdefault(row["table"], []).append(row)
    specs = {s.name: s for s in TABLES}
    for table, cols in by_table.items():
        lines += [f"## {table}", ""]
        spec = specs.get(table)
        if spec is not None:
            lines += [spec.description, "", f"- Grain: {spec.grain}."]
            lines.append(
                f"- Partitioned by `{spec.partitioned_by}`."
                if spec.partitioned_by
                else "- Not partitioned."
            )
            row_checks = [c.name for c in spec.schema().checks]
            if row_checks:
                lines.append("- Row checks: " + ", ".join(f"`{c}`" for c in row_checks) + ".")
            lines.append("")
        lines += [
            "| column | type | nullable | unit | allowed values | checks | description |",
            "|---|---|---|---|---|---|---|",
        ]
        for r in cols:
            allowed = ", ".join(f"`{v}`" for v in r["allowed_values"] or [])
            name = f"`{r['column']}`" + (" (partition)" if r.get("partition_column") else "")
            lines.append(
                "| "
                + " | ".join(
                    [
                        name,
                        _cell(r["type"]),
                        "yes" if r["nullable"] else "no",
                        _cell(r["unit"]),
                        _cell(allowed),
                        _cell(r["constraints"]),
                        _cell(r["description"]),
                    ]
                )
                + " |"
            )
        lines.append("")
    return "\n".join(lines)


def dictionary_payload(rows: list[dict]) -> dict:
    """The JSON document: table-level facts plus the column rows."""
    names = {r["table"] for r in rows}
    return {
        "generated_by": "flows.dictionary",
        "tables": [
            {
                "table": s.name,
                "description": s.description,
                "grain": s.grain,
                "partitioned_by": s.partitioned_by,
                "row_checks": [c.name for c in s.schema().checks],
            }
            for s in TABLES
            if s.name in names
        ],
        "columns": rows,
    }


def write_data_dictionary(out: Path) -> None:
    """Write ``OUT/data_dictionary.md`` and ``OUT/data_dictionary.json``, each atomically."""
    rows = data_dictionary()
    write_text_atomic(out / "data_dictionary.md", render_markdown(rows))
    write_json_atomic(out / "data_dictionary.json", dictionary_payload(rows))


def main() -> None:
    sys.stdout.write(render_markdown(data_dictionary()))


if __name__ == "__main__":
    main()
