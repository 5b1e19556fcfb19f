"""Soft validation: split a materialised frame into (valid rows, failures with reasons).

``drop_invalid_rows`` keeps no reasons, so instead the frame is validated once, lazily
collecting every failure case, and the failure cases (with their row index) become
quarantine rows: source_file, source_row, reason, column, raw_value.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandera.polars as pa
import polars as pl
from pandera.api.polars.model import DataFrameModel

from schemas.models import QuarantineRow
from schemas.reasons import reason_for_check


@dataclass
class ValidationResult:
    valid: pl.DataFrame
    failures: pl.DataFrame  # source_file, source_row, reason, column, field, raw_value
    counts: dict[str, int]  # failures per reason (rows may fail several rules)


def reason_for(check: str, column: str) -> str:
    return reason_for_check(check, column)  # one definition: schemas.reasons


def soft_validate(model: type[DataFrameModel], df: pl.DataFrame) -> ValidationResult:
    """Validate ``df`` (data-level checks included) and split off the failing rows.

    Schema-level problems (a missing column, a wrong dtype) have no row to blame: they
    are programming errors here and are raised.
    """
    try:
        return ValidationResult(model.validate(df, lazy=True), _empty(), {})
    except pa.errors.SchemaErrors as err:
        cases = err.failure_cases
    row_level = cases.filter(pl.col("index").is_not_null())
    if row_level.height < cases.height:
        schema_level = cases.filter(pl.col("index").is_null())
        raise ValueError(f"{model.__name__}: schema-level failure\n{schema_level}")
    indexed = df.select("source_file", "source_row").with_row_index("index")
    pairs = row_level.select("check", "column").unique()
    reasons = pairs.with_columns(
        reason=pl.Series([reason_for(c, col) for c, col in pairs.iter_rows()], dtype=pl.String)
    )
    failures = (
        row_level.with_columns(pl.col("index").cast(pl.UInt32))
        .join(indexed, on="index", how="left")
        .join(reasons, on=["check", "column"], how="left")
        .select(
            "source_file",
            "source_row",
            "reason",
            column=pl.col("column"),
            field=pl.col("column"),
            raw_value=pl.col("failure_case").cast(pl.String),
        )
        .sort("source_file", "source_row", "reason")
    )
    bad_index = row_level.get_column("index").cast(pl.UInt32).unique()
    valid = df.with_row_index("_i").filter(~pl.col("_i").is_in(bad_index.implode())).drop("_i")
    counts = dict(failures.group_by("reason").len().sort("reason").iter_rows())
    return ValidationResult(valid, failures, counts)


# One quarantine row, derived from its published contract (``QuarantineRow``): as staged,
# without the run_id the table adds; and the columns every stage's failures share (the
# stage adds why, and the platform and date of the file when known).
QUARANTINE_COLUMNS: dict[str, pl.DataType] = {
    name: column.dtype.type
    for name, column in QuarantineRow.to_schema().columns.items()
    if name != "run_id"
}
FAILURE_COLUMNS: dict[str, pl.DataType] = {
    name: dtype
    for name, dtype in QUARANTINE_COLUMNS.items()
    if name not in ("detail", "platform", "snapshot_date")
}


def _empty() -> pl.DataFrame:
    return pl.DataFrame(schema=FAILURE_COLUMNS)
