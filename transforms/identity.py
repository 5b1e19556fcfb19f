"""One creator across spellings and renames, one person across platforms.

Within a platform (``creator_identity``): the spellings of a handle (``handle_norm``) are
linked when they differ only in spaces, case or punctuation ("Alejo Igoa" / "AlejoIgoa"),
or when a row uses the display name as its handle and exactly one other spelling carries
that display name ("AH" / "AttaHalilintar" shown as "AH"). A group of linked spellings is
one creator only if no two of them appear in the same snapshot and their median follower
counts are within ``max_follower_ratio``; otherwise the display-name links are dropped, and
if the group still fails, nothing is merged (``merge_refused``). ``creator_id`` is the
``creator_key`` of the spelling seen first, so an unmerged creator keeps its key.

Across platforms (``with_person_key``): accounts are linked when a name (handle or display
name, compacted) is shared and is unique on each platform, or when a contact email is
shared; a person holds at most one account per platform, else the weaker links are dropped.

Only the small frames of distinct spellings and links are materialised (connected
components need a loop); every per-row step stays a polars expression or join.
"""

from __future__ import annotations

from collections.abc import Callable

import polars as pl
import polars_hash as plh

from transforms.enrich import creator_key
from transforms.quality_settings import IdentitySettings

CONFIDENCE = ("high", "medium", "low")


def name_key(expr: pl.Expr) -> pl.Expr:
    """A name compared for identity: NFKC, lower case, letters and digits only."""
    key = expr.str.normalize("NFKC").str.to_lowercase().str.replace_all(r"[^\p{L}\p{N}]", "")
    return pl.when(key.str.len_chars() > 0).then(key)


def components(nodes: pl.Series, edges: pl.DataFrame) -> pl.DataFrame:
    """(node, component): connected components of an undirected graph, component = the
    smallest node id in it. Min-label propagation with pointer jumping: a handful of rounds
    even on long chains. ``nodes`` are UInt32 ids; ``edges`` has columns a, b."""
    labels = pl.DataFrame({"node": nodes.cast(pl.UInt32)}).with_columns(component=pl.col("node"))
    both = pl.concat(
        [
            edges.select(pl.col("a").alias("src"), pl.col("b").alias("dst")),
            edges.select(pl.col("b").alias("src"), pl.col("a").alias("dst")),
        ]
    ).cast(pl.UInt32)
    while True:
        via_edge = (
            both.join(labels, left_on="dst", right_on="node")
            .group_by("src")
            .agg(pl.col("component").min().alias("neighbour"))
        )
        step = (
            labels.join(via_edge, left_on="node", right_on="src", how="left")
            .with_columns(component=pl.min_horizontal("component", "neighbour"))
            .drop("neighbour")
        )
        # pointer jumping: take the label of the label
        step = (
            step.join(
                step.rename({"node": "c", "component": "cc"}), left_on="component", right_on="c"
            )
            .with_columns(component=pl.min_horizontal("component", "cc"))
            .drop("cc")
        )
        if step.sort("node").equals(labels.sort("node")):
            return labels.sort("node")
        labels = step


def resolve_levels(
    nodes: pl.Series,
    edges: pl.DataFrame,
    is_valid: Callable[[pl.DataFrame], pl.DataFrame],
    levels: int,
) -> pl.DataFrame:
    """(node, component, level): ``edges`` (a, b, level) are merged from the strongest
    level (0) down; each node takes the component of the loosest level whose component
    passes ``is_valid`` ((node, component) -> (component, valid)), and ``level`` is the
    strongest level that already joins that whole component (its confidence); a node no
    valid merge covers stays alone with level null. Nested components make this a
    partition."""
    chosen = pl.DataFrame({"node": nodes.cast(pl.UInt32)}).with_columns(
        component=pl.col("node"), level=pl.lit(None, dtype=pl.Int32), size=pl.lit(1, pl.UInt32)
    )
    for level in range(levels):
        comp = components(nodes, edges.filter(pl.col("level") <= level).select("a", "b"))
        sizes = comp.group_by("component").agg(new_size=pl.len())
        valid = is_valid(comp).filter(pl.col("valid")).select("component")
        merged = comp.join(valid, on="component", how="semi").join(sizes, on="component")
        grew = pl.col("new").is_not_null() & (pl.col("new_size") > pl.col("size"))
        chosen = (
            chosen.join(merged.rename({"component": "new"}), on="node", how="left")
            .with_columns(
                component=pl.when(grew).then("new").otherwise("component"),
                level=pl.when(grew).then(pl.lit(level, dtype=pl.Int32)).otherwise("level"),
                size=pl.when(grew).then("new_size").otherwise("size"),
            )
            .drop("new", "new_size")
        )
    return chosen.drop("size").sort("node")


def _spellings(lf: pl.LazyFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """One row per (platform, handle_norm) spelling with its names and sizes, and the
    (node, snapshot_date) presence; names are compacted once per distinct spelling."""
    spelling = ["platform", "handle_norm"]
    names, sizes, presence = pl.collect_all(
        [
            lf.select(*spelling, "handle", "display_name").unique(),
            lf.group_by(spelling).agg(
                first_seen=pl.col("snapshot_date").min(),
                median_followers=pl.col("followers").median(),
            ),
            lf.select(*spelling, "snapshot_date").unique(),
        ]
    )
    display = name_key(pl.col("display_name"))
    keys = names.group_by(spelling).agg(
        display_keys=display.drop_nulls().unique(),
        uses_display_as_handle=(name_key(pl.col("handle")) == display).any(),
    )
    sp = (
        sizes.join(keys, on=spelling)
        .with_columns(handle_key=name_key(pl.col("handle_norm")))
        .sort(spelling)
        .with_row_index("node")
    )
    return sp, presence.join(sp.select("node", *spelling), on=spelling).select(
        "node", "snapshot_date"
    )


def _spelling_links(sp: pl.DataFrame) -> pl.DataFrame:
    """(a, b, level, evidence): level 0 = same handle up to spaces/case/punctuation,
    level 1 = a display name used as handle, carried as display name by exactly one other
    spelling of another handle key."""
    same = sp.filter(pl.col("handle_key").is_not_null()).select("node", "platform", "handle_key")
    first = same.group_by("platform", "handle_key").agg(root=pl.col("node").min())
    level0 = (
        same.join(first, on=["platform", "handle_key"])
        .filter(pl.col("node") != pl.col("root"))
        .select(a=pl.col("root"), b=pl.col("node"), level=pl.lit(0, dtype=pl.Int32))
    )
    carriers = (
        sp.select("node", "platform", "handle_key", pl.col("display_keys").alias("dk"))
        .explode("dk")
        .filter(pl.col("dk").is_not_null() & (pl.col("dk") != pl.col("handle_key")))
    )
    unique_carrier = (
        carriers.group_by("platform", "dk")
        .agg(b=pl.col("node").first(), keys=pl.col("handle_key").n_unique())
        .filter(pl.col("keys") == 1)
    )
    level1 = (
        sp.filter(pl.col("uses_display_as_handle") & pl.col("handle_key").is_not_null())
        .join(unique_carrier, left_on=["platform", "handle_key"], right_on=["platform", "dk"])
        .select(a=pl.col("node"), b=pl.col("b"), level=pl.lit(1, dtype=pl.Int32))
    )
    return pl.concat([level0, level1]).cast({"a": pl.UInt32, "b": pl.UInt32})


def _spelling_guard(
    sp: pl.DataFrame, presence: pl.DataFrame, settings: IdentitySettings
) -> Callable[[pl.DataFrame], pl.DataFrame]:
    def is_valid(comp: pl.DataFrame) -> pl.DataFrame:
        together = (
            presence.join(comp, on="node")
            .group_by("component", "snapshot_date")
            .agg(n=pl.col("node").n_unique())
            .group_by("component")
            .agg(overlap=(pl.col("n") > 1).any())
        )
        sizes = (
            sp.select("node", "median_followers")
            .join(comp, on="node")
            .group_by("component")
            .agg(
                ratio=pl.col("median_followers").max()
                / pl.max_horizontal(pl.col("median_followers").min(), pl.lit(1.0))
            )
        )
        return together.join(sizes, on="component").select(
            "component",
            valid=~pl.col("overlap") & (pl.col("ratio") <= settings.max_follower_ratio),
        )

    return is_valid


def creator_identity(lf: pl.LazyFrame, settings: IdentitySettings) -> pl.LazyFrame:
    """Add ``creator_id``, ``identity_evidence`` and ``identity_spellings`` to snapshot
    rows (platform, handle, handle_norm, display_name, followers, snapshot_date)."""
    sp, presence = _spellings(lf)
    links = _spelling_links(sp)
    guard = _spelling_guard(sp, presence, settings)
    chosen = resolve_levels(sp.get_column("node"), links, guard, levels=2)
    table = _identity_table(sp, links, chosen)
    return lf.join(table.lazy(), on=["platform", "handle_norm"], how="left")


def _identity_table(sp: pl.DataFrame, links: pl.DataFrame, chosen: pl.DataFrame) -> pl.DataFrame:
    """(platform, handle_norm) -> creator_id, identity_evidence, identity_spellings."""
    members = sp.join(chosen, on="node")
    comp_of = members.select("node", "component")
    inside = (
        links.join(comp_of.rename({"node": "a"}), on="a")
        .join(comp_of.rename({"node": "b", "component": "component_b"}), on="b")
        .filter(pl.col("component") == pl.col("component_b"))
        .group_by("component")
        .agg(uses_display=(pl.col("level") == 1).any())
    )
    canonical = (
        members.sort("first_seen", "handle_norm")
        .group_by("component", maintain_order=True)
        .agg(canonical=pl.col("handle_norm").first(), spellings=pl.len().cast(pl.Int64))
        .join(inside, on="component", how="left")
    )
    had_link = pl.concat([links.get_column("a"), links.get_column("b")]).unique().implode()
    evidence = (
        pl.when(pl.col("spellings") > 1)
        .then(
            pl.when(pl.col("uses_display"))
            .then(pl.lit("display_name_as_handle"))
            .otherwise(pl.lit("spacing_case_punctuation"))
        )
        .when(pl.col("node").is_in(had_link))
        .then(pl.lit("merge_refused"))
        .otherwise(pl.lit("single_spelling"))
    )
    return members.join(canonical, on="component").select(
        "platform",
        "handle_norm",
        creator_id=creator_key(pl.col("platform"), pl.col("canonical")),
        identity_evidence=evidence,
        identity_spellings=pl.col("spellings"),
    )


def _account_names(seen: pl.DataFrame, settings: IdentitySettings) -> pl.DataFrame:
    """(creator_id, platform, key, kind) for every name an account was seen with; ``seen``
    holds the distinct (creator_id, platform, handle_norm, display_name, email) rows."""
    email = pl.col("email").str.strip_chars().str.to_lowercase()
    names = pl.concat(
        [
            seen.select(
                "creator_id", "platform", key=name_key(pl.col("handle_norm")), kind=pl.lit("handle")
            ),
            seen.select(
                "creator_id",
                "platform",
                key=name_key(pl.col("display_name")),
                kind=pl.lit("display_name"),
            ),
            seen.select("creator_id", "platform", key=email, kind=pl.lit("email")),
        ]
    )
    return names.filter(pl.col("key").str.len_chars() >= settings.min_key_length).unique()


def _account_links(names: pl.DataFrame) -> pl.DataFrame:
    """(creator_id, creator_id_b, evidence, level) between accounts of two platforms that
    share a name only one account per platform carries. Level 0 (high): a shared email or
    two different shared names; 1 (medium): the same handle; 2 (low): one shared name that
    is a display name on at least one side."""
    counts = names.group_by("platform", "key").agg(accounts=pl.col("creator_id").n_unique())
    usable = names.join(counts.filter(pl.col("accounts") == 1), on=["platform", "key"], how="semi")
    kinds = pl.concat_str(pl.col("kind"), pl.col("kind_b"), separator="=")
    pairs = (
        usable.join(usable, on="key", suffix="_b")
        .filter(pl.col("platform") < pl.col("platform_b"))
        .with_columns(
            evidence=pl.when(pl.col("kind") == "email")
            .then(pl.lit("same_email"))
            .when(kinds == "handle=handle")
            .then(pl.lit("same_handle"))
            .when(kinds == "display_name=display_name")
            .then(pl.lit("same_display_name"))
            .otherwise(pl.lit("handle_matches_display_name"))
        )
        .group_by("creator_id", "creator_id_b")
        .agg(evidence=pl.col("evidence").unique().sort(), keys=pl.col("key").n_unique())
    )
    level = (
        pl.when(pl.col("evidence").list.contains("same_email") | (pl.col("keys") >= 2))
        .then(0)
        .when(pl.col("evidence").list.contains("same_handle"))
        .then(1)
        .otherwise(2)
    )
    return pairs.with_columns(level=level.cast(pl.Int32)).sort("creator_id", "creator_id_b")


def _one_per_platform(accounts: pl.DataFrame) -> Callable[[pl.DataFrame], pl.DataFrame]:
    def is_valid(comp: pl.DataFrame) -> pl.DataFrame:
        return (
            accounts.join(comp, on="node")
            .group_by("component", "platform")
            .agg(n=pl.len())
            .group_by("component")
            .agg(valid=(pl.col("n") == 1).all())
        )

    return is_valid


def with_person_key(lf: pl.LazyFrame, settings: IdentitySettings) -> pl.LazyFrame:
    """Add ``person_key``, ``person_confidence`` (high/medium/low, null for an account
    linked to no other platform) and ``person_evidence`` to rows carrying ``creator_id``,
    ``platform``, ``handle_norm``, ``display_name`` (and ``email`` when contacts are kept)."""
    cols = ["creator_id", "platform", "handle_norm", "display_name"]
    has_email = "email" in lf.collect_schema().names()
    seen = lf.select(*cols, "email" if has_email else pl.lit(None, pl.String).alias("email"))
    seen_df = seen.unique().collect()
    names = _account_names(seen_df, settings)
    accounts = (
        seen_df.select("creator_id", "platform").unique().sort("creator_id", "platform")
    ).with_row_index("node")
    ids = accounts.select("node", "creator_id")
    links = (
        _account_links(names)
        .join(ids, on="creator_id")
        .join(ids.rename({"node": "b", "creator_id": "creator_id_b"}), on="creator_id_b")
        .rename({"node": "a"})
    )
    chosen = resolve_levels(
        accounts.get_column("node"),
        links.select("a", "b", "level"),
        _one_per_platform(accounts),
        levels=len(CONFIDENCE),
    )
    members = accounts.join(chosen, on="node")
    used = _evidence(links, members)
    people = (
        members.group_by("component")
        .agg(anchor=pl.col("creator_id").min(), level=pl.col("level").first())
        .join(used, on="component", how="left")
        .with_columns(
            person_key=plh.concat_str(pl.lit("person:"), pl.col("anchor"))
            .chash.sha2_256()
            .str.head(16),
            person_confidence=pl.col("level").replace_strict(
                list(range(len(CONFIDENCE))),
                list(CONFIDENCE),
                default=None,
                return_dtype=pl.String,
            ),
        )
    )
    table = members.join(people, on="component").select(
        "creator_id", "person_key", "person_confidence", "person_evidence"
    )
    return lf.join(table.lazy(), on="creator_id", how="left")


def _evidence(links: pl.DataFrame, members: pl.DataFrame) -> pl.DataFrame:
    """(component, person_evidence): the evidence of the links a merged person rests on."""
    inside = links.join(
        members.select(pl.col("node").alias("a"), "component", pl.col("level").alias("chosen")),
        on="a",
    ).filter(pl.col("chosen").is_not_null() & (pl.col("level") <= pl.col("chosen")))
    return inside.group_by("component").agg(
        person_evidence=pl.col("evidence")
        .list.explode(keep_nulls=False, empty_as_null=False)
        .unique()
        .sort()
    )


def people(creators: pl.LazyFrame) -> pl.LazyFrame:
    """One row per person_key: platforms, accounts, handles, total followers and reach.
    The same as the catalog's ``people`` view (docs/QUALITY.md)."""
    return (
        creators.group_by("person_key")
        .agg(
            platforms=pl.col("platform").unique().sort(),
            accounts=pl.len().cast(pl.Int32),
            handles=pl.concat_str("platform", "handle", separator=":").sort(),
            display_name=pl.col("display_name").sort_by("followers", descending=True).first(),
            total_followers=pl.col("followers").sum(),
            total_est_reach=pl.col("est_reach").sum(),
            total_est_reach_low=pl.col("est_reach_low").sum(),
            total_est_reach_high=pl.col("est_reach_high").sum(),
            person_confidence=pl.col("person_confidence").first(),
            person_evidence=pl.col("person_evidence").first(),
        )
        .sort("total_followers", "person_key", descending=[True, False])
    )
