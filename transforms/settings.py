"""Typed business knobs: the rate card, header aliases and country aliases.

The values live in TOML data files (``transforms/config/``) with their sources cited;
these pydantic models validate them. Loading the files is the flows' job, so this module
only turns already-parsed mappings into typed objects and small polars lookup frames.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from typing import Any

import polars as pl
from pydantic import BaseModel, ConfigDict, Field, model_validator

from schemas.rows import METRICS
from schemas.vocabulary import Platform


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Source(_Strict):
    id: str
    title: str
    publisher: str = ""
    url: str = ""
    year: int | None = None
    note: str = ""


class TierScheme(_Strict):
    description: str = ""
    tiers: list[str]
    source: str
    min_followers: dict[str, list[int]]

    @model_validator(mode="after")
    def _check(self) -> TierScheme:
        if "default" not in self.min_followers:
            raise ValueError("min_followers needs a 'default' entry")
        for platform, mins in self.min_followers.items():
            if len(mins) != len(self.tiers):
                raise ValueError(f"min_followers.{platform}: one bound per tier expected")
            if mins[0] != 0 or any(b <= a for a, b in itertools.pairwise(mins)):
                raise ValueError(f"min_followers.{platform}: must start at 0 and increase")
        return self

    def bounds_for(self, platform: str) -> list[int]:
        return self.min_followers.get(platform, self.min_followers["default"])


class ReachModel(_Strict):
    """How reach is learned (docs/ESTIMATES.md). The factors are the cited fallback band
    of observed views, used where too few snapshot pairs measure it."""

    observed_views_low_factor: float = Field(gt=0, le=1)
    observed_views_high_factor: float = Field(ge=1)
    band_coverage: float = Field(gt=0, lt=1)
    min_band_pairs: int = Field(ge=2)
    min_training_rows: int = Field(ge=3)
    source: str
    note: str = ""


class EngagementBenchmark(_Strict):
    """A published range of typical engagement rates (a cross-check, not a filter)."""

    platform: str
    basis: str = Field(pattern="^(followers|views)$")
    low: float = Field(gt=0, le=1)
    high: float = Field(gt=0, le=1)
    source: str


class EngagementConvention(_Strict):
    """Which denominator ``engagement_rate`` uses on each platform."""

    per_view_platforms: list[str]
    source: str
    note: str = ""
    benchmarks: list[EngagementBenchmark] = []

    def basis(self, platform: str) -> str:
        return "views" if platform in self.per_view_platforms else "followers"


class Rate(_Strict):
    platform: str
    tier: str
    reach_rate_low: float = Field(gt=0, le=1)
    reach_rate_mid: float = Field(gt=0, le=1)
    reach_rate_high: float = Field(gt=0, le=1)
    cost_usd_low: float = Field(ge=0)
    cost_usd_mid: float = Field(ge=0)
    cost_usd_high: float = Field(ge=0)
    reach_source: str
    cost_source: str

    @model_validator(mode="after")
    def _ordered(self) -> Rate:
        if not self.reach_rate_low <= self.reach_rate_mid <= self.reach_rate_high:
            raise ValueError(f"{self.platform}/{self.tier}: reach rates must be low <= mid <= high")
        if not self.cost_usd_low <= self.cost_usd_mid <= self.cost_usd_high:
            raise ValueError(f"{self.platform}/{self.tier}: costs must be low <= mid <= high")
        return self


class Cpm(_Strict):
    """Cited price of 1,000 people reached by one sponsored post on a platform (USD)."""

    platform: str
    usd_low: float = Field(gt=0)
    usd_mid: float = Field(gt=0)
    usd_high: float = Field(gt=0)
    unit: str
    source: str

    @model_validator(mode="after")
    def _ordered(self) -> Cpm:
        if not self.usd_low <= self.usd_mid <= self.usd_high:
            raise ValueError(f"cpm {self.platform}: must be low <= mid <= high")
        return self


class RateCardMeta(_Strict):
    version: str
    currency: str = "USD"
    effective_date: str
    default_scheme: str
    description: str = ""


class RateCard(_Strict):
    meta: RateCardMeta
    sources: list[Source]
    schemes: dict[str, TierScheme]
    reach_model: ReachModel
    engagement: EngagementConvention
    cpm: list[Cpm]
    rates: list[Rate]

    @model_validator(mode="after")
    def _consistent(self) -> RateCard:
        ids = {s.id for s in self.sources}

        def cited(ref: str, where: str) -> None:
            for part in ref.split(","):
                if part.strip() not in ids:
                    raise ValueError(f"{where}: source {part.strip()!r} is not in [[sources]]")

        for name, scheme in self.schemes.items():
            cited(scheme.source, f"schemes.{name}")
        cited(self.reach_model.source, "reach_model")
        cited(self.engagement.source, "engagement")
        for b in self.engagement.benchmarks:
            cited(b.source, f"engagement.benchmarks {b.platform}/{b.basis}")
        for r in self.rates:
            cited(r.reach_source, f"rates {r.platform}/{r.tier}")
            cited(r.cost_source, f"rates {r.platform}/{r.tier}")
        for c in self.cpm:
            cited(c.source, f"cpm {c.platform}")
        if sorted(c.platform for c in self.cpm) != self.platforms:
            raise ValueError(f"cpm: one row per platform expected ({self.platforms})")
        if self.meta.default_scheme not in self.schemes:
            raise ValueError(f"default_scheme {self.meta.default_scheme!r} is not a scheme")
        have = {(r.platform, r.tier): r for r in self.rates}
        for name, scheme in self.schemes.items():
            for platform in self.platforms:
                missing = [t for t in scheme.tiers if (platform, t) not in have]
                if missing:
                    raise ValueError(f"scheme {name}: no rates for {platform} tiers {missing}")
                # cost is clipped into the tier's price range: a bigger tier must never
                # have lower bounds, or cost would fall as followers grow
                rows = [have[(platform, t)] for t in scheme.tiers]
                for lower, upper in itertools.pairwise(rows):
                    if (
                        upper.cost_usd_low < lower.cost_usd_low
                        or upper.cost_usd_high < lower.cost_usd_high
                    ):
                        raise ValueError(
                            f"scheme {name}, {platform}: cost bounds of {upper.tier} are "
                            f"below those of {lower.tier}"
                        )
        return self

    @property
    def platforms(self) -> list[str]:
        return sorted({r.platform for r in self.rates})

    def scheme(self, name: str | None = None) -> TierScheme:
        key = name or self.meta.default_scheme
        if key not in self.schemes:
            raise KeyError(f"unknown tier scheme {key!r}; known: {sorted(self.schemes)}")
        return self.schemes[key]

    def cpm_frame(self) -> pl.DataFrame:
        return pl.DataFrame([c.model_dump(exclude={"source", "unit"}) for c in self.cpm])

    def rates_frame(self) -> pl.DataFrame:
        return pl.DataFrame(
            [r.model_dump(exclude={"reach_source", "cost_source"}) for r in self.rates]
        )

    def thresholds_frame(self, scheme_name: str | None = None) -> pl.DataFrame:
        """One row per (platform, tier) with the tier's inclusive lower bound."""
        scheme = self.scheme(scheme_name)
        rows = [
            {"platform": p, "tier": t, "tier_rank": i, "min_followers": b}
            for p in self.platforms
            for i, (t, b) in enumerate(zip(scheme.tiers, scheme.bounds_for(p), strict=True))
        ]
        return pl.DataFrame(
            rows,
            schema={
                "platform": pl.String,
                "tier": pl.String,
                "tier_rank": pl.Int32,
                "min_followers": pl.Int64,
            },
        )


def header_key(header: str) -> str:
    """Normalise a header for alias matching: case, punctuation, spacing and word order."""
    text = unicodedata.normalize("NFKC", header).lower()
    words = re.findall(r"[^\W_]+", text)
    return " ".join(sorted(words))


class HeaderAliases(_Strict):
    version: str
    fields: dict[str, list[str]]
    ignore: list[str]

    @classmethod
    def from_toml(cls, data: dict[str, Any]) -> HeaderAliases:
        fields = {name: list(spellings) for name, spellings in data["fields"].items()}
        for metric in METRICS:  # a metric's own header spellings (schemas.rows)
            known = fields.setdefault(metric.name, [])
            known += [a for a in metric.aliases if a not in known]
        return cls(
            version=data["meta"]["version"],
            fields=fields,
            ignore=data.get("ignore", {}).get("headers", []),
        )

    def lookup(self) -> dict[str, str]:
        """header key -> canonical field (or ``"ignore"``)."""
        table: dict[str, str] = {}
        for field, aliases in self.fields.items():
            for alias in aliases:
                table.setdefault(header_key(alias), field)
        for alias in self.ignore:
            table.setdefault(header_key(alias), "ignore")
        return table

    def platform_lookup(self) -> dict[str, str]:
        """Every spelling of a platform (lower case) -> its code (``schemas.vocabulary``)."""
        return Platform.spelling_lookup()


class CountryAliases(_Strict):
    version: str
    aliases: dict[str, str]

    @classmethod
    def from_toml(cls, data: dict[str, Any]) -> CountryAliases:
        return cls(version=data["meta"]["version"], aliases=data["aliases"])
