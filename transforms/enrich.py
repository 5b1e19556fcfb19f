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
from transforms.reach_model import (
    ReachFit,
    benchmark_table,
    fit_reach,
    observations,
    observed_interactions,
    with_reach,
)
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
    "cpm_below_cited_range": "reach x CPM fell below the tier's lowest cited price, so the "
    "cost was raised to it and the implied CPM is below the platform's cited range",
    "cpm_above_cited_range": "reach x CPM rose above the tier's highest cited price (or the "
    "reach is tiny for the tier), so the cost was capped or floored and the implied CPM is "
    "above the platform's cited range",
}


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
        pl.when(pl.col("followers") <= 0).then(None).otherwise(observed_interactions() / followers)
    )
    by_views = pl.when(pl.col("avg_views") > 0).then(observed_interactions() / pl.col("avg_views"))
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


def with_cost(lf: pl.LazyFrame, rate_card: RateCard) -> pl.LazyFrame:
    """``est_cost_usd_*`` = est_reach x the platform's cited CPM range / 1000, clipped into
    the tier's cited price range (sanity bounds); ``est_cpm_usd`` = mid cost per 1,000
    reach, flagged where the clipping took it out of the cited CPM range; ``est_cpe_usd`` =
    mid cost per interaction of an average post."""
    rates = rate_card.rates_frame()
    rate_keys = [f"{p}\x1f{t}" for p, t in rates.select("platform", "tier").iter_rows()]
    row = lookup_row(pl.concat_str("platform", "tier", separator="\x1f"), rate_keys)
    floor, ceiling = (pick(rates.get_column(f"cost_usd_{b}"), row) for b in ("low", "high"))
    cpm = rate_card.cpm_frame()
    cpm_row = lookup_row(pl.col("platform"), cpm.get_column("platform").to_list())
    cpm_of = {lv: pick(cpm.get_column(f"usd_{lv}"), cpm_row) for lv in ("low", "mid", "high")}
    reach = pl.col("est_reach").cast(pl.Float64)
    cost = {lv: (reach * c / 1000).clip(floor, ceiling) for lv, c in cpm_of.items()}
    implied = pl.when(reach > 0).then(pl.col("est_cost_usd_mid") / reach * 1000)
    engagements = observed_interactions()
    return lf.with_columns(
        est_cost_usd_low=cost["low"], est_cost_usd_mid=cost["mid"], est_cost_usd_high=cost["high"]
    ).with_columns(
        est_cpm_usd=implied,
        est_cpe_usd=pl.when(engagements > 0).then(pl.col("est_cost_usd_mid") / engagements),
        estimate_flags=pl.concat_list(
            "estimate_flags",
            pl.when(implied < cpm_of["low"] * (1 - 1e-9)).then(pl.lit("cpm_below_cited_range")),
            pl.when(implied > cpm_of["high"] * (1 + 1e-9)).then(pl.lit("cpm_above_cited_range")),
        ).list.drop_nulls(),
    )


def reach_observations(lf: pl.LazyFrame, history: pl.LazyFrame | None = None) -> pl.LazyFrame:
    """The observed views reach is learned from: this run's rows, then earlier published
    snapshots (``history``, the creator_snapshots table) for keys this run does not have."""
    return observations(lf, history)


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
    history: pl.LazyFrame | None = None,
    reach_fit: ReachFit | None = None,
) -> pl.LazyFrame:
    """Normalised, validated creator rows -> enriched roster rows (see schemas.EnrichedRoster).

    ``history``: earlier published snapshots (creator_snapshots), for the creators' own
    earlier views and as more training rows. ``reach_fit``: what ``fit_reach`` learned from
    ``reach_observations(lf, history)``; fitted here when not given (the pipeline fits it
    first to put the fitted model in the manifest).
    """
    thresholds = rate_card.thresholds_frame(scheme)
    obs = reach_observations(lf, history)
    fit = reach_fit or fit_reach(obs, rate_card.reach_model)
    benchmarks = benchmark_table(rate_card.rates_frame(), thresholds)
    out = with_tier(lf, thresholds)
    out = engagement(out, rate_card.engagement)
    out = with_reach(out, fit, obs, rate_card.reach_model, benchmarks)
    out = with_cost(out, rate_card)
    out = with_country_code(out, "country_raw", countries)
    out = with_country_code(out, "audience_country_raw", countries, out="audience_country")
    return out.with_columns(
        creator_key=creator_key(pl.col("platform"), pl.col("handle_norm")),
        run_id=pl.lit(run_id, dtype=pl.String),
    )
