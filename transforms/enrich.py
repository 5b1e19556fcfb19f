"""Marts: tier, engagement rate, reach, cost and identity of each creator row.

Pure polars expressions over LazyFrames; the rate card arrives as small frames
(``RateCard.thresholds_frame`` / ``rates_frame``) looked up per row by expression
(``lookup_row`` + ``pick``), never as Python per row.
"""

from __future__ import annotations

import polars as pl
import polars_hash as plh

from transforms.country import with_country_code
from transforms.lookup import lookup_row, pick
from transforms.settings import RateCard

ENGAGEMENT_FORMULAS = {
    "interactions": "(avg_likes + avg_comments + avg_shares) / followers",
    "aggregate": "avg_engagement / followers",
    "reported": "engagement rate as reported in the export",
}


def with_tier(lf: pl.LazyFrame, thresholds: pl.DataFrame) -> pl.LazyFrame:
    """``tier``: the highest tier whose lower bound is <= followers, per platform.

    ``thresholds`` has (platform, tier, tier_rank, min_followers). Implemented as one
    when/then chain per tier rank over bounds looked up by platform, so it is
    monotone in followers by construction.
    """
    wide = (
        thresholds.sort("platform", "tier_rank")
        .with_columns(pl.col("tier_rank").cast(pl.String))
        .pivot(on="tier_rank", index="platform", values=["min_followers", "tier"])
    )
    ranks = sorted(thresholds.get_column("tier_rank").unique().to_list())
    row = lookup_row(pl.col("platform"), wide.get_column("platform").to_list())
    # the position of the highest tier reached, then its name: integers in the chain, one
    # string gather at the end
    position = pl.lit(None, dtype=pl.UInt32)
    for j, r in enumerate(ranks):  # ascending: later (higher) bounds override
        position = (
            pl.when(pl.col("followers") >= pick(wide.get_column(f"min_followers_{r}"), row))
            .then(pl.lit(j, dtype=pl.UInt32))
            .otherwise(position)
        )
    names = pl.Series(
        [
            name
            for row_names in wide.select(f"tier_{r}" for r in ranks).rows()
            for name in row_names
        ],
        dtype=pl.String,
    )
    return lf.with_columns(tier=pick(names, row * len(ranks) + position))


def engagement(lf: pl.LazyFrame) -> pl.LazyFrame:
    """``engagement_rate`` (fraction of followers) and the formula used for the row."""
    interactions = pl.sum_horizontal(
        pl.col("avg_likes").fill_null(0),
        pl.col("avg_comments").fill_null(0),
        pl.col("avg_shares").fill_null(0),
    )
    has_interactions = pl.col("avg_likes").is_not_null() | pl.col("avg_comments").is_not_null()
    followers = pl.col("followers").cast(pl.Float64)
    formula = (
        pl.when(has_interactions)
        .then(pl.lit("interactions"))
        .when(pl.col("avg_engagement").is_not_null())
        .then(pl.lit("aggregate"))
        .when(pl.col("engagement_rate_reported").is_not_null())
        .then(pl.lit("reported"))
        .otherwise(None)
    )
    rate = (
        pl.when(pl.col("followers") <= 0)
        .then(None)
        .when(has_interactions)
        .then(interactions / followers)
        .when(pl.col("avg_engagement").is_not_null())
        .then(pl.col("avg_engagement") / followers)
        .otherwise(pl.col("engagement_rate_reported"))
    )
    by_views = (
        pl.when(has_interactions & (pl.col("avg_views") > 0))
        .then(interactions / pl.col("avg_views"))
        .otherwise(None)
    )
    return lf.with_columns(
        engagement_rate=rate, engagement_formula=formula, engagement_rate_by_views=by_views
    )


def reach_and_cost(lf: pl.LazyFrame, rate_card: RateCard) -> pl.LazyFrame:
    """``est_reach*`` (people per sponsored post), ``est_cost_usd_*`` and ``est_cpm_usd``.

    Reach is the observed average views when the export has them (band from the rate
    card's reach model), else followers x the platform/tier reach rates.
    """
    rm = rate_card.reach_model
    rates = rate_card.rates_frame()
    rate_keys = [f"{p}\x1f{t}" for p, t in rates.select("platform", "tier").iter_rows()]
    row = lookup_row(pl.concat_str("platform", "tier", separator="\x1f"), rate_keys)
    rate_columns = [c for c in rates.columns if c not in ("platform", "tier")]
    followers = pl.col("followers").cast(pl.Float64)
    observed = pl.col("avg_views").is_not_null() & (pl.col("avg_views") > 0)

    def reach(level: str, factor: float) -> pl.Expr:
        return (
            pl.when(observed)
            .then(pl.col("avg_views") * factor)
            .otherwise(followers * pl.col(f"reach_rate_{level}"))
            .round(0)
            .cast(pl.Int64)
        )

    return (
        lf.with_columns([pick(rates.get_column(c), row).alias(c) for c in rate_columns])
        .with_columns(
            est_reach=reach("mid", 1.0),
            est_reach_low=reach("low", rm.observed_views_low_factor),
            est_reach_high=reach("high", rm.observed_views_high_factor),
            est_reach_method=pl.when(observed)
            .then(pl.lit("observed_views"))
            .otherwise(pl.lit("rate_card")),
        )
        .with_columns(
            # keep low <= mid <= high whatever the band factors are
            est_reach_low=pl.min_horizontal("est_reach_low", "est_reach"),
            est_reach_high=pl.max_horizontal("est_reach_high", "est_reach"),
            est_cost_usd_low=pl.col("cost_usd_low"),
            est_cost_usd_mid=pl.col("cost_usd_mid"),
            est_cost_usd_high=pl.col("cost_usd_high"),
            est_cpm_usd=pl.when(pl.col("est_reach") > 0).then(
                pl.col("cost_usd_mid") / pl.col("est_reach") * 1000
            ),
        )
        .drop(rate_columns)
    )


def creator_key(platform: pl.Expr, handle_norm: pl.Expr) -> pl.Expr:
    """Stable across runs, machines and library versions: sha256(platform:handle)[:16]."""
    return plh.concat_str(platform, pl.lit(":"), handle_norm).chash.sha2_256().str.head(16)


def enrich(
    lf: pl.LazyFrame,
    rate_card: RateCard,
    *,
    scheme: str | None,
    countries: pl.DataFrame,
    run_id: str,
) -> pl.LazyFrame:
    """Normalised, validated creator rows -> enriched roster rows (see schemas.EnrichedRoster)."""
    out = with_tier(lf, rate_card.thresholds_frame(scheme))
    out = engagement(out)
    out = reach_and_cost(out, rate_card)
    out = with_country_code(out, "country_raw", countries)
    out = with_country_code(out, "audience_country_raw", countries, out="audience_country")
    return out.with_columns(
        creator_key=creator_key(pl.col("platform"), pl.col("handle_norm")),
        run_id=pl.lit(run_id, dtype=pl.String),
    )
