"""Niche: export categories mapped onto a small documented taxonomy (IAB Content 3.0 tier 1).

Per row: ``categories_raw`` (the export's categories, trimmed, null instead of ``[]``),
``niches`` (mapped niche ids, main theme first, null when none maps) and
``categories_unmapped`` (raw values the taxonomy does not know). Per creator over the rows
given (all its snapshots): ``primary_niche`` (the niche it is mapped to most often) and
``niche_focus`` (the share of its niche mentions that are the primary one: 1.0 = one theme).
All list work is ``list.eval`` + ``replace_strict`` against the taxonomy table: no Python per
row.
"""

from __future__ import annotations

import polars as pl

from transforms.quality_settings import NicheTaxonomy, category_key_expr

UNKNOWN = "\x00"  # marker of a category the taxonomy does not know (never a niche id)
SEPARATOR = "|"  # niche ids match ^[a-z][a-z0-9_]*$, so they never contain it


def _lookup(taxonomy: NicheTaxonomy) -> tuple[list[str], list[str]]:
    """category key -> niche ids joined by SEPARATOR, main theme first ('' = broad)."""
    frame = taxonomy.mapping_frame().sort("category_key", "niche_rank")
    grouped = (
        frame.group_by("category_key", maintain_order=True)
        .agg(pl.col("niche").drop_nulls().str.join(SEPARATOR))
        .sort("category_key")
    )
    return grouped.get_column("category_key").to_list(), grouped.get_column("niche").to_list()


def with_niche(lf: pl.LazyFrame, taxonomy: NicheTaxonomy, *, by: str) -> pl.LazyFrame:
    """Add ``categories_raw``, ``niches``, ``categories_unmapped``, ``primary_niche``,
    ``niche_focus``. ``by`` names the creator column (``creator_id`` after identity
    resolution) whose rows together decide the primary niche."""
    keys, targets = _lookup(taxonomy)
    raw = (
        pl.col("categories")
        .list.eval(pl.element().str.strip_chars())
        .list.eval(pl.element().filter(pl.element().str.len_chars() > 0))
    )
    mapped = pl.element().pipe(category_key_expr).replace_strict(keys, targets, default=UNKNOWN)
    niche_text = pl.col("categories_raw").list.eval(mapped).list.join(SEPARATOR)
    niches = (
        niche_text.str.split(SEPARATOR)
        .list.eval(pl.element().filter((pl.element() != "") & (pl.element() != UNKNOWN)))
        .list.unique(maintain_order=True)
    )
    unmapped = pl.col("categories_raw").list.eval(
        pl.element().filter(pl.element().pipe(category_key_expr).is_in(keys).not_())
    )
    out = (
        lf.with_columns(categories_raw=pl.when(raw.list.len() > 0).then(raw))
        .with_columns(niches=niches, categories_unmapped=unmapped)
        .with_columns(
            niches=pl.when(pl.col("niches").list.len() > 0).then(pl.col("niches")),
            categories_unmapped=pl.when(pl.col("categories_unmapped").list.len() > 0).then(
                pl.col("categories_unmapped")
            ),
        )
    )
    return out.join(_primary(out, by), on=by, how="left")


def _primary(lf: pl.LazyFrame, by: str) -> pl.LazyFrame:
    """Per creator: the niche named most often over its rows (ties: named first more often,
    then alphabetical) and its share of all the creator's niche mentions."""
    mentions = (
        lf.select(by, pl.col("niches"))
        .filter(pl.col("niches").is_not_null())
        .with_columns(
            is_first=pl.int_ranges(pl.col("niches").list.len()).list.eval(pl.element() == 0)
        )
        .explode("niches", "is_first")
        .group_by(by, "niches")
        .agg(n=pl.len(), n_first=pl.col("is_first").sum())
    )
    return (
        mentions.sort(
            [by, "n", "n_first", "niches"], descending=[False, True, True, False], nulls_last=True
        )
        .group_by(by)
        .agg(
            primary_niche=pl.col("niches").first(),
            niche_focus=(pl.col("n").first() / pl.col("n").sum()).cast(pl.Float64),
        )
    )


def niche_coverage(lf: pl.LazyFrame, *, by: str) -> pl.LazyFrame:
    """One summary row: creators, share with a primary niche, raw category values and the
    share of them the taxonomy does not map (``categories_unmapped``), the unmapped values."""
    per_creator = lf.group_by(by).agg(
        has_niche=pl.col("primary_niche").is_not_null().any(),
        has_categories=pl.col("categories_raw").is_not_null().any(),
    )
    values = lf.select(
        raw_values=pl.col("categories_raw").list.len().sum(),
        unmapped_values=pl.col("categories_unmapped").list.len().sum(),
        unmapped=pl.col("categories_unmapped").explode().drop_nulls().unique().sort().implode(),
    )
    creators = per_creator.select(
        creators=pl.len(),
        creators_with_categories=pl.col("has_categories").sum(),
        creators_with_niche=pl.col("has_niche").sum(),
    )
    return pl.concat([creators, values], how="horizontal").with_columns(
        niche_coverage=pl.col("creators_with_niche") / pl.col("creators"),
        unmapped_share=pl.when(pl.col("raw_values") > 0).then(
            pl.col("unmapped_values") / pl.col("raw_values")
        ),
    )
