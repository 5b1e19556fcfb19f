"""Reach per sponsored post, learned from the roster itself (see docs/ESTIMATES.md).

Observed average views are the reach when an export has them. Otherwise the views are
predicted, in this order: the creator's own latest earlier observed views (``history``);
a per-platform log-log least-squares model fitted in the run on the rows that have views
(``model_interactions`` with log followers and log interactions, ``model_followers`` with
log followers only); else followers x the rate card's cited reach rates (``benchmark``).

Bands are measured, not assumed: for observed and history reach, the central quantiles of
how a creator's views move from one snapshot to the next; for the model, the quantiles of
its training residuals. Fitting aggregates the rows to a few sums per platform (polars),
then solves a 2x2 system per platform in Python: seconds on millions of rows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import polars as pl

from schemas.rows import ROW_KEY
from schemas.vocabulary import ReachMethod
from transforms.lookup import lookup_row, pick
from transforms.settings import ReachModel

OBS_KEY = list(ROW_KEY)
VARIANTS = {"interactions": ("x_followers", "x_interactions"), "followers": ("x_followers",)}
REACH_METHODS = {m.value: m.meaning for m in ReachMethod}


def observed_interactions() -> pl.Expr:
    """Likes + comments + shares when present, else the one aggregate figure."""
    has_parts = pl.col("avg_likes").is_not_null() | pl.col("avg_comments").is_not_null()
    parts = pl.sum_horizontal(
        pl.col("avg_likes").fill_null(0),
        pl.col("avg_comments").fill_null(0),
        pl.col("avg_shares").fill_null(0),
    )
    return pl.when(has_parts).then(parts).otherwise(pl.col("avg_engagement"))


def observations(*frames: pl.LazyFrame | None) -> pl.LazyFrame:
    """Rows with observed views (> 0), one per (platform, handle_norm, snapshot_date): the
    first frame wins a repeated key (this run's rows over earlier published ones)."""
    parts = [
        f.filter(pl.col("avg_views") > 0).select(
            *OBS_KEY,
            followers=pl.col("followers").cast(pl.Float64),
            views=pl.col("avg_views").cast(pl.Float64),
            interactions=observed_interactions().cast(pl.Float64),
        )
        for f in frames
        if f is not None
    ]
    return pl.concat(parts, how="vertical").unique(OBS_KEY, keep="first", maintain_order=True)


@dataclass(frozen=True)
class ReachFit:
    """What the run learned: snapshot-to-snapshot bands and the per-platform models."""

    bands: pl.DataFrame  # platform, pairs, log_low, log_high
    models: pl.DataFrame  # platform, variant, rows, intercept, b_followers, b_interactions,
    #                       log_low, log_high, residual_median_abs
    coverage: float

    def summary(self) -> dict[str, Any]:
        """JSON-friendly, for the run manifest."""
        return {
            "band_coverage": self.coverage,
            "snapshot_bands": self.bands.sort("platform").to_dicts(),
            "models": self.models.sort("platform", "variant").to_dicts(),
        }


def _quantiles(coverage: float) -> tuple[float, float]:
    tail = (1 - coverage) / 2
    return tail, 1 - tail


def snapshot_bands(obs: pl.LazyFrame, rm: ReachModel) -> pl.DataFrame:
    """Per platform, the central ``band_coverage`` quantiles of ln(views at a snapshot /
    views at the creator's previous snapshot); only platforms with enough pairs."""
    q_low, q_high = _quantiles(rm.band_coverage)
    step = pl.col("views").log().diff().over("platform", "handle_norm", order_by="snapshot_date")
    return (
        obs.with_columns(log_step=step)
        .filter(pl.col("log_step").is_not_null())
        .group_by("platform")
        .agg(
            pairs=pl.len(),
            log_low=pl.col("log_step").quantile(q_low, interpolation="linear"),
            log_high=pl.col("log_step").quantile(q_high, interpolation="linear"),
        )
        .filter(pl.col("pairs") >= rm.min_band_pairs)
        .sort("platform")
        .collect()
    )


def _design(obs: pl.LazyFrame) -> pl.LazyFrame:
    return obs.filter(pl.col("followers") > 0).select(
        "platform",
        x_followers=pl.col("followers").log(),
        x_interactions=pl.when(pl.col("interactions") > 0).then(pl.col("interactions").log()),
        y=pl.col("views").log(),
    )


def _solve(stats: dict[str, float], features: tuple[str, ...]) -> dict[str, float]:
    """Least squares with non-negative slopes (reach never falls as followers or
    interactions grow): the best of the feature subsets whose slopes are all >= 0."""
    best: tuple[float, dict[str, float]] | None = None
    subsets = [features, *[(f,) for f in features if len(features) > 1], ()]
    for subset in subsets:
        slopes = _slopes(stats, subset)
        if slopes is None or any(b < 0 for b in slopes.values()):
            continue
        sse = stats["syy"] - sum(b * stats[f"s_{f}_y"] for f, b in slopes.items())
        if best is None or sse < best[0] - 1e-12:
            best = (sse, slopes)
    assert best is not None  # the empty subset always qualifies
    slopes = {f: best[1].get(f, 0.0) for f in VARIANTS["interactions"]}
    intercept = stats["my"] - sum(b * stats[f"m_{f}"] for f, b in best[1].items())
    return {"intercept": intercept, **{f"b_{f[2:]}": b for f, b in slopes.items()}}


def _slopes(stats: dict[str, float], subset: tuple[str, ...]) -> dict[str, float] | None:
    """Slopes from centred (co)variances; None when the system is singular."""
    if not subset:
        return {}
    if len(subset) == 1:
        (f,) = subset
        var = stats[f"s_{f}_{f}"]
        return None if var <= 1e-12 else {f: stats[f"s_{f}_y"] / var}
    a, b = subset
    s_aa, s_bb, s_ab = stats[f"s_{a}_{a}"], stats[f"s_{b}_{b}"], stats[f"s_{a}_{b}"]
    det = s_aa * s_bb - s_ab * s_ab
    if det <= 1e-12 * max(s_aa * s_bb, 1e-300):
        return None
    ya, yb = stats[f"s_{a}_y"], stats[f"s_{b}_y"]
    return {a: (s_bb * ya - s_ab * yb) / det, b: (s_aa * yb - s_ab * ya) / det}


def _moments(design: pl.LazyFrame, features: tuple[str, ...]) -> pl.LazyFrame:
    cols = [*features, "y"]
    aggs: list[pl.Expr] = [pl.len().alias("rows")]
    aggs += [pl.col(c).mean().alias(f"m_{c}" if c != "y" else "my") for c in cols]
    for i, a in enumerate(cols):
        for b in cols[i:]:
            name = "syy" if a == b == "y" else f"s_{a}_{b}"
            aggs.append(pl.cov(a, b, ddof=0).fill_null(0).alias(name))
    rows = design.drop_nulls([*features, "y"])
    return rows.group_by("platform").agg(aggs)


def fit_models(obs: pl.LazyFrame, rm: ReachModel) -> pl.DataFrame:
    """Per platform and variant: coefficients, training rows and residual quantiles."""
    design = _design(obs)
    q_low, q_high = _quantiles(rm.band_coverage)
    variants = list(VARIANTS.items())
    moments = pl.collect_all([_moments(design, features) for _, features in variants])
    fitted = []
    for (variant, features), frame in zip(variants, moments, strict=True):
        for stats in frame.filter(pl.col("rows") >= rm.min_training_rows).iter_rows(named=True):
            coef = _solve(stats, features)
            fitted.append({"platform": stats["platform"], "variant": variant, **coef})
    schema = {
        "platform": pl.String,
        "variant": pl.String,
        "intercept": pl.Float64,
        "b_followers": pl.Float64,
        "b_interactions": pl.Float64,
    }
    coefs = pl.DataFrame(fitted, schema=schema)
    if coefs.is_empty():
        return coefs.with_columns(
            rows=pl.lit(0, pl.UInt32), log_low=pl.lit(0.0), log_high=pl.lit(0.0)
        ).clear()
    residuals = [
        design.drop_nulls([*features, "y"])
        .join(coefs.lazy().filter(pl.col("variant") == variant), on="platform")
        .with_columns(residual=pl.col("y") - _linear(features))
        .group_by("platform", "variant")
        .agg(
            rows=pl.len(),
            log_low=pl.col("residual").quantile(q_low, interpolation="linear"),
            log_high=pl.col("residual").quantile(q_high, interpolation="linear"),
        )
        for variant, features in variants
    ]
    spread = pl.concat(pl.collect_all(residuals))
    return coefs.join(spread, on=["platform", "variant"]).sort("platform", "variant")


def _linear(features: tuple[str, ...]) -> pl.Expr:
    out = pl.col("intercept")
    for f in features:
        out = out + pl.col(f"b_{f[2:]}") * pl.col(f)
    return out


def fit_reach(obs: pl.LazyFrame, rm: ReachModel) -> ReachFit:
    return ReachFit(snapshot_bands(obs, rm), fit_models(obs, rm), rm.band_coverage)


def band_factors(fit: ReachFit, rm: ReachModel) -> dict[str, tuple[float, float]]:
    """Per platform (low, high) multipliers of observed views; the rate card's cited
    factors where there were too few snapshot pairs to measure them."""
    measured = {
        p: (math.exp(lo), math.exp(hi))
        for p, lo, hi in fit.bands.select("platform", "log_low", "log_high").iter_rows()
    }
    return measured | {"": (rm.observed_views_low_factor, rm.observed_views_high_factor)}


LEVELS = ("low", "mid", "high")


def benchmark_table(rates: pl.DataFrame, thresholds: pl.DataFrame) -> pl.DataFrame:
    """Per (platform, tier) of the scheme: the cited reach rates and, per level, a floor =
    the most the tiers below reach at their top, so that followers x rate never falls when
    a creator crosses into a tier with a lower rate."""
    table = thresholds.join(rates, on=["platform", "tier"], how="left").sort(
        "platform", "tier_rank"
    )
    rows = []
    for platform, group in table.group_by("platform", maintain_order=True):
        floors = dict.fromkeys(LEVELS, 0.0)
        previous: dict[str, Any] | None = None
        for r in group.iter_rows(named=True):
            if previous is not None:
                for level in LEVELS:
                    top = r["min_followers"] * (previous[f"reach_rate_{level}"] or 0.0)
                    floors[level] = max(floors[level], top)
            rows.append(
                {"platform": platform[0], "tier": r["tier"]}
                | {f"rate_{lv}": r[f"reach_rate_{lv}"] for lv in LEVELS}
                | {f"floor_{lv}": floors[lv] for lv in LEVELS}
            )
            previous = r
    schema = {"platform": pl.String, "tier": pl.String} | {
        f"{kind}_{lv}": pl.Float64 for kind in ("rate", "floor") for lv in LEVELS
    }
    return pl.DataFrame(rows, schema=schema)


def _picker(table: pl.DataFrame, key_columns: list[str]) -> tuple[pl.Expr, list[str]]:
    keys = ["\x1f".join(str(v) for v in row) for row in table.select(key_columns).iter_rows()]
    key = pl.concat_str([pl.col(c) for c in key_columns], separator="\x1f")
    return lookup_row(key, keys), keys


def _prior_views(lf: pl.LazyFrame, obs: pl.LazyFrame) -> pl.LazyFrame:
    """``prior_views``: the creator's latest observed views at an earlier snapshot date.

    The as-of join runs on the three key columns only (sorting every column of millions
    of rows twice took 2.5x as long) and its result is put back next to the rows in their
    original order."""
    prior = obs.select("platform", "handle_norm", "snapshot_date", prior_views="views").sort(
        "snapshot_date"
    )
    looked_up = (
        lf.select("platform", "handle_norm", "snapshot_date")
        .with_row_index("_row")
        .sort("snapshot_date")
        .join_asof(
            prior,
            on="snapshot_date",
            by=["platform", "handle_norm"],
            strategy="backward",
            allow_exact_matches=False,
            check_sortedness=False,
        )
        .sort("_row")
        .select("prior_views")
    )
    return pl.concat([lf, looked_up], how="horizontal")


def _model_columns(fit: ReachFit, variant: str) -> dict[str, pl.Expr]:
    """``_{variant}_{low,mid,high}``: the model's predicted ln(views) and its band (null
    where the platform has no fitted model of this variant or the row lacks a feature)."""
    models = fit.models.filter(pl.col("variant") == variant)
    row = lookup_row(pl.col("platform"), models.get_column("platform").to_list())

    def coef(name: str) -> pl.Expr:
        return pick(models.get_column(name), row)

    log_mid = coef("intercept") + coef("b_followers") * pl.col("_x_followers")
    if variant == "interactions":
        log_mid = log_mid + coef("b_interactions") * pl.col("_x_interactions")
    return {
        f"_{variant}_mid": log_mid,
        f"_{variant}_low": log_mid + coef("log_low"),
        f"_{variant}_high": log_mid + coef("log_high"),
    }


PATHS = list(REACH_METHODS)  # est_reach_method by position: 0 = observed_views, ...


def _inputs(fit: ReachFit, rm: ReachModel, benchmarks: pl.DataFrame) -> list[pl.Expr]:
    """Per row, once: interactions, log features, band factors and benchmark levels."""
    factors = band_factors(fit, rm)
    band_row = lookup_row(pl.col("platform"), list(factors))
    bench_row, _ = _picker(benchmarks, ["platform", "tier"])
    followers = pl.col("followers").cast(pl.Float64)
    out = [
        pl.coalesce(
            pick(pl.Series([f[i] for f in factors.values()]), band_row), factors[""][i]
        ).alias(f"_band_{lv}")
        for i, lv in ((0, "low"), (1, "high"))
    ]
    out += [
        pl.max_horizontal(
            followers * pick(benchmarks.get_column(f"rate_{lv}"), bench_row),
            pick(benchmarks.get_column(f"floor_{lv}"), bench_row),
        ).alias(f"_bench_{lv}")
        for lv in LEVELS
    ]
    return [
        *out,
        observed_interactions().cast(pl.Float64).alias("_interactions"),
        pl.when(pl.col("followers") > 0).then(followers.log()).alias("_x_followers"),
    ]


def with_reach(
    lf: pl.LazyFrame,
    fit: ReachFit,
    obs: pl.LazyFrame,
    rm: ReachModel,
    benchmarks: pl.DataFrame,
) -> pl.LazyFrame:
    """``est_reach``, ``est_reach_low``/``_high`` and ``est_reach_method`` (see module doc).

    Predicted reach (every path but observed views) is never below the row's own
    interactions: whoever interacted with a post saw it. Helper columns are computed once
    per row in stages, the path as a small integer.
    """
    models = _model_columns(fit, "interactions") | _model_columns(fit, "followers")
    path = (
        pl.when(pl.col("avg_views") > 0)
        .then(0)
        .when(pl.col("prior_views").is_not_null())
        .then(1)
        .when(pl.col("_interactions_mid").is_not_null())
        .then(2)
        .when(pl.col("_followers_mid").is_not_null())
        .then(3)
        .otherwise(4)
        .cast(pl.UInt8)
    )

    def level(lv: str) -> pl.Expr:
        band = pl.lit(1.0) if lv == "mid" else pl.col(f"_band_{lv}")
        predicted = (
            pl.when(pl.col("_path") == 1)
            .then(pl.col("prior_views") * band)
            .when(pl.col("_path") == 2)
            .then(pl.col(f"_interactions_{lv}").exp())
            .when(pl.col("_path") == 3)
            .then(pl.col(f"_followers_{lv}").exp())
            .otherwise(pl.col(f"_bench_{lv}"))
        )
        value = (
            pl.when(pl.col("_path") == 0)
            .then(pl.col("avg_views") * band)
            .otherwise(pl.max_horizontal(predicted, pl.col("_interactions")))
        )
        return value.round(0).cast(pl.Int64)

    helpers = ["prior_views", "_path", "_interactions", "_x_followers", "_x_interactions"]
    helpers += [f"_band_{lv}" for lv in ("low", "high")] + [f"_bench_{lv}" for lv in LEVELS]
    return (
        _prior_views(lf, obs)
        .with_columns(_inputs(fit, rm, benchmarks))
        .with_columns(
            _x_interactions=pl.when(pl.col("_interactions") > 0).then(pl.col("_interactions").log())
        )
        .with_columns(**models)
        .with_columns(_path=path)
        .with_columns(
            est_reach=level("mid"),
            est_reach_low=level("low"),
            est_reach_high=level("high"),
            est_reach_method=pick(pl.Series(PATHS, dtype=pl.String), pl.col("_path")),
        )
        .with_columns(
            # keep low <= mid <= high whatever the measured bands are
            est_reach_low=pl.min_horizontal("est_reach_low", "est_reach"),
            est_reach_high=pl.max_horizontal("est_reach_high", "est_reach"),
        )
        .drop(*helpers, *models)
    )
