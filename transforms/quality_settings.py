"""Typed knobs of the quality, peer, niche and identity transforms.

The values live in ``transforms/config/quality_rules.toml`` and ``niche_taxonomy.toml``
with their sources cited; these pydantic models validate already-parsed TOML (reading the
files is the flows' job, as for the rate card) and turn the niche table into small polars
lookup frames.
"""

from __future__ import annotations

from typing import Any

import polars as pl
from pydantic import BaseModel, ConfigDict, Field, model_validator

from transforms.settings import Source


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Meta(_Strict):
    version: str
    description: str = ""


class AuthenticRatioRule(_Strict):
    high_min: float = Field(gt=0, le=1)
    low_below: float = Field(gt=0, le=1)
    source: str

    @model_validator(mode="after")
    def _ordered(self) -> AuthenticRatioRule:
        if self.low_below > self.high_min:
            raise ValueError("authentic_ratio: low_below must be <= high_min")
        return self


class VendorScoreRule(_Strict):
    aqs_high_min: float = Field(gt=0, le=100)
    aqs_low_below: float = Field(gt=0, le=100)
    aqs_source: str
    credibility_high_min: float = Field(gt=0, le=1)
    credibility_low_below: float = Field(gt=0, le=1)
    credibility_source: str

    @model_validator(mode="after")
    def _ordered(self) -> VendorScoreRule:
        if self.aqs_low_below > self.aqs_high_min:
            raise ValueError("vendor_score: aqs_low_below must be <= aqs_high_min")
        if self.credibility_low_below > self.credibility_high_min:
            raise ValueError("vendor_score: credibility_low_below must be <= credibility_high_min")
        return self


class OutlierRule(_Strict):
    modified_z: float = Field(gt=0)
    min_peers: int = Field(ge=3)
    source: str
    min_peers_source: str


class FollowerJumpRule(_Strict):
    modified_z: float = Field(gt=0)
    min_peers: int = Field(ge=3)
    min_monthly_growth: float = Field(ge=0)
    creator_factor: float = Field(ge=1)
    source: str
    floor_source: str


class PeerSettings(_Strict):
    min_peers: int = Field(ge=2)
    min_niche_peers: int = Field(ge=2)
    source: str


class IdentitySettings(_Strict):
    max_follower_ratio: float = Field(ge=1)
    min_key_length: int = Field(ge=1)
    source: str


class QualityRules(_Strict):
    meta: Meta
    sources: list[Source]
    authentic_ratio: AuthenticRatioRule
    vendor_score: VendorScoreRule
    engagement_outlier: OutlierRule
    views_below_followers: OutlierRule
    follower_jump: FollowerJumpRule
    peers: PeerSettings
    identity: IdentitySettings

    @model_validator(mode="after")
    def _cited(self) -> QualityRules:
        ids = {s.id for s in self.sources}
        refs = {
            "authentic_ratio": self.authentic_ratio.source,
            "vendor_score.aqs": self.vendor_score.aqs_source,
            "vendor_score.credibility": self.vendor_score.credibility_source,
            "engagement_outlier": self.engagement_outlier.source,
            "engagement_outlier.min_peers": self.engagement_outlier.min_peers_source,
            "views_below_followers": self.views_below_followers.source,
            "views_below_followers.min_peers": self.views_below_followers.min_peers_source,
            "follower_jump": self.follower_jump.source,
            "follower_jump.floor": self.follower_jump.floor_source,
            "peers": self.peers.source,
            "identity": self.identity.source,
        }
        for where, ref in refs.items():
            for part in ref.split(","):
                if part.strip() not in ids:
                    raise ValueError(f"{where}: source {part.strip()!r} is not in [[sources]]")
        return self


def category_key_expr(expr: pl.Expr) -> pl.Expr:
    """A category as matched against the taxonomy: NFKC, lower case, '&' -> 'and', letters
    and digits only, single spaces ("Food & Drinks" -> "food and drinks")."""
    return (
        expr.str.normalize("NFKC")
        .str.to_lowercase()
        .str.replace_all("&", " and ", literal=True)
        .str.replace_all(r"[^\p{L}\p{N}]+", " ")
        .str.strip_chars()
    )


def category_keys(texts: list[str]) -> list[str]:
    """``category_key_expr`` on a few strings (the taxonomy's own rows): one definition."""
    return (
        pl.Series(texts, dtype=pl.String)
        .to_frame("t")
        .select(category_key_expr(pl.col("t")))
        .to_series()
        .to_list()
    )


class Niche(_Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    label: str
    iab_id: str


class NicheTaxonomy(_Strict):
    meta: Meta
    sources: list[Source]
    niches: list[Niche]
    mapping: dict[str, list[str]]
    broad: list[str] = []

    @classmethod
    def from_toml(cls, data: dict[str, Any]) -> NicheTaxonomy:
        body = {k: v for k, v in data.items() if k != "broad"}
        return cls(**body, broad=data.get("broad", {}).get("values", []))

    @model_validator(mode="after")
    def _consistent(self) -> NicheTaxonomy:
        ids = [n.id for n in self.niches]
        if len(set(ids)) != len(ids):
            raise ValueError("niches: duplicate id")
        seen: dict[str, str] = {}
        for (raw, targets), key in zip(
            self.mapping.items(), category_keys(list(self.mapping)), strict=True
        ):
            if not targets:
                raise ValueError(f"mapping {raw!r}: list at least one niche (or use [broad])")
            unknown = [t for t in targets if t not in ids]
            if unknown:
                raise ValueError(f"mapping {raw!r}: unknown niche(s) {unknown}")
            if key in seen:
                raise ValueError(f"mapping {raw!r} and {seen[key]!r} are the same category")
            seen[key] = raw
        return self

    def mapping_frame(self) -> pl.DataFrame:
        """(category_key, niche, niche_rank): one row per niche a category maps to; labels
        and ids of the niches map to themselves; ``[broad]`` values map to a null niche."""
        rows: dict[str, list[str | None]] = {}
        for n, label, nid in zip(
            self.niches,
            category_keys([n.label for n in self.niches]),
            category_keys([n.id for n in self.niches]),
            strict=True,
        ):
            rows.setdefault(label, [n.id])
            rows.setdefault(nid, [n.id])
        for key, targets in zip(
            category_keys(list(self.mapping)), self.mapping.values(), strict=True
        ):
            rows[key] = list(targets)
        for key in category_keys(self.broad):
            rows.setdefault(key, [None])
        return pl.DataFrame(
            [
                {"category_key": k, "niche": t, "niche_rank": i}
                for k, targets in rows.items()
                for i, t in enumerate(targets)
            ],
            schema={"category_key": pl.String, "niche": pl.String, "niche_rank": pl.Int32},
        )
