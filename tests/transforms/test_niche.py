"""Niche mapping (transforms.niche) against the shipped taxonomy table."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from tests.quality_helpers import D1, D2, D3, frame, taxonomy
from transforms.niche import niche_coverage, with_niche
from transforms.quality_settings import NicheTaxonomy, category_keys

TAXONOMY = taxonomy()


def niche_row(categories: list[str] | None) -> dict:
    df = frame([{"categories": categories}])
    return with_niche(df.lazy(), TAXONOMY, by="creator_id").collect().row(0, named=True)


@pytest.mark.parametrize(
    ("categories", "niches", "unmapped"),
    [
        (["Music & Dance"], ["music_and_audio"], None),
        (["Sports with a ball", "Family"], ["sports", "family_and_relationships"], None),
        (["Science & Technology"], ["science", "technology_and_computing"], None),
        (["Music", "Music & Dance"], ["music_and_audio"], None),  # one niche, listed once
        (["  food  &  DRINKS "], ["food_and_drink"], None),  # case, spacing, '&'
        (["Travel"], ["travel"], None),  # a niche's own label maps without a table row
        (["Lifestyle"], None, None),  # broad: no niche, and not unmapped
        (["Underwater basket weaving"], None, ["Underwater basket weaving"]),
        (
            ["Music", "Underwater basket weaving"],
            ["music_and_audio"],
            ["Underwater basket weaving"],
        ),
        ([], None, None),
        ([" ", ""], None, None),
        (None, None, None),
    ],
)
def test_categories_map_to_niches(
    categories: list[str] | None, niches: list[str] | None, unmapped: list[str] | None
) -> None:
    row = niche_row(categories)
    assert row["niches"] == niches
    assert row["categories_unmapped"] == unmapped


def test_empty_categories_become_null_not_an_empty_list() -> None:
    assert niche_row([])["categories_raw"] is None
    assert niche_row(["Music "])["categories_raw"] == ["Music"]


def test_primary_niche_and_focus_over_a_creators_snapshots() -> None:
    rows = [
        {"snapshot_date": D1, "categories": ["Music & Dance"]},
        {"snapshot_date": D2, "categories": ["Music", "Humor"]},
        {"snapshot_date": D3, "categories": ["Music"]},
        {"handle": "other", "categories": ["Beauty", "Fashion"]},
        {"handle": "none", "categories": ["Lifestyle"]},
    ]
    out = with_niche(frame(rows).lazy(), TAXONOMY, by="creator_id").collect()
    by_handle = {r["handle"]: r for r in out.iter_rows(named=True)}
    assert by_handle["someone"]["primary_niche"] == "music_and_audio"
    assert by_handle["someone"]["niche_focus"] == pytest.approx(3 / 4)
    assert by_handle["other"]["primary_niche"] == "style_and_fashion"
    assert by_handle["other"]["niche_focus"] == 1.0
    assert by_handle["none"]["primary_niche"] is None
    assert by_handle["none"]["niche_focus"] is None
    assert out.height == len(rows)


def test_coverage_summary_counts_creators_and_unmapped_values() -> None:
    rows = [
        {"handle": "a", "categories": ["Music"]},
        {"handle": "b", "categories": ["Weird thing", "Music"]},
        {"handle": "c", "categories": ["Lifestyle"]},
        {"handle": "d", "categories": None},
    ]
    lf = with_niche(frame(rows).lazy(), TAXONOMY, by="creator_id")
    summary = niche_coverage(lf, by="creator_id").collect().row(0, named=True)
    assert summary["creators"] == 4
    assert summary["creators_with_categories"] == 3
    assert summary["creators_with_niche"] == 2
    assert summary["niche_coverage"] == 0.5
    assert summary["raw_values"] == 4
    assert summary["unmapped_values"] == 1
    assert summary["unmapped"] == ["Weird thing"]


def test_taxonomy_refuses_a_mapping_to_an_unknown_niche() -> None:
    data = TAXONOMY.model_dump()
    data["mapping"] = {"Knitting": ["crafts"]}
    with pytest.raises(ValidationError, match="unknown niche"):
        NicheTaxonomy.model_validate(data)


def test_taxonomy_refuses_two_rows_for_one_category() -> None:
    data = TAXONOMY.model_dump()
    data["mapping"] = {"Food & Drinks": ["food_and_drink"], "food and drinks": ["travel"]}
    with pytest.raises(ValidationError, match="same category"):
        NicheTaxonomy.model_validate(data)


ASCII_TEXT = st.text(alphabet=st.sampled_from("abcXYZ &/-_.,"), max_size=20)


@given(ASCII_TEXT)
def test_category_key_ignores_case_punctuation_and_spacing(text: str) -> None:
    variants = [
        text,
        text.upper(),
        f"  {text} ",
        text.replace(" ", " / "),
        text.replace("&", " and "),
    ]
    keys = category_keys(variants)
    assert len(set(keys)) == 1, (variants, keys)
