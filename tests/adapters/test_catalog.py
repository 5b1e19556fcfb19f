"""roster.duckdb: views over the current version of each Delta table (no Prefect needed)."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import duckdb
import polars as pl
import pytest
from deltalake import DeltaTable

import adapters.publish as pub
from adapters import catalog
from adapters.catalog import BI_EXAMPLE_QUERIES, CatalogError, refresh_catalog
from adapters.dictionary import data_dictionary
from adapters.store import DeltaTableStore
from schemas.tables import TABLES, polars_schema

SEP = dt.date(2026, 9, 1)
OCT = dt.date(2026, 10, 1)
RUN = "20261001T000000Z-test01"

# platform, handle, snapshot, tier, followers, est_reach, (cost low, mid, high), country, rate
ROWS = [
    ("instagram", "alice", SEP, "micro", 20_000, 2_000, (100.0, 500.0, 2500.0), "GB", 0.05),
    ("instagram", "@Bob", SEP, "nano", 5_000, 800, (10.0, 75.0, 250.0), "US", 0.08),
    ("tiktok", "carol", SEP, "mega", 2_000_000, 400_000, (5000.0, 30000.0, 100000.0), "US", 0.04),
    ("instagram", "alice", OCT, "micro", 22_000, 2_200, (100.0, 500.0, 2500.0), "GB", 0.06),
    ("instagram", "@Bob", OCT, "nano", 4_000, 700, (10.0, 75.0, 250.0), "US", 0.10),
    ("instagram", "dave", OCT, "micro", 40_000, 5_000, (100.0, 500.0, 2500.0), "GB", None),
    ("instagram", "frank", OCT, "mega", 1_500_000, 90_000, (5000.0, 25000.0, 100000.0), None, 0.02),
    ("tiktok", "carol", OCT, "mega", 2_100_000, 420_000, (5000.0, 30000.0, 100000.0), "US", 0.05),
    ("youtube", "erin", OCT, "macro", 300_000, 30_000, (5000.0, 10000.0, 20000.0), None, 0.01),
]


def enriched(rows: list[tuple], run_id: str = RUN) -> pl.DataFrame:
    """Rows in the real creator_snapshots column set and types (EnrichedRoster)."""
    records = []
    for i, (platform, handle, snap, tier, followers, reach, cost, country, rate) in enumerate(rows):
        norm = handle.lower().lstrip("@")
        records.append(
            {
                "creator_key": hashlib.sha256(f"{platform}:{norm}".encode()).hexdigest()[:16],
                "platform": platform,
                "handle": handle,
                "handle_norm": norm,
                "display_name": norm.title(),
                "followers": followers,
                "avg_views": float(reach),
                "avg_likes": None,
                "avg_comments": None,
                "avg_shares": None,
                "avg_engagement": None,
                "engagement_rate": rate,
                "engagement_formula": None if rate is None else "reported",
                "estimate_flags": [],
                "tier": tier,
                "est_reach": reach,
                "est_reach_low": reach // 2,
                "est_reach_high": reach * 2,
                "est_reach_method": "observed_views",
                "est_cost_usd_low": cost[0],
                "est_cost_usd_mid": cost[1],
                "est_cost_usd_high": cost[2],
                "est_cpm_usd": cost[1] / reach * 1000,
                "country": country,
                "categories": ["Lifestyle"],
                "snapshot_date": snap,
                "source_file": f"{platform}_{snap:%b}.csv",
                "source_row": i + 2,
                "run_id": run_id,
                "rate_card_version": "2026.11.0",
            }
        )
    return pl.DataFrame(records, schema=polars_schema(pub.SNAPSHOTS))


def quarantine_rows(run_id: str = RUN) -> pl.DataFrame:
    return pl.DataFrame(
        [
            (
                "instagram_Oct.csv",
                9,
                "unparseable_number",
                "Followers",
                "followers",
                "12,3O0",
                "'12,3O0' is not a number",
                "instagram",
                OCT,
                run_id,
            ),
            (
                "instagram_Oct.csv",
                11,
                "unparseable_number",
                "Followers",
                "followers",
                "n/a",
                "'n/a' is not a number",
                "instagram",
                OCT,
                run_id,
            ),
            (
                "broken.json",
                None,
                "malformed_json",
                None,
                None,
                None,
                "line 3: expected ','",
                None,
                None,
                run_id,
            ),
        ],
        schema=polars_schema(pub.QUARANTINE),
        orient="row",
    )


def publish_all(out: Path, rows: list[tuple] = ROWS, run_id: str = RUN) -> None:
    """What a run publishes, with the real publish functions over the Delta table store."""
    store = DeltaTableStore(out)
    pub.publish_snapshots(store, enriched(rows, run_id), run_id)
    files = ["instagram_Oct.csv", "broken.json"]
    pub.publish_quarantine_for(store, quarantine_rows(run_id), files, [], run_id)
    pub.publish_creators(store, run_id)


def connect(path: Path) -> duckdb.DuckDBPyConnection:
    """The catalog as a BI client opens it: its views' paths resolved in its folder."""
    return duckdb.connect(str(path), read_only=True, config={"file_search_path": str(path.parent)})


def rows_of(con: duckdb.DuckDBPyConnection, sql: str) -> list[tuple]:
    return con.execute(sql).fetchall()


@pytest.fixture
def out(tmp_path: Path) -> Path:
    folder = tmp_path / "out"
    publish_all(folder)
    return folder


def test_fixture_rows_meet_the_contracts(out: Path) -> None:
    for spec in TABLES:
        spec.schema().validate(pl.read_delta(str(out / spec.name)))


def test_views_have_the_delta_columns_types_and_rows(out: Path) -> None:
    path = refresh_catalog(out)
    assert path == out.resolve() / "roster.duckdb"
    with connect(path) as con:
        for spec in TABLES:
            described = rows_of(con, f"DESCRIBE {spec.name}")
            assert [r[0] for r in described] == list(polars_schema(spec.name))
            expected = pl.read_delta(str(out / spec.name))
            got = con.sql(f"SELECT * FROM {spec.name}").pl()
            key = list(expected.columns[:3])
            assert got.sort(key).to_dicts() == expected.sort(key).to_dicts()
        types = {
            (r[0], r[1]): r[2]
            for r in rows_of(con, "SELECT table_name, column_name, data_type FROM duckdb_columns()")
        }
    # partition columns come back typed, not as text parsed from the folder names
    assert types[("creator_snapshots", "snapshot_date")] == "DATE"
    assert types[("creators", "platform")] == "VARCHAR"
    assert types[("creators", "categories")] == "VARCHAR[]"
    # the data dictionary's types are the types BI sees
    for row in data_dictionary():
        assert types[(row["table"], row["column"])] == row["type"], row


def test_tier_summary_numbers_and_tier_order(out: Path) -> None:
    with connect(refresh_catalog(out)) as con:
        got = rows_of(
            con,
            "SELECT platform, tier, tier_order, creators, total_est_reach, total_est_reach_low, "
            "total_est_reach_high, total_est_cost_usd_low, total_est_cost_usd_mid, "
            "total_est_cost_usd_high, median_followers, avg_engagement_rate FROM tier_summary",
        )
        types = dict(rows_of(con, "SELECT column_name, column_type FROM (DESCRIBE tier_summary)"))
    assert got == [
        ("instagram", "nano", 1, 1, 700, 350, 1400, 10.0, 75.0, 250.0, 4000.0, pytest.approx(0.10)),
        # dave has no engagement rate: the average is over alice only
        (
            "instagram",
            "micro",
            2,
            2,
            7_200,
            3_600,
            14_400,
            200.0,
            1000.0,
            5000.0,
            31_000.0,
            pytest.approx(0.06),
        ),
        (
            "instagram",
            "mega",
            5,
            1,
            90_000,
            45_000,
            180_000,
            5000.0,
            25000.0,
            100000.0,
            1_500_000.0,
            pytest.approx(0.02),
        ),
        (
            "tiktok",
            "mega",
            5,
            1,
            420_000,
            210_000,
            840_000,
            5000.0,
            30000.0,
            100000.0,
            2_100_000.0,
            pytest.approx(0.05),
        ),
        (
            "youtube",
            "macro",
            4,
            1,
            30_000,
            15_000,
            60_000,
            5000.0,
            10000.0,
            20000.0,
            300_000.0,
            pytest.approx(0.01),
        ),
    ]
    assert types["total_est_reach"] == "BIGINT"  # not HUGEINT, which some BI drivers refuse


def test_creators_view_has_growth_against_previous_snapshot(out: Path) -> None:
    with connect(refresh_catalog(out)) as con:
        got = rows_of(
            con,
            "SELECT handle_norm, followers_prev, followers_change, followers_change_pct, "
            "snapshots_count, first_seen_date FROM creators ORDER BY handle_norm",
        )
    assert got == [
        ("alice", 20_000, 2_000, pytest.approx(0.1), 2, SEP),
        ("bob", 5_000, -1_000, pytest.approx(-0.2), 2, SEP),
        ("carol", 2_000_000, 100_000, pytest.approx(0.05), 2, SEP),
        ("dave", None, None, None, 1, OCT),
        ("erin", None, None, None, 1, OCT),
        ("frank", None, None, None, 1, OCT),
    ]


def test_overwrite_shows_only_the_current_version(tmp_path: Path) -> None:
    out = tmp_path / "out"
    opts = {"partition_by": ["snapshot_date"]}
    enriched(ROWS[:3]).write_delta(str(out / "creator_snapshots"), delta_write_options=opts)
    old_reader = connect(refresh_catalog(out))
    try:
        enriched(ROWS[3:5], run_id="run-2").write_delta(
            str(out / "creator_snapshots"), mode="overwrite", delta_write_options=opts
        )
        # the file of version 0 is still on disk: only the Delta log says it is gone
        assert len(list((out / "creator_snapshots").rglob("*.parquet"))) == 2
        path = refresh_catalog(out)
        # a reader that opened the previous catalog keeps a consistent view of version 0
        assert rows_of(
            old_reader, "SELECT count(*), min(snapshot_date) FROM creator_snapshots"
        ) == [(3, SEP)]
    finally:
        # DuckDB shares one open database per path within a process: a new connection sees
        # the refreshed file only once every connection to the old one is closed
        old_reader.close()
    with connect(path) as con:
        assert rows_of(
            con,
            "SELECT handle_norm, snapshot_date, followers, run_id "
            "FROM creator_snapshots ORDER BY ALL",
        ) == [
            ("alice", OCT, 22_000, "run-2"),
            ("bob", OCT, 4_000, "run-2"),
        ]
        assert rows_of(
            con,
            "SELECT view_name, delta_version, files, row_count "
            "FROM catalog_info WHERE view_name = 'creator_snapshots'",
        ) == [
            ("creator_snapshots", 1, 1, 2),
        ]


def test_rerun_of_a_snapshot_replaces_its_rows(out: Path) -> None:
    oct_again = [r for r in ROWS if r[2] == OCT]
    oct_again[0] = (
        "instagram",
        "alice",
        OCT,
        "micro",
        23_000,
        2_300,
        (100.0, 500.0, 2500.0),
        "GB",
        0.06,
    )
    publish_all(out, oct_again, run_id="run-2")
    with connect(refresh_catalog(out)) as con:
        assert rows_of(
            con, "SELECT snapshot_date, count(*) FROM creator_snapshots GROUP BY ALL ORDER BY ALL"
        ) == [(SEP, 3), (OCT, 6)]
        assert rows_of(
            con, "SELECT followers, followers_change FROM creators WHERE handle_norm = 'alice'"
        ) == [(23_000, 3_000)]
        assert rows_of(con, "SELECT count(*) FROM quarantine") == [(3,)]


def test_missing_tables_give_empty_typed_views(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    with connect(refresh_catalog(out)) as con:
        for spec in TABLES:
            assert rows_of(con, f"SELECT count(*) FROM {spec.name}") == [(0,)]
        types = {
            (r[0], r[1]): r[2]
            for r in rows_of(con, "SELECT table_name, column_name, data_type FROM duckdb_columns()")
        }
        assert rows_of(con, "SELECT count(*) FROM tier_summary") == [(0,)]
        assert rows_of(
            con,
            "SELECT view_name, delta_version, files, row_count FROM catalog_info "
            "ORDER BY view_name",
        ) == [
            ("creator_snapshots", None, 0, 0),
            ("creators", None, 0, 0),
            ("quarantine", None, 0, 0),
        ]
        for query in BI_EXAMPLE_QUERIES:
            con.execute(query.sql).fetchall()
    for row in data_dictionary():
        assert types[(row["table"], row["column"])] == row["type"], row


def test_table_without_data_files_gives_an_empty_view(out: Path) -> None:
    # a run whose files were all clean publishes an empty quarantine for them
    files = ["instagram_Oct.csv", "broken.json"]
    pub.publish_quarantine_for(DeltaTableStore(out), quarantine_rows().clear(), files, [], "r2")
    with connect(refresh_catalog(out)) as con:
        assert rows_of(con, "SELECT count(*) FROM quarantine") == [(0,)]
        assert rows_of(con, "SELECT files FROM catalog_info WHERE view_name = 'quarantine'") == [
            (0,)
        ]


@pytest.mark.parametrize("query", BI_EXAMPLE_QUERIES, ids=lambda q: q.title[:40])
def test_bi_example_query_runs(out: Path, query: catalog.BIQuery) -> None:
    with connect(refresh_catalog(out)) as con:
        rows = con.execute(query.sql).fetchall()
    # the fixture has no multi-platform person and no audience-quality signal: those two
    # queries are checked on a pipeline run in tests/adapters/test_creators_profile.py
    if "niche" not in query.title and "People" not in query.title:
        assert rows, query.title


def test_bi_example_results(out: Path) -> None:
    top, micro_gb, _niche, _people, by_reason, growth = (q.sql for q in BI_EXAMPLE_QUERIES)
    with connect(refresh_catalog(out)) as con:
        assert [r[:2] for r in rows_of(con, top)] == [
            ("instagram", "frank"),
            ("instagram", "dave"),
            ("instagram", "alice"),
            ("instagram", "@Bob"),
            ("tiktok", "carol"),
            ("youtube", "erin"),
        ]
        assert [r[:2] for r in rows_of(con, micro_gb)] == [
            ("instagram", "alice"),
            ("instagram", "dave"),
        ]
        assert rows_of(con, by_reason) == [
            ("unparseable_number", 2, 0, 1, "'12,3O0' is not a number"),
            ("malformed_json", 1, 1, 1, "line 3: expected ','"),
        ]
        assert rows_of(con, growth) == [
            ("instagram", SEP, 2, 0, None, None),
            ("instagram", OCT, 4, 2, 1_000, pytest.approx(1_000 / 25_000)),
            ("tiktok", SEP, 1, 0, None, None),
            ("tiktok", OCT, 1, 1, 100_000, pytest.approx(0.05)),
            ("youtube", OCT, 1, 0, None, None),
        ]


def test_catalog_is_read_from_any_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    publish_all(Path("out"))
    path = refresh_catalog(Path("out"))
    assert path == tmp_path / "out" / "roster.duckdb"
    monkeypatch.chdir(Path(__file__).parent)
    with connect(path) as con:
        assert rows_of(con, "SELECT count(*) FROM creators") == [(6,)]


@pytest.mark.parametrize("how", ["move", "copy"])
def test_catalog_works_after_out_is_moved_or_copied(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    import shutil

    first = tmp_path / "first" / "out"
    publish_all(first)
    refresh_catalog(first)
    elsewhere = tmp_path / "elsewhere" / "roster out"
    elsewhere.parent.mkdir()
    (shutil.move if how == "move" else shutil.copytree)(first, elsewhere)
    if how == "copy":  # the original is gone: the copy must not read through to it
        shutil.rmtree(first)
    # from the moved folder itself, with the plain duckdb client
    monkeypatch.chdir(elsewhere)
    with duckdb.connect("roster.duckdb", read_only=True) as con:
        assert rows_of(con, "SELECT count(*) FROM creators") == [(6,)]
        assert rows_of(con, "SELECT count(*) FROM creator_snapshots") == [(len(ROWS),)]
        assert rows_of(con, "SELECT sum(creators) FROM tier_summary") == [(6,)]
    # from anywhere else, naming the folder (what connect_catalog and `roster sql` do)
    monkeypatch.chdir(tmp_path)
    with catalog.connect_catalog(elsewhere) as con:
        assert rows_of(con, "SELECT count(*) FROM quarantine") == [(3,)]
        assert rows_of(con, "SELECT DISTINCT table_path FROM catalog_info ORDER BY 1") == [
            (spec.name,) for spec in sorted(TABLES, key=lambda s: s.name)
        ]


def test_key_value_folder_above_out_is_not_a_column(tmp_path: Path) -> None:
    # written with write_delta directly: polars' read_delta (publish_creators) itself fails on
    # such a path ("path contains column not present in the given Hive schema")
    out = tmp_path / "env=prod" / "out"
    snaps = enriched(ROWS)
    snaps.write_delta(
        str(out / "creator_snapshots"), delta_write_options={"partition_by": ["snapshot_date"]}
    )
    pub.creators_from_snapshots(snaps).write_delta(
        str(out / "creators"), delta_write_options={"partition_by": ["platform"]}
    )
    quarantine_rows().write_delta(str(out / "quarantine"))
    with connect(refresh_catalog(out)) as con:
        assert rows_of(con, "SELECT count(*) FROM creators") == [(6,)]
        assert rows_of(con, "SELECT count(*) FROM quarantine") == [(3,)]
        for spec in TABLES:
            assert [r[0] for r in rows_of(con, f"DESCRIBE {spec.name}")] == list(
                polars_schema(spec.name)
            )


def test_comments_come_from_the_dictionary(out: Path) -> None:
    with connect(refresh_catalog(out)) as con:
        comments = dict(
            rows_of(
                con,
                "SELECT column_name, comment FROM duckdb_columns() WHERE table_name = 'creators'",
            )
        )
        view_comment = rows_of(
            con, "SELECT comment FROM duckdb_views() WHERE view_name = 'tier_summary'"
        )
    assert comments["tier"].endswith("(one of: nano, micro, mid, macro, mega)")
    assert "[people]" in comments["followers"]
    assert comments["followers_change_pct"]
    assert view_comment[0][0]


def test_failed_refresh_keeps_the_previous_catalog(
    out: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = refresh_catalog(out)
    before = path.read_bytes()

    def boom(con: duckdb.DuckDBPyConnection) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(catalog, "_comment_sql", boom)
    with pytest.raises(RuntimeError, match="disk full"):
        refresh_catalog(out)
    assert path.read_bytes() == before
    assert sorted(p.name for p in out.iterdir() if "duckdb" in p.name) == ["roster.duckdb"]


def test_refresh_while_a_reader_is_open_leaves_no_temp_files(out: Path) -> None:
    path = refresh_catalog(out)
    with connect(path) as reader:
        refresh_catalog(out)
        assert rows_of(reader, "SELECT count(*) FROM creators") == [(6,)]
    assert sorted(p.name for p in out.iterdir() if "duckdb" in p.name) == ["roster.duckdb"]
    with connect(path) as con:
        assert rows_of(con, "SELECT count(*) FROM creators") == [(6,)]


def test_view_that_reads_back_wrong_is_refused(out: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = catalog._view_sql

    def text_dates(src: catalog._Source) -> str:
        return real(src).replace("'snapshot_date': DATE", "'snapshot_date': VARCHAR")

    monkeypatch.setattr(catalog, "_view_sql", text_dates)
    with pytest.raises(CatalogError, match="snapshot_date: VARCHAR expected DATE"):
        refresh_catalog(out)
    assert not any("duckdb" in p.name for p in out.iterdir())


def test_missing_output_folder_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        refresh_catalog(tmp_path / "nope")


def test_table_with_deletion_vectors_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "out"
    quarantine_rows().write_delta(
        str(out / "quarantine"),
        delta_write_options={"configuration": {"delta.enableDeletionVectors": "true"}},
    )
    with pytest.raises(CatalogError, match="deletionVectors"):
        refresh_catalog(out)
    assert not any("duckdb" in p.name for p in out.iterdir())


def test_rerun_of_one_platform_keeps_the_other_platforms_of_that_date(out: Path) -> None:
    # instagram's October again, with one creator fewer: tiktok and youtube of October and
    # every September row stay as they were
    instagram_oct = [r for r in ROWS if r[0] == "instagram" and r[2] == OCT and r[1] != "dave"]
    store = DeltaTableStore(out)
    pub.publish_snapshots(store, enriched(instagram_oct, run_id="run-2"), "run-2")
    pub.publish_creators(store, "run-2")
    snaps = pl.read_delta(str(out / "creator_snapshots"))
    got = snaps.group_by("platform", "snapshot_date", "run_id").len().sort(pl.all())
    assert got.rows() == [
        ("instagram", SEP, RUN, 2),
        ("instagram", OCT, "run-2", 3),
        ("tiktok", SEP, RUN, 1),
        ("tiktok", OCT, RUN, 1),
        ("youtube", OCT, RUN, 1),
    ]
    creators = pl.read_delta(str(out / "creators"))
    assert creators.height == 5  # dave is gone from the current roster with his only row
    assert creators.get_column("creator_key").is_unique().all()


@pytest.mark.parametrize("table", ["creator_snapshots", "creators"])
def test_each_data_file_carries_true_delta_statistics(out: Path, table: str) -> None:
    """Readers skip files by these numbers, so they must match the rows in each file."""
    path = out / table
    partition = "snapshot_date" if table == "creator_snapshots" else "platform"
    batch = pl.from_arrow(DeltaTable(str(path)).get_add_actions(flatten=True))
    assert isinstance(batch, pl.Series)  # an arro3 record batch arrives as a struct column
    actions = batch.struct.unnest()
    data = pl.read_delta(str(path))
    assert actions.get_column("num_records").sum() == data.height
    for action in actions.iter_rows(named=True):
        value = action[f"partition.{partition}"]
        rows = data.filter(pl.col(partition).cast(pl.String) == str(value))
        assert action["num_records"] == rows.height
        assert action["min.followers"] == rows.get_column("followers").min()
        assert action["max.followers"] == rows.get_column("followers").max()
        assert action["null_count.country"] == rows.get_column("country").null_count()


def test_creators_pair_growth_with_the_right_rows_whatever_the_read_order() -> None:
    """The full rows are read twice; if a reader returned them in another order the second
    time, growth must still land on the right creator."""
    snaps = enriched(ROWS)
    calls = {"n": 0}

    def source() -> pl.DataFrame:
        calls["n"] += 1
        return snaps if calls["n"] % 2 else snaps.reverse()

    lazy = pl.defer(source, schema=snaps.schema)
    got = pub.creators_from_snapshots(lazy).sort("handle_norm")
    want = pub.creators_from_snapshots(snaps).sort("handle_norm")
    assert got.equals(want)
    alice = got.row(0, named=True)
    assert (alice["handle_norm"], alice["followers"], alice["followers_prev"]) == (
        "alice",
        22_000,
        20_000,
    )


def test_creator_keys_that_are_not_hex_are_kept_apart() -> None:
    snaps = enriched(ROWS[:2]).with_columns(
        creator_key=pl.Series(["ab", "00000000000000ab"]), snapshot_date=pl.lit(SEP)
    )
    creators = pub.creators_from_snapshots(snaps)
    assert sorted(creators.get_column("creator_key").to_list()) == ["00000000000000ab", "ab"]
    assert creators.get_column("snapshots_count").to_list() == [1, 1]


def test_replacing_a_partition_keeps_the_table_types(out: Path) -> None:
    sep = enriched([r for r in ROWS if r[2] == SEP], run_id="run-2")
    followers = sep.with_columns(pl.col("followers").cast(pl.Float64))
    pub.publish_snapshots(DeltaTableStore(out), followers, "run-2")
    table = pl.read_delta(str(out / "creator_snapshots"))  # the old October files still read
    assert table.schema["followers"] == pl.Int64
    assert table.height == len(ROWS)


def test_replacing_a_partition_with_other_columns_is_refused(out: Path) -> None:
    sep = enriched([r for r in ROWS if r[2] == SEP], run_id="run-2").drop("country")
    before = DeltaTable(str(out / "creator_snapshots")).version()
    with pytest.raises(ValueError, match=r"other columns than this run .*gone: \['country'\]"):
        pub.publish_snapshots(DeltaTableStore(out), sep, "run-2")
    assert DeltaTable(str(out / "creator_snapshots")).version() == before


@pytest.mark.parametrize("value", ["a b/c", "..", "x/../../etc", ""])
def test_partition_values_never_become_arbitrary_paths(tmp_path: Path, value: str) -> None:
    frame = pl.DataFrame({"platform": [value], "n": [1]})
    with pytest.raises(ValueError, match="refusing"):
        DeltaTableStore(tmp_path).overwrite("t", frame.lazy(), partition_by="platform", run_id="r")
    assert not (tmp_path / "t").exists() or not any((tmp_path / "t").rglob("*.parquet"))


def test_vacuum_deletes_replaced_and_orphan_files_only_past_the_retention(out: Path) -> None:
    creators = out / "creators"
    publish_all(out, run_id="run-2")  # creators is replaced whole: its old files are unused
    orphan = creators / "platform=tiktok" / "part-killed-run.parquet"  # a run killed pre-commit
    pl.DataFrame({"x": [1]}).write_parquet(orphan)
    before = {p.name for p in creators.rglob("*.parquet")}
    current = DeltaTable(str(creators)).file_uris()
    assert len(before) == 2 * len(current) + 1

    store = DeltaTableStore(out)
    assert pub.vacuum_tables(store) == {  # a week's retention: everything is too young
        "creator_snapshots": 0, "creators": 0, "quarantine": 0
    }  # fmt: skip
    table = pl.read_delta(str(creators)).sort("creator_key")

    removed = pub.vacuum_tables(store, retention_hours=0)
    assert removed["creators"] == len(current) + 1
    assert {str(p) for p in creators.rglob("*.parquet")} == set(current)
    assert pl.read_delta(str(creators)).sort("creator_key").equals(table)
    with connect(refresh_catalog(out)) as con:
        assert rows_of(con, "SELECT count(*) FROM creators") == [(table.height,)]
