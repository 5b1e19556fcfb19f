"""Peer comparison: where a creator stands among accounts like it.

Peers are the rows of the same platform, tier and snapshot_date ("compared with similar
accounts"), narrowed to the same ``primary_niche`` where that group is large enough. Each
metric gets a percentile 0-100: the share of peers with a lower value, ties counted half
(mid-rank), so the median creator is at 50 whatever the group size. A group with fewer
than ``min_peers`` values gets no percentile (null), never a figure from a handful.

``followers_growth_monthly`` (growth per 30.4375 days since the creator's previous
snapshot, compounded) is computed here too: it feeds the growth percentile and the
follower-jump rule of ``transforms.quality``.
"""

from __future__ import annotations

import polars as pl

from transforms.quality_settings import PeerSettings

BASE_GROUP = ("platform", "tier", "snapshot_date")
DAYS_PER_MONTH = 30.4375  # mean Gregorian month


def engagement_column(lf: pl.LazyFrame) -> str:
    """The follower-based engagement rate: ``engagement_rate_by_followers`` where the
    enriched rows carry it, else ``engagement_rate``."""
    names = lf.collect_schema().names()
    return (
        "engagement_rate_by_followers"
        if "engagement_rate_by_followers" in names
        else ("engagement_rate")
    )


def with_follower_growth(lf: pl.LazyFrame, *, by: str) -> pl.LazyFrame:
    """Add ``followers_growth_monthly``: (followers / followers at the creator's previous
    snapshot) ** (30.4375 / days between them) - 1; null for a first snapshot or when the
    previous count is 0. ``by`` is the creator column (``creator_id``)."""
    if "followers_growth_monthly" in lf.collect_schema().names():
        return lf
    prev = pl.col("followers").shift(1).over(by, order_by="snapshot_date")
    prev_date = pl.col("snapshot_date").shift(1).over(by, order_by="snapshot_date")
    days = (pl.col("snapshot_date") - prev_date).dt.total_days()
    ratio = pl.col("followers").cast(pl.Float64) / prev.cast(pl.Float64)
    return lf.with_columns(
        followers_growth_monthly=pl.when((prev > 0) & (days > 0)).then(
            ratio.pow(DAYS_PER_MONTH / days.cast(pl.Float64)) - 1.0
        )
    )


def percentile(value: pl.Expr, group: list[str], min_peers: int) -> pl.Expr:
    """Mid-rank percentile (0-100) of ``value`` within ``group``; null below min_peers."""
    n = value.count().over(group)
    rank = value.rank("average").over(group)
    return pl.when(n >= min_peers).then((rank - 0.5) / n * 100.0)


def with_peer_percentiles(lf: pl.LazyFrame, settings: PeerSettings, *, by: str) -> pl.LazyFrame:
    """Add ``views_per_follower``, ``followers_growth_monthly``, ``peer_group``
    (``platform_tier`` or ``platform_tier_niche``), ``peer_count`` and the percentiles
    ``engagement_percentile``, ``views_per_follower_percentile``, ``growth_percentile``."""
    base = list(BASE_GROUP)
    niche = [*base, "primary_niche"]
    if "primary_niche" not in lf.collect_schema().names():
        lf = lf.with_columns(primary_niche=pl.lit(None, dtype=pl.String))
    rate = pl.col(engagement_column(lf))
    out = with_follower_growth(lf, by=by).with_columns(
        views_per_follower=pl.when(pl.col("followers") > 0).then(
            pl.col("avg_views") / pl.col("followers").cast(pl.Float64)
        ),
        _n_niche=pl.when(pl.col("primary_niche").is_not_null()).then(pl.len().over(niche)),
        _n_base=pl.len().over(base),
    )
    use_niche = pl.col("_n_niche").fill_null(0) >= settings.min_niche_peers

    def pct(value: pl.Expr) -> pl.Expr:
        return (
            pl.when(use_niche)
            .then(percentile(value, niche, settings.min_peers))
            .otherwise(percentile(value, base, settings.min_peers))
        )

    return out.with_columns(
        peer_group=pl.when(use_niche)
        .then(pl.lit("platform_tier_niche"))
        .otherwise(pl.lit("platform_tier")),
        peer_count=pl.when(use_niche).then("_n_niche").otherwise("_n_base").cast(pl.Int64),
        engagement_percentile=pct(rate),
        views_per_follower_percentile=pct(pl.col("views_per_follower")),
        growth_percentile=pct(pl.col("followers_growth_monthly")),
    ).drop("_n_niche", "_n_base")
