"""Load the business knobs (rate card, header aliases, country aliases) from TOML."""

from __future__ import annotations

import tomllib
from functools import lru_cache
from importlib import resources
from pathlib import Path

from transforms.settings import CountryAliases, HeaderAliases, RateCard

CONFIG_PACKAGE = "transforms.config"


def _read_toml(path: Path | None, default_name: str) -> dict:
    if path is None:
        with resources.files(CONFIG_PACKAGE).joinpath(default_name).open("rb") as fh:
            return tomllib.load(fh)
    with Path(path).open("rb") as fh:
        return tomllib.load(fh)


@lru_cache(maxsize=8)
def load_rate_card(path: Path | None = None) -> RateCard:
    return RateCard.model_validate(_read_toml(path, "rate_card.toml"))


@lru_cache(maxsize=8)
def load_header_aliases(path: Path | None = None) -> HeaderAliases:
    return HeaderAliases.from_toml(_read_toml(path, "header_aliases.toml"))


@lru_cache(maxsize=8)
def load_country_aliases(path: Path | None = None) -> CountryAliases:
    return CountryAliases.from_toml(_read_toml(path, "country_aliases.toml"))


def load_mapping_file(path: Path) -> dict[str, str | list[str]]:
    """A user's ``--mapping`` TOML: ``[columns]`` canonical field = "header as in the file"
    (``categories`` may list several headers)."""
    data = _read_toml(path, "")
    columns = data.get("columns", {})

    def ok(field: str, v: object) -> bool:
        many = field == "categories" and isinstance(v, list) and all(isinstance(x, str) for x in v)
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
    return dict(columns)
