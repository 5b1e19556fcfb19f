"""Audience quality: flags with reasons and one level, from documented, sourced rules.

Strong rules read a vendor's own measurement of the audience; weak rules compare a creator
with its peers (same platform, tier and snapshot) or with its own history. Thresholds come
from ``transforms/config/quality_rules.toml`` (``QualityRules``); docs/QUALITY.md explains
each rule and its source.

``quality_flags`` (list of codes; ``[]`` = rules evaluated, nothing found; null = no rule
could be evaluated) and ``audience_quality``:

* strong signals present: the worst of their bands (high / medium / low); one weak flag
  lowers ``high`` to ``medium``, two or more weak flags make it ``low``;
* no strong signal: two or more weak flags -> ``low``, one -> ``medium``, none ->
  ``unknown`` (absence of anomalies is not evidence of a real audience: never a guess).
"""

from __future__ import annotations

import polars as pl

from schemas.vocabulary import FlagStrength, QualityFlag
from transforms.peers import BASE_GROUP, engagement_column, with_follower_growth
from transforms.quality_settings import QualityRules

LEVELS = ("low", "medium", "high")  # index = rank: min() is the worst
STRONG_FLAGS = {f.value: f.meaning for f in QualityFlag if f.strength == FlagStrength.STRONG}
WEAK_FLAGS = {f.value: f.meaning for f in QualityFlag if f.strength == FlagStrength.WEAK}
QUALITY_FLAGS = {f.value: f.meaning for f in QualityFlag}
OPTIONAL_INPUTS = ("avg_engagement_authentic", "vendor_quality_score", "audience_credibility")
MAD_TO_Z = 0.6745  # Iglewicz & Hoaglin: M = 0.6745 (x - median) / MAD


def modified_z(value: pl.Expr, group: list[str], min_peers: int) -> pl.Expr:
    """Iglewicz-Hoaglin modified z-score of ``value`` within ``group``; null with fewer
    than ``min_peers`` values or a zero MAD (no spread to compare with)."""
    median = value.median().over(group)
    mad = (value - median).abs().median().over(group)
    n = value.count().over(group)
    return pl.when((n >= min_peers) & (mad > 0)).then(MAD_TO_Z * (value - median) / mad)


def _band(value: pl.Expr, high_min: float, low_below: float) -> pl.Expr:
    """Rank of ``value`` in LEVELS (2 high, 1 medium, 0 low); null when value is null."""
    return (
        pl.when(value.is_null())
        .then(None)
        .when(value >= high_min)
        .then(2)
        .when(value < low_below)
        .then(0)
        .otherwise(1)
    )


def _missing_inputs(lf: pl.LazyFrame) -> list[str]:
    names = lf.collect_schema().names()
    return [c for c in OPTIONAL_INPUTS if c not in names]


def _log_positive(value: pl.Expr) -> pl.Expr:
    return pl.when(value > 0).then(value.log10())


def _weak_scores(lf: pl.LazyFrame, rules: QualityRules, *, by: str) -> pl.LazyFrame:
    group = list(BASE_GROUP)
    eng, views, jump = rules.engagement_outlier, rules.views_below_followers, rules.follower_jump
    rate = pl.col(engagement_column(lf))
    vpf = pl.when(pl.col("followers") > 0).then(
        pl.col("avg_views") / pl.col("followers").cast(pl.Float64)
    )
    growth = pl.col("followers_growth_monthly")
    others = growth.count().over(by) - 1
    others_mean = (growth.sum().over(by) - growth) / others
    return with_follower_growth(lf, by=by).with_columns(
        _z_engagement=modified_z(_log_positive(rate), group, eng.min_peers),
        _z_views=modified_z(_log_positive(vpf), group, views.min_peers),
        _z_growth=modified_z(growth.clip(lower_bound=-0.99).log1p(), group, jump.min_peers),
        _growth_beyond_own=pl.when(others > 0)
        .then(growth > jump.creator_factor * others_mean.clip(lower_bound=0.0))
        .otherwise(pl.when(growth.is_not_null()).then(True)),
    )


def with_quality(lf: pl.LazyFrame, rules: QualityRules, *, by: str) -> pl.LazyFrame:
    """Add ``authentic_engagement_ratio``, ``quality_flags``, ``audience_quality`` and
    ``audience_quality_basis`` to enriched snapshot rows. ``by`` is the creator column
    whose earlier snapshots give the follower growth (``creator_id``)."""
    ar, vs = rules.authentic_ratio, rules.vendor_score
    missing = _missing_inputs(lf)  # an export without them: those rules are not evaluated
    out = _weak_scores(
        lf.with_columns(pl.lit(None, dtype=pl.Float64).alias(c) for c in missing), rules, by=by
    )
    ratio = pl.when(pl.col("avg_engagement") > 0).then(
        pl.col("avg_engagement_authentic") / pl.col("avg_engagement")
    )
    out = out.with_columns(authentic_engagement_ratio=ratio)
    r, aqs, cred = (
        pl.col("authentic_engagement_ratio"),
        pl.col("vendor_quality_score"),
        pl.col("audience_credibility"),
    )
    z_e, z_v, z_g = pl.col("_z_engagement"), pl.col("_z_views"), pl.col("_z_growth")
    jump = rules.follower_jump
    tests: dict[str, pl.Expr] = {
        "low_authentic_engagement": r < ar.high_min,
        "low_vendor_quality_score": aqs < vs.aqs_low_below,
        "low_audience_credibility": cred < vs.credibility_high_min,
        "engagement_far_above_peers": z_e > rules.engagement_outlier.modified_z,
        "engagement_far_below_peers": z_e < -rules.engagement_outlier.modified_z,
        "views_far_below_followers": z_v < -rules.views_below_followers.modified_z,
        "follower_jump": (z_g > jump.modified_z)
        & (pl.col("followers_growth_monthly") >= jump.min_monthly_growth)
        & pl.col("_growth_beyond_own"),
    }
    evaluated = pl.any_horizontal(t.is_not_null() for t in tests.values())
    flags = pl.concat_list(
        pl.when(t.fill_null(False)).then(pl.lit(code)).otherwise(pl.lit(None, pl.String))
        for code, t in tests.items()
    ).list.drop_nulls()
    strong = pl.min_horizontal(
        _band(r, ar.high_min, ar.low_below),
        _band(aqs, vs.aqs_high_min, vs.aqs_low_below),
        _band(cred, vs.credibility_high_min, vs.credibility_low_below),
    )
    weak = pl.sum_horizontal(tests[c].fill_null(False).cast(pl.Int32) for c in WEAK_FLAGS)
    level = (
        pl.when(strong.is_not_null())
        .then(
            pl.when(weak >= 2)
            .then(0)
            .when(weak == 1)
            .then(pl.min_horizontal(strong, 1))
            .otherwise(strong)
        )
        .otherwise(pl.when(weak >= 2).then(0).when(weak == 1).then(1))
    )
    basis = pl.concat_str(
        pl.when(r.is_not_null()).then(pl.lit("authentic_engagement")),
        pl.when(aqs.is_not_null() | cred.is_not_null()).then(pl.lit("vendor_score")),
        separator="+",
        ignore_nulls=True,
    )
    return out.with_columns(
        quality_flags=pl.when(evaluated).then(flags),
        audience_quality=level.replace_strict(
            [0, 1, 2], list(LEVELS), default="unknown", return_dtype=pl.String
        ),
        audience_quality_basis=pl.when(strong.is_not_null())
        .then(basis)
        .when(weak > 0)
        .then(pl.lit("weak_rules"))
        .otherwise(None),
    ).drop("_z_engagement", "_z_views", "_z_growth", "_growth_beyond_own", *missing)
