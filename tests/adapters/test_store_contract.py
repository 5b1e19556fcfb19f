"""The table store's contract, run against both stores: what publishing relies on
(``adapters.store.base``) holds for the Delta tables on disk and for their in-memory twin."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest

from adapters.store import (
    DeltaTableStore,
    MemoryTableStore,
    MissingTable,
    TableStore,
    read_table,
    versions,
)

D1, D2, D3 = dt.date(2026, 9, 1), dt.date(2026, 10, 1), dt.date(2026, 11, 1)


@pytest.fixture(params=["delta", "delta-under-key=value", "memory"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TableStore]:
    """Delta tables in a folder; in a folder below ``env=prod`` (read through pyarrow: polars'
    reader would take ``env`` for a column); in memory."""
    if request.param == "memory":
        yield MemoryTableStore()
    else:
        under = tmp_path / "env=prod" if "key=value" in request.param else tmp_path
        yield DeltaTableStore(under / "out")


def rows(*spec: tuple[dt.date, str, int]) -> pl.DataFrame:
    """(snapshot_date, handle, followers) rows, sorted by date as publishing sorts them."""
    return pl.DataFrame(
        {
            "handle": [h for _, h, _ in spec],
            "snapshot_date": [d for d, _, _ in spec],
            "followers": [n for _, _, n in spec],
            "tags": [[h[:1]] for _, h, _ in spec],
        },
        schema={
            "handle": pl.String,
            "snapshot_date": pl.Date,
            "followers": pl.Int64,
            "tags": pl.List(pl.String),
        },
    ).sort("snapshot_date", maintain_order=True)


def read(store: TableStore, name: str) -> list[tuple]:
    df = read_table(store, name)
    assert df is not None
    return sorted(df.select("snapshot_date", "handle", "followers").rows())


def three_dates(store: TableStore) -> TableStore:
    first = rows((D1, "ann", 1), (D2, "bob", 2), (D2, "cat", 3), (D3, "dan", 4))
    store.replace_partitions("t", first.lazy(), "snapshot_date", [D1, D2, D3], run_id="r0")
    return store


def test_a_table_is_created_by_its_first_write(store: TableStore) -> None:
    assert not store.exists("t") and store.version("t") is None
    assert read_table(store, "t") is None
    with pytest.raises(MissingTable):
        store.scan("t")
    three_dates(store)
    assert store.exists("t") and store.version("t") == 0
    assert read(store, "t") == [(D1, "ann", 1), (D2, "bob", 2), (D2, "cat", 3), (D3, "dan", 4)]
    assert store.schema("t") == rows().schema  # columns in the order written, with types


def test_replace_partitions_replaces_only_the_named_dates(store: TableStore) -> None:
    three_dates(store)
    new = rows((D2, "bob", 20), (D2, "eve", 5))
    assert store.replace_partitions("t", new.lazy(), "snapshot_date", [D2, D3], run_id="r1") == 1
    # D1 kept, D2 replaced, D3 named without rows: emptied
    assert read(store, "t") == [(D1, "ann", 1), (D2, "bob", 20), (D2, "eve", 5)]


def test_replace_partitions_takes_the_table_types(store: TableStore) -> None:
    three_dates(store)
    new = rows((D2, "bob", 20)).with_columns(pl.col("followers").cast(pl.Float64))
    store.replace_partitions("t", new.lazy(), "snapshot_date", [D2], run_id="r1")
    assert store.schema("t")["followers"] == pl.Int64
    assert read(store, "t")[1] == (D2, "bob", 20)


@pytest.mark.parametrize("change", ["drop", "add"])
def test_a_different_column_set_is_refused_and_changes_nothing(
    store: TableStore, change: str
) -> None:
    three_dates(store)
    new = rows((D2, "bob", 20))
    new = new.drop("tags") if change == "drop" else new.with_columns(country=pl.lit("GB"))
    expected = (
        r"t: the published table has other columns than this run \(new: \[\], gone: \['tags'\]\)"
        if change == "drop"
        else r"t: the published table has other columns than this run \(new: \['country'\], "
        r"gone: \[\]\); publish to a fresh --out, or move .* aside to rebuild it"
    )
    for write in (
        lambda: store.replace_partitions("t", new.lazy(), "snapshot_date", [D2], run_id="r1"),
        lambda: store.merge_by_key("t", new.lazy(), "handle", run_id="r1"),
    ):
        with pytest.raises(ValueError, match=expected):
            write()
    assert store.version("t") == 0 and len(read(store, "t")) == 4


def test_merge_by_key_replaces_the_rows_of_the_new_keys(store: TableStore) -> None:
    three_dates(store)
    new = rows((D3, "bob", 22), (D3, "fay", 6)).select(
        "followers", "handle", "snapshot_date", "tags"
    )  # another column order: the table's is kept
    assert store.merge_by_key("t", new.lazy(), "handle", run_id="r1") == 1
    assert read(store, "t") == [
        (D1, "ann", 1),
        (D2, "cat", 3),
        (D3, "bob", 22),
        (D3, "dan", 4),
        (D3, "fay", 6),
    ]
    assert store.schema("t").names() == rows().columns


def test_merge_by_key_creates_an_unpartitioned_table(store: TableStore) -> None:
    assert store.merge_by_key("k", rows((D1, "ann", 1)).lazy(), "handle", run_id="r0") == 0
    assert read(store, "k") == [(D1, "ann", 1)]


def test_overwrite_replaces_the_whole_table_columns_included(store: TableStore) -> None:
    first = pl.DataFrame({"platform": ["tiktok", "youtube"], "n": [1, 2]})
    assert store.overwrite("c", first.lazy(), partition_by="platform", run_id="r0") == 0
    other = pl.DataFrame({"platform": ["instagram"], "n": [3]}).with_columns(x=pl.lit("new"))
    assert store.overwrite("c", other.lazy(), partition_by="platform", run_id="r1") == 1
    got = read_table(store, "c")
    assert got is not None and got.equals(other)
    assert store.overwrite("c", other.clear().lazy(), partition_by="platform", run_id="r2") == 2
    assert store.scan("c").collect().height == 0  # emptied


def test_overwrite_keeps_the_partitioning(store: TableStore) -> None:
    three_dates(store)
    other = pl.DataFrame({"platform": ["tiktok"], "n": [1]})
    for partition_by in ("platform", None):
        with pytest.raises(ValueError, match=r"t: the table is partitioned by \['snapshot_date'\]"):
            store.overwrite("t", other.lazy(), partition_by=partition_by, run_id="r1")
    assert store.version("t") == 0 and len(read(store, "t")) == 4


def test_versions_go_up_by_one_per_commit(store: TableStore) -> None:
    three_dates(store)
    commits = [
        lambda: store.replace_partitions(
            "t", rows((D1, "ann", 9)).lazy(), "snapshot_date", [D1], run_id="r1"
        ),
        lambda: store.merge_by_key("t", rows((D2, "cat", 9)).lazy(), "handle", run_id="r2"),
        lambda: store.overwrite(
            "t", rows((D3, "dan", 9)).lazy(), partition_by="snapshot_date", run_id="r3"
        ),
    ]
    assert [commit() for commit in commits] == [1, 2, 3]
    assert versions(store, ["t", "nope"]) == {"t": 3, "nope": None}


def test_a_scan_is_lazy_and_keeps_reading_the_version_it_was_taken_at(store: TableStore) -> None:
    three_dates(store)
    before = store.scan("t")
    assert isinstance(before, pl.LazyFrame)
    store.replace_partitions("t", rows().lazy(), "snapshot_date", [D1, D2, D3], run_id="r1")
    assert store.scan("t").collect().height == 0
    assert before.collect().height == 4  # what publishing may still be reading
    filtered = store.scan("t").filter(pl.col("snapshot_date") == D1).select("handle")
    assert filtered.collect_schema().names() == ["handle"]


@pytest.mark.parametrize("partition_by", ["snapshot_date", None])
def test_a_filtered_scan_selects_the_rows_of_the_filter(
    store: TableStore, partition_by: str | None
) -> None:
    data = rows((D1, "ann", 1), (D2, "bob", 2), (D2, "cat", 3), (D3, "dan", 4))
    store.overwrite("f", data.lazy(), partition_by=partition_by, run_id="r0")
    scan = store.scan("f")
    for where, handles in [
        (pl.col("handle") == "bob", ["bob"]),
        (pl.col("handle").is_in(["ann", "dan"]), ["ann", "dan"]),
        (~pl.col("handle").is_in(["ann"]), ["bob", "cat", "dan"]),
        (pl.col("snapshot_date").is_in(pl.Series([D2], dtype=pl.Date).implode()), ["bob", "cat"]),
        ((pl.col("snapshot_date") == D2) & (pl.col("handle") != "bob"), ["cat"]),
    ]:
        got = scan.filter(where).select("handle").collect().get_column("handle")
        assert sorted(got) == handles, where


@pytest.mark.parametrize("value", ["a b/c", "..", "x/../../etc", "", None])
def test_unsafe_or_null_partition_values_are_refused(store: TableStore, value: str | None) -> None:
    frame = pl.DataFrame(
        {"platform": [value], "n": [1]}, schema={"platform": pl.String, "n": pl.Int64}
    )
    match = "null platform cannot be a partition" if value is None else "refusing"
    with pytest.raises(ValueError, match=match):
        store.overwrite("p", frame.lazy(), partition_by="platform", run_id="r0")
    assert not store.exists("p")
    ok = pl.DataFrame({"platform": ["tiktok"], "n": [1]})
    store.overwrite("p", ok.lazy(), partition_by="platform", run_id="r0")
    if value is not None:
        with pytest.raises(ValueError, match="refusing"):
            store.replace_partitions("p", ok.lazy(), "platform", [value], run_id="r1")
    with pytest.raises(ValueError, match=match):
        store.replace_partitions("p", frame.lazy(), "platform", ["tiktok"], run_id="r1")
    assert store.version("p") == 0 and read_table(store, "p") is not None


def test_replacing_by_another_column_than_the_partitioning_is_refused(store: TableStore) -> None:
    three_dates(store)
    with pytest.raises(ValueError, match=r"by \['snapshot_date'\], not by \['handle'\]"):
        store.replace_partitions("t", rows().lazy(), "handle", ["ann"], run_id="r1")
    assert store.version("t") == 0


def test_a_write_that_fails_leaves_the_previous_version(store: TableStore) -> None:
    three_dates(store)
    failing = rows((D1, "ann", 1)).lazy().with_columns(pl.col("handle").str.to_integer())
    for write in (
        lambda: store.replace_partitions("t", failing, "snapshot_date", [D1], run_id="r1"),
        lambda: store.merge_by_key("t", failing, "handle", run_id="r1"),
        lambda: store.overwrite("t", failing, run_id="r1"),
    ):
        with pytest.raises(pl.exceptions.PolarsError):
            write()
    assert store.version("t") == 0 and len(read(store, "t")) == 4


def test_timestamps_come_back_in_microseconds(store: TableStore) -> None:
    stamps = pl.DataFrame({"at": [dt.datetime(2026, 10, 1, 12)]}).cast({"at": pl.Datetime("ms")})
    store.overwrite("s", stamps.lazy(), run_id="r0")
    assert store.schema("s") == pl.Schema({"at": pl.Datetime("us")})
    assert store.scan("s").collect().item() == dt.datetime(2026, 10, 1, 12)


def test_the_record_of_a_publish_in_progress(store: TableStore) -> None:
    assert store.read_pending() is None
    record = {"run_id": "r1", "snapshot_dates": ["2026-10-01"]}
    store.write_pending(record)
    record["run_id"] = "changed afterwards"
    assert store.read_pending() == {"run_id": "r1", "snapshot_dates": ["2026-10-01"]}
    store.clear_pending()
    store.clear_pending()  # clearing twice is fine
    assert store.read_pending() is None


def test_vacuum_keeps_the_current_version(store: TableStore) -> None:
    three_dates(store)
    store.replace_partitions("t", rows((D1, "ann", 9)).lazy(), "snapshot_date", [D1], run_id="r1")
    assert store.vacuum(["t", "nope"]) == {"t": 0}  # everything is younger than a week
    assert store.vacuum(["t"], retention_hours=0) == {"t": 1}  # the replaced D1 (file, version)
    assert read(store, "t") == [(D1, "ann", 9), (D2, "bob", 2), (D2, "cat", 3), (D3, "dan", 4)]
    assert (store.version("t") or 0) >= 1  # (Delta logs a vacuum as commits of its own)
