"""The business knobs are data: the rate card and alias files load, cite sources and hold
their invariants."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from pydantic import ValidationError

from adapters.config import load_header_aliases, load_rate_card
from transforms.settings import RateCard

CONFIG = Path(__file__).resolve().parents[2] / "transforms" / "config"


def test_rate_card_covers_every_platform_and_tier_with_cited_sources() -> None:
    card = load_rate_card()
    ids = {s.id for s in card.sources}
    assert set(card.platforms) == {"instagram", "tiktok", "youtube", "x", "facebook", "twitch"}
    for r in card.rates:
        for ref in (r.reach_source, r.cost_source):
            assert all(part.strip() in ids for part in ref.split(","))
    assert card.meta.version and card.meta.currency == "USD"


def test_costs_never_fall_from_one_tier_to_the_next() -> None:
    card = load_rate_card()
    order = card.scheme("five_tier").tiers
    for platform in card.platforms:
        rows = sorted(
            (r for r in card.rates if r.platform == platform), key=lambda r: order.index(r.tier)
        )
        for level in ("low", "mid", "high"):
            costs = [getattr(r, f"cost_usd_{level}") for r in rows]
            assert costs == sorted(costs), (platform, level)


def test_micro_influencers_cost_between_100_and_over_10000() -> None:
    micro = [r for r in load_rate_card().rates if r.tier == "micro"]
    assert min(r.cost_usd_low for r in micro) >= 100
    # the cited lists reach $10,000 for micro (YouTube 50k-100k); the former 12,000 was a
    # figure chosen only to exceed it (rate card 2026.12.0)
    assert max(r.cost_usd_high for r in micro) >= 10_000


def _card_data() -> dict:
    return tomllib.loads((CONFIG / "rate_card.toml").read_text())


def test_rate_card_rejects_an_uncited_figure() -> None:
    data = _card_data()
    data["rates"][0]["cost_source"] = "nowhere"
    with pytest.raises(ValidationError, match="nowhere"):
        RateCard.model_validate(data)


def test_rate_card_rejects_low_above_high() -> None:
    data = _card_data()
    data["rates"][0]["cost_usd_low"] = data["rates"][0]["cost_usd_high"] + 1
    with pytest.raises(ValidationError, match="low <= mid <= high"):
        RateCard.model_validate(data)


def test_rate_card_rejects_a_scheme_without_rates_for_a_tier() -> None:
    data = _card_data()
    data["rates"] = [r for r in data["rates"] if r["tier"] != "mid"]
    with pytest.raises(ValidationError, match="mid"):
        RateCard.model_validate(data)


def test_a_custom_rate_card_file_is_used(tmp_path: Path) -> None:
    text = (CONFIG / "rate_card.toml").read_text().replace('version = "', 'version = "custom-', 1)
    path = tmp_path / "card.toml"
    path.write_text(text)
    assert load_rate_card(path).meta.version.startswith("custom-")


def test_header_aliases_are_unambiguous() -> None:
    from transforms.settings import header_key

    aliases = load_header_aliases()
    seen: dict[str, str] = {}
    for field, names in aliases.fields.items():
        for name in names:
            key = header_key(name)
            assert seen.setdefault(key, field) == field, f"{name!r} maps to {seen[key]} and {field}"
    for name in aliases.ignore:
        assert header_key(name) not in seen, name
