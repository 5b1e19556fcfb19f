"""Load the quality rules and the niche taxonomy (issue 12) from TOML, like flows.config."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from flows.config import _read_toml
from transforms.quality_settings import NicheTaxonomy, QualityRules


@lru_cache(maxsize=8)
def load_quality_rules(path: Path | None = None) -> QualityRules:
    return QualityRules.model_validate(_read_toml(path, "quality_rules.toml"))


@lru_cache(maxsize=8)
def load_niche_taxonomy(path: Path | None = None) -> NicheTaxonomy:
    return NicheTaxonomy.from_toml(_read_toml(path, "niche_taxonomy.toml"))
