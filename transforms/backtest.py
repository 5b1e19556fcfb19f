"""Backtest of the reach estimates (pure: frames in, an error table out).

For each platform, the observed views of its latest snapshot date that has views are
hidden; every other row is left as delivered, and the rows are enriched exactly as the
pipeline does (``transforms.enrich.enrich``: history, a model fitted on the remaining views,
the benchmark fallback). The hidden views are then compared with the estimates. Used by
``roster evaluate`` (adapters/evaluate.py) and usable inside a run (``backtest``).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from transforms.enrich import enrich, reach_observations
from transforms.reach_model import fit_reach
from transforms.settings import RateCard

METRICS = ["rows", "typical_error", "bias", "within_2x", "band_coverage"]


@dataclass
class Evaluation:
    """The per-slice error table and what was held out; JSON-friendly via ``to_dict``."""

    table: pl.DataFrame  # platform, slice, rows, typical_error, bias, within_2x, band_coverage
    held_out: dict[str, str]  # platform -> snapshot date whose views were hidden
    training_rows: dict[str, int]  # platform -> rows with views the model could learn from
    skipped_files: list[dict[str, Any]] = field(default_factory=list)
    reach_model: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "held_out_snapshot": self.held_out,
            "training_rows": self.training_rows,
            "metrics": self.table.to_dicts(),
            "skipped_files": self.skipped_files,
            "reach_model": self.reach_model,
        }


def hold_out_latest(rows: pl.DataFrame) -> tuple[pl.DataFrame, dict[str, str]]:
    """``_held`` marks the rows of each platform's latest snapshot date with views, whose
    ``avg_views`` is then hidden (kept in ``_observed``); ``_seen_before``: the creator
    has a row at an earlier date."""
    latest = (
        rows.filter(pl.col("avg_views") > 0)
        .group_by("platform")
        .agg(pl.col("snapshot_date").max().alias("_latest"))
    )
    marked = rows.join(latest, on="platform", how="left", maintain_order="left").with_columns(
        _held=(pl.col("snapshot_date") == pl.col("_latest")) & (pl.col("avg_views") > 0),
        _seen_before=(pl.col("snapshot_date").min().over("platform", "handle_norm"))
        < pl.col("snapshot_date"),
        _observed=pl.col("avg_views"),
    )
    masked = marked.with_columns(
        avg_views=pl.when(pl.col("_held")).then(None).otherwise(pl.col("avg_views"))
    ).drop("_latest")
    held = {p: d.isoformat() for p, d in latest.sort("platform").iter_rows()}
    return masked, held


def _metrics(err: pl.Expr, inside: pl.Expr) -> list[pl.Expr]:
    return [
        pl.len().alias("rows"),
        err.abs().median().exp().alias("typical_error"),
        err.median().exp().alias("bias"),
        (err.abs() <= math.log(2)).mean().alias("within_2x"),
        inside.mean().alias("band_coverage"),
    ]


def score(predicted: pl.DataFrame, tiers: list[str]) -> pl.DataFrame:
    """Per platform: all held-out rows, each tier, each method, and never-seen creators.

    ``typical_error`` = exp(median |ln(est/observed)|) (1.3 = typically 30% off either
    way); ``bias`` = exp(median ln(est/observed)) (above 1: over-estimates);
    ``band_coverage``: share of observed views inside [est_reach_low, est_reach_high].
    """
    held = predicted.filter(pl.col("_held"))
    est = pl.max_horizontal(pl.col("est_reach"), 1).cast(pl.Float64)
    err = (est / pl.col("_observed")).log()
    inside = (pl.col("est_reach_low") <= pl.col("_observed")) & (
        pl.col("_observed") <= pl.col("est_reach_high")
    )
    slices = [
        held.with_columns(slice=pl.lit("all")),
        held.with_columns(slice=pl.concat_str(pl.lit("tier "), "tier")),
        held.with_columns(slice=pl.concat_str(pl.lit("method "), "est_reach_method")),
        held.filter(~pl.col("_seen_before")).with_columns(slice=pl.lit("never seen before")),
    ]
    order = {"all": 0, "never seen before": 1, **{f"tier {t}": 2 + i for i, t in enumerate(tiers)}}
    return (
        pl.concat(slices)
        .group_by("platform", "slice")
        .agg(_metrics(err, inside))
        .with_columns(_order=pl.col("slice").replace_strict(order, default=99))
        .sort("platform", "_order", "slice")
        .drop("_order")
    )


def backtest(
    rows: pl.DataFrame,
    rate_card: RateCard,
    countries: pl.DataFrame,
    scheme: str | None = None,
    history: pl.LazyFrame | None = None,
) -> Evaluation:
    """Score the reach estimates on ``rows`` (normalised, de-duplicated creator rows, as
    ``build_roster`` enriches them). ``history``: earlier published snapshots, used as the
    pipeline uses them, minus each platform's held-out date and later (no leak)."""
    if rows.is_empty() or rows.filter(pl.col("avg_views") > 0).is_empty():
        return Evaluation(pl.DataFrame(schema=["platform", "slice", *METRICS]), {}, {})
    masked, held = hold_out_latest(rows)
    normalised = masked.drop("_held", "_seen_before", "_observed").lazy()
    if history is not None:
        cutoff = pl.col("platform").replace_strict(
            {p: dt.date.fromisoformat(d) for p, d in held.items()}, default=None
        )
        history = history.filter(cutoff.is_null() | (pl.col("snapshot_date") < cutoff))
    obs = reach_observations(normalised, history)
    fit = fit_reach(obs, rate_card.reach_model)
    predicted = enrich(
        normalised,
        rate_card,
        scheme=scheme,
        countries=countries,
        run_id="evaluate",
        history=history,
        reach_fit=fit,
    ).collect()
    scored = predicted.with_columns(masked.select("_held", "_seen_before", "_observed"))
    training = dict(obs.group_by("platform").len().sort("platform").collect().iter_rows())
    tiers = rate_card.scheme(scheme).tiers
    return Evaluation(score(scored, tiers), held, training, reach_model=fit.summary())
