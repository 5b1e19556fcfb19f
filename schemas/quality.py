"""The columns the issue-12 transforms add to enriched snapshot / creator rows.

``CreatorProfile`` is the contract of ``transforms.profile.profile_snapshots``'s new columns
(identity, niche, peers, quality, person): its descriptions and units are what the data
dictionary shows once the columns are published (merge them into ``EnrichedRoster`` /
the creators model). Not strict: it checks only the columns it declares.
"""

from __future__ import annotations

import datetime as dt

import pandera.polars as pa
import polars as pl

from schemas.models import _f
from schemas.vocabulary import QualityFlag

AUDIENCE_QUALITY = ["high", "medium", "low", "unknown"]
AUDIENCE_QUALITY_BASIS = [
    "authentic_engagement",
    "vendor_score",
    "authentic_engagement+vendor_score",
    "weak_rules",
]
IDENTITY_EVIDENCE = [
    "single_spelling",
    "spacing_case_punctuation",
    "display_name_as_handle",
    "merge_refused",
]
PERSON_CONFIDENCE = ["high", "medium", "low"]
PEER_GROUPS = ["platform_tier", "platform_tier_niche"]


class CreatorProfile(pa.DataFrameModel):
    """Identity, niche, peer and audience-quality columns of a creator snapshot row."""

    creator_id: str = _f(
        "one creator across spellings of its handle within a platform: the creator_key of "
        "the spelling seen first (see docs/QUALITY.md); growth is computed per creator_id",
        str_length=16,
    )
    identity_evidence: str = _f(
        "why the spellings of this creator_id were merged (or a merge was refused)",
        isin=IDENTITY_EVIDENCE,
    )
    identity_spellings: int = _f("number of handle spellings merged into creator_id", ge=1)
    person_key: str = _f(
        "one person across platforms: sha256('person:' + smallest creator_id), 16 hex",
        str_length=16,
    )
    person_confidence: str = _f(
        "high = shared email or two shared names; medium = same handle; low = one shared "
        "display name; null = no account on another platform",
        nullable=True,
        isin=PERSON_CONFIDENCE,
    )
    person_evidence: list[str] = _f(
        "kinds of links the person rests on (same_handle, same_display_name, "
        "handle_matches_display_name, same_email); null when not linked",
        nullable=True,
    )
    categories_raw: list[str] = _f(
        "the export's categories, trimmed; null instead of an empty list", nullable=True
    )
    niches: list[str] = _f(
        "niche ids (IAB Content Taxonomy 3.0 tier 1) of the row's categories, main theme "
        "first; null when none maps",
        nullable=True,
    )
    categories_unmapped: list[str] = _f(
        "raw categories the niche table does not map (add a row to niche_taxonomy.toml)",
        nullable=True,
    )
    primary_niche: str = _f(
        "the niche the creator is mapped to most often over its snapshots", nullable=True
    )
    niche_focus: float = _f(
        "share of the creator's niche mentions that are the primary niche (1 = one theme)",
        unit="fraction",
        nullable=True,
        gt=0,
        le=1,
    )
    views_per_follower: float = _f(
        "avg_views / followers", unit="views per follower", nullable=True, ge=0
    )
    followers_growth_monthly: float = _f(
        "follower growth per 30.44 days since the creator's previous snapshot, compounded",
        unit="fraction per month",
        nullable=True,
        ge=-1,
    )
    peer_group: str = _f(
        "peers compared with: platform x tier x snapshot_date, or also x primary_niche "
        "when that group has enough creators",
        isin=PEER_GROUPS,
    )
    peer_count: int = _f("number of creators in the peer group", unit="creators", ge=1)
    engagement_percentile: float = _f(
        "mid-rank percentile of the follower engagement rate among peers",
        unit="percentile",
        nullable=True,
        ge=0,
        le=100,
    )
    views_per_follower_percentile: float = _f(
        "mid-rank percentile of views_per_follower among peers",
        unit="percentile",
        nullable=True,
        ge=0,
        le=100,
    )
    growth_percentile: float = _f(
        "mid-rank percentile of followers_growth_monthly among peers",
        unit="percentile",
        nullable=True,
        ge=0,
        le=100,
    )
    authentic_engagement_ratio: float = _f(
        "avg_engagement_authentic / avg_engagement (share of engagement from real accounts)",
        unit="fraction",
        nullable=True,
        ge=0,
    )
    quality_flags: list[str] = _f(
        "audience-quality flag codes (docs/QUALITY.md); [] = rules evaluated, nothing "
        "found; null = no rule could be evaluated",
        nullable=True,
    )
    audience_quality: str = _f(
        "high / medium / low from the vendors' audience measurements and the weak rules; "
        "unknown without any signal",
        isin=AUDIENCE_QUALITY,
    )
    audience_quality_basis: str = _f(
        "what audience_quality rests on; null when unknown",
        nullable=True,
        isin=AUDIENCE_QUALITY_BASIS,
    )

    last_seen_date: dt.date = _f("date of the creator's latest snapshot")
    is_current: bool = _f(
        "the creator is in the latest snapshot of its platform (tier_summary counts these)"
    )

    @pa.dataframe_check(name="known_quality_flags")
    def _known_flags(cls, data: pa.PolarsData) -> pl.LazyFrame:
        known = pl.lit([f.value for f in QualityFlag], dtype=pl.List(pl.String))
        flags = pl.col("quality_flags")
        return data.lazyframe.select(
            flags.is_null() | (flags.list.set_difference(known).list.len() == 0)
        )

    class Config:
        strict = False
