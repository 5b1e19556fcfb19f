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
from transforms.settings import EngagementConvention, RateCard

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


ESTIMATE_FLAGS = {
    "engagement_by_views_over_100pct": "more interactions than views per post: "
    "engagement_rate_by_views (and engagement_rate where it is the convention) left null; "
    "check the export's views and likes columns",
    "engagement_by_followers_over_100pct": "more interactions than followers on a platform "
    "whose engagement is per follower: engagement_rate_by_followers and engagement_rate left "
    "null; check the followers and interactions columns",
    "zero_views": "average views of 0 read as not measured: reach is estimated as if the "
    "export had no views",
}


def interactions() -> pl.Expr:
    """Interactions per post: likes + comments + shares when the export has them, else its
    one aggregate figure (``avg_engagement``); null when it has neither."""
    has_parts = pl.col("avg_likes").is_not_null() | pl.col("avg_comments").is_not_null()
    parts = pl.sum_horizontal(
        pl.col("avg_likes").fill_null(0),
        pl.col("avg_comments").fill_null(0),
        pl.col("avg_shares").fill_null(0),
    )
    return pl.when(has_parts).then(parts).otherwise(pl.col("avg_engagement"))


def engagement(lf: pl.LazyFrame, convention: EngagementConvention) -> pl.LazyFrame:
    """``engagement_rate_by_followers``, ``engagement_rate_by_views`` and ``engagement_rate``
    (the platform's convention: per view on ``convention.per_view_platforms``, else per
    follower), the formula used and ``estimate_flags`` for values no post can have.

    A rate over 100% is impossible where it is measured against the people who saw the post
    (views) or, on per-follower platforms, the audience it was shown to; such a value is left
    null (never averaged in) and the row says why in ``estimate_flags``. Per follower on
    TikTok/YouTube it is not impossible (views come from outside the follower base).
    """
    has_parts = pl.col("avg_likes").is_not_null() | pl.col("avg_comments").is_not_null()
    formula = (
        pl.when(has_parts)
        .then(pl.lit("interactions"))
        .when(pl.col("avg_engagement").is_not_null())
        .then(pl.lit("aggregate"))
        .when(pl.col("engagement_rate_reported").is_not_null())
        .then(pl.lit("reported"))
        .otherwise(None)
    )
    followers = pl.col("followers").cast(pl.Float64)
    by_followers = (
        pl.when(pl.col("followers") <= 0).then(None).otherwise(interactions() / followers)
    )
    by_views = pl.when(pl.col("avg_views") > 0).then(interactions() / pl.col("avg_views"))
    per_view = pl.col("platform").is_in(convention.per_view_platforms)
    views_impossible = by_views > 1
    followers_impossible = ~per_view & (by_followers > 1)
    return (
        lf.with_columns(
            engagement_rate_by_followers=pl.when(followers_impossible)
            .then(None)
            .otherwise(by_followers),
            engagement_rate_by_views=pl.when(views_impossible).then(None).otherwise(by_views),
            engagement_formula=formula,
            estimate_flags=pl.concat_list(
                pl.when(views_impossible).then(pl.lit("engagement_by_views_over_100pct")),
                pl.when(followers_impossible).then(pl.lit("engagement_by_followers_over_100pct")),
                pl.when(pl.col("avg_views") == 0).then(pl.lit("zero_views")),
            ).list.drop_nulls(),
        )
    ).with_columns(
        # an export's own rate is taken as its platform's convention (what tools report)
        engagement_rate=pl.coalesce(
            pl.when(per_view)
            .then(pl.col("engagement_rate_by_views"))
            .otherwise(pl.col("engagement_rate_by_followers")),
            pl.when(formula == "reported").then(pl.col("engagement_rate_reported")),
        )
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
    out = engagement(out, rate_card.engagement)
    out = reach_and_cost(out, rate_card)
    out = with_country_code(out, "country_raw", countries)
    return out.with_columns(
        creator_key=creator_key(pl.col("platform"), pl.col("handle_norm")),
        run_id=pl.lit(run_id, dtype=pl.String),
    )
