"""Shared builders for the issue-12 transform tests: the shipped settings and tiny frames."""

from __future__ import annotations

import datetime as dt
import tomllib
from pathlib import Path
from typing import Any

import polars as pl

from transforms.quality_settings import NicheTaxonomy, QualityRules

CONFIG = Path(__file__).resolve().parent.parent / "transforms" / "config"
D1, D2, D3 = dt.date(2022, 9, 1), dt.date(2022, 10, 1), dt.date(2022, 11, 1)


def rules_toml() -> dict[str, Any]:
    return tomllib.loads((CONFIG / "quality_rules.toml").read_text())


def rules() -> QualityRules:
    return QualityRules.model_validate(rules_toml())


def taxonomy() -> NicheTaxonomy:
    return NicheTaxonomy.from_toml(tomllib.loads((CONFIG / "niche_taxonomy.toml").read_text()))


ROW_DEFAULTS: dict[str, Any] = {
    "platform": "instagram",
    "tier": "micro",
    "snapshot_date": D1,
    "handle": "someone",
    "display_name": None,
    "followers": 50_000,
    "avg_views": None,
    "avg_engagement": None,
    "engagement_rate": None,
    "categories": None,
}
SCHEMA: dict[str, Any] = {
    "platform": pl.String,
    "tier": pl.String,
    "snapshot_date": pl.Date,
    "handle": pl.String,
    "handle_norm": pl.String,
    "display_name": pl.String,
    "followers": pl.Int64,
    "avg_views": pl.Float64,
    "avg_engagement": pl.Float64,
    "engagement_rate": pl.Float64,
    "categories": pl.List(pl.String),
    "creator_id": pl.String,
}


def frame(rows: list[dict[str, Any]], **extra: Any) -> pl.DataFrame:
    """Rows with defaults; ``handle_norm`` and ``creator_id`` derived from ``handle`` unless
    given; extra columns (``avg_engagement_authentic`` ...) as Float64 when present."""
    full = []
    for r in rows:
        row = {**ROW_DEFAULTS, **r}
        row.setdefault("handle_norm", row["handle"].strip().lstrip("@").lower())
        row.setdefault("creator_id", f"{row['platform']}:{row['handle_norm']}")
        full.append(row)
    schema = dict(SCHEMA)
    for key in {k for r in full for k in r} - set(schema):
        schema[key] = extra.get(key, pl.Float64)
    return pl.DataFrame(full, schema=schema)
