"""Load the business knobs from TOML into typed settings: the rate card, header and country
aliases, quality rules, the niche taxonomy (``transforms/config/``), and a user's
``--mapping`` file. Each file is parsed here and nowhere else."""

from __future__ import annotations

import datetime as dt
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from transforms.numbers import Decimal
from transforms.quality_settings import NicheTaxonomy, QualityRules
from transforms.settings import CountryAliases, HeaderAliases, RateCard

if TYPE_CHECKING:
    from transforms.staging import StagingSettings

CONFIG_PACKAGE = "transforms.config"


def read_toml(path: Path | None, default_name: str) -> dict[str, Any]:
    """A TOML file: ``path``, or the shipped ``transforms/config/<default_name>``."""
    if path is None:
        with resources.files(CONFIG_PACKAGE).joinpath(default_name).open("rb") as fh:
            return tomllib.load(fh)
    with Path(path).open("rb") as fh:
        return tomllib.load(fh)


@lru_cache(maxsize=8)
def load_rate_card(path: Path | None = None) -> RateCard:
    return RateCard.model_validate(read_toml(path, "rate_card.toml"))


@lru_cache(maxsize=8)
def load_header_aliases(path: Path | None = None) -> HeaderAliases:
    return HeaderAliases.from_toml(read_toml(path, "header_aliases.toml"))


@lru_cache(maxsize=8)
def load_country_aliases(path: Path | None = None) -> CountryAliases:
    return CountryAliases.from_toml(read_toml(path, "country_aliases.toml"))


@lru_cache(maxsize=8)
def load_quality_rules(path: Path | None = None) -> QualityRules:
    return QualityRules.model_validate(read_toml(path, "quality_rules.toml"))


@lru_cache(maxsize=8)
def load_niche_taxonomy(path: Path | None = None) -> NicheTaxonomy:
    return NicheTaxonomy.from_toml(read_toml(path, "niche_taxonomy.toml"))


@dataclass(frozen=True)
class MappingFile:
    """A user's ``--mapping`` TOML: ``[columns]`` canonical field = "header as in the file"
    (``categories`` may list several headers); ``[numbers] decimal = ","`` for every column
    or ``[numbers.fields] followers = "."`` per field."""

    columns: dict[str, str | list[str]]
    numbers: dict[str, Decimal] = field(default_factory=dict)


def load_mapping(path: Path) -> MappingFile:
    """Parse and check a mapping file; raises ``ValueError`` naming the problem."""
    data = read_toml(path, "")
    columns = data.get("columns", {})

    def ok(name: str, v: object) -> bool:
        many = name == "categories" and isinstance(v, list) and all(isinstance(x, str) for x in v)
        return isinstance(v, str) or many

    if not isinstance(columns, dict) or not all(ok(f, v) for f, v in columns.items()):
        raise ValueError(
            f"{path}: [columns] must map field names to header strings "
            '(categories may be a list: categories = ["Cat 1", "Cat 2"])'
        )
    allowed = set(load_header_aliases().fields) | {"categories"}
    unknown = sorted(set(columns) - allowed)
    if unknown:
        raise ValueError(f"{path}: unknown field(s) {unknown}; known: {sorted(allowed)}")
    numbers = data.get("numbers", {})
    decimals: dict[str, Decimal] = {}
    if numbers.get("decimal") in (".", ","):
        decimals["*"] = numbers["decimal"]
    for name, d in numbers.get("fields", {}).items():
        if d in (".", ","):
            decimals[name] = d
    return MappingFile(dict(columns), decimals)


def staging_settings(mapping_file: str | None, today: dt.date | None = None) -> StagingSettings:
    """Everything staging needs besides the sheet (``transforms.staging``)."""
    from transforms.country import country_lookup
    from transforms.staging import StagingSettings  # (its contracts load pandera)

    mapping = load_mapping(Path(mapping_file)) if mapping_file else None
    return StagingSettings(
        aliases=load_header_aliases(),
        countries=country_lookup(load_country_aliases()),
        columns=mapping.columns if mapping else None,
        numbers=mapping.numbers if mapping else {},
        today=today or dt.date.today(),
    )
