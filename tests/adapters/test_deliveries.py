"""Several nights on one --out: every delivered row is in the tables or in quarantine.

The unit a run replaces is a delivery (a file by its path under the input root, with its
sheets). Deliveries of one platform and date merge per creator, the later one winning; the
losing rows are quarantined as ``superseded``. Each test asserts the exact rows per
(platform, snapshot_date) and per source file, and that for every delivery in the ledger
rows read = enriched + quarantined + collapsed duplicates, counted from the tables.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import polars as pl
import pytest

DEC = "2022-12-01"


def export(path: Path, start: int, stop: int, bump: dict[int, int] | None = None) -> Path:
    """A TikTok export of creators ``start..stop-1`` (followers 1000 + 10 i, or ``bump``)."""
    bump = bump or {}
    lines = ["handle,followers,avg views"]
    lines += [f"creator_{i:04d},{bump.get(i, 1000 + 10 * i)},{100 + i}" for i in range(start, stop)]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return path


def snapshots(out: Path) -> pl.DataFrame:
    return pl.read_delta(str(out / "creator_snapshots"))


def rows_per_date(out: Path) -> dict[tuple[str, str], int]:
    df = snapshots(out).group_by("platform", "snapshot_date").len()
    return {(p, d.isoformat()): n for p, d, n in df.iter_rows()}


def rows_per_file(out: Path) -> dict[str, int]:
    return dict(snapshots(out).group_by("source_file").len().iter_rows())


def followers(out: Path, handle: str) -> list[tuple[int, str]]:
    df = snapshots(out).filter(pl.col("handle_norm") == handle)
    return list(df.select("followers", "source_file").iter_rows())


def superseded(out: Path) -> pl.DataFrame:
    q = pl.read_delta(str(out / "quarantine"))
    return q.filter(pl.col("reason") == "superseded")


def assert_every_delivery_reconciles(out: Path) -> None:
    """For every delivery in the ledger, from the published tables: rows read = rows in
    creator_snapshots + distinct rows in quarantine (superseded included) + collapsed."""
    ledger = pl.read_delta(str(out / "ledger"))
    snaps = rows_per_file(out)
    q = pl.read_delta(str(out / "quarantine"))
    rowwise = dict(
        q.filter(pl.col("source_row").is_not_null())
        .group_by("source_file")
        .agg(pl.col("source_row").n_unique())
        .iter_rows()
    )
    whole = set(q.filter(pl.col("source_row").is_null()).get_column("source_file"))
    assert ledger.get_column("source_file").is_unique().all()
    for row in ledger.iter_rows(named=True):
        src = row["source_file"]
        if src in whole:
            assert row["status"] == "quarantined" and src not in snaps, src
            continue
        got = snaps.get(src, 0) + rowwise.get(src, 0) + row["duplicates_collapsed"]
        assert got == row["rows_read"], (src, row, snaps.get(src), rowwise.get(src))
    delivered = set(pl.read_delta(str(out / "deliveries")).get_column("source_file"))
    assert delivered <= set(ledger.get_column("source_file"))


def test_a_month_in_two_parts_on_two_nights(run_flow, tmp_path: Path) -> None:
    out, landing = tmp_path / "out", tmp_path / "landing"
    export(landing / "tiktok_dec_2022_part1.csv", 0, 500)
    first = run_flow([landing], out)
    assert rows_per_date(out) == {("tiktok", DEC): 500}
    export(landing / "tiktok_dec_2022_part2.csv", 500, 999)
    second = run_flow([landing], out)
    assert [f["source_file"] for f in second["files"]] == ["tiktok_dec_2022_part2.csv"]
    assert [f["processed_by_run"] for f in second["skipped_files"]] == [first["run_id"]]
    assert rows_per_date(out) == {("tiktok", DEC): 999}
    assert rows_per_file(out) == {
        "tiktok_dec_2022_part1.csv": 500,
        "tiktok_dec_2022_part2.csv": 499,
    }
    assert pl.read_delta(str(out / "creators")).height == 999
    assert superseded(out).height == 0
    assert_every_delivery_reconciles(out)


def test_a_partial_corrections_file_updates_only_its_creators(run_flow, tmp_path: Path) -> None:
    out, landing = tmp_path / "out", tmp_path / "landing"
    export(landing / "tiktok_dec_2022.csv", 0, 999)
    export(landing / "tiktok_nov_2022.csv", 0, 524)
    run_flow([landing], out)
    assert pl.read_delta(str(out / "creators")).height == 999
    fixes = {i: 5_000_000 + i for i in range(0, 100, 10)}
    export(landing / "tiktok_dec_2022_corrections.csv", 0, 100, fixes)
    # only the corrected creators are in the corrections file
    text = (landing / "tiktok_dec_2022_corrections.csv").read_text().splitlines()
    (landing / "tiktok_dec_2022_corrections.csv").write_text(
        "\n".join([text[0], *(line for line in text[1:] if int(line[8:12]) in fixes)]) + "\n"
    )
    manifest = run_flow([landing], out)
    [f] = manifest["files"]
    assert (f["rows_read"], f["enriched"], f["superseded"]) == (10, 10, 0)
    assert rows_per_date(out) == {("tiktok", DEC): 999, ("tiktok", "2022-11-01"): 524}
    assert rows_per_file(out) == {
        "tiktok_dec_2022.csv": 989,
        "tiktok_dec_2022_corrections.csv": 10,
        "tiktok_nov_2022.csv": 524,
    }
    assert sorted(followers(out, "creator_0010")) == [
        (1100, "tiktok_nov_2022.csv"),
        (5_000_010, "tiktok_dec_2022_corrections.csv"),
    ]
    lost = superseded(out)
    assert lost.height == 10
    assert set(lost.get_column("source_file")) == {"tiktok_dec_2022.csv"}
    assert lost.get_column("detail").str.contains("tiktok_dec_2022_corrections.csv row").all()
    creators = pl.read_delta(str(out / "creators"))
    assert creators.height == 999  # the roster keeps every creator
    growth = creators.filter(pl.col("handle_norm") == "creator_0020").row(0, named=True)
    assert (growth["followers"], growth["followers_prev"]) == (5_000_020, 1200)
    assert_every_delivery_reconciles(out)

    # a full refresh of the same files gives the same tables: the first load decides
    before = snapshots(out).drop("run_id").sort("handle_norm", "snapshot_date")
    run_flow([landing], out, full_refresh=True)
    assert snapshots(out).drop("run_id").sort("handle_norm", "snapshot_date").equals(before)
    assert superseded(out).height == 10
    assert_every_delivery_reconciles(out)


def test_an_in_place_corrected_redelivery_replaces_exactly_that_file(
    run_flow, tmp_path: Path
) -> None:
    out, landing = tmp_path / "out", tmp_path / "landing"
    export(landing / "tiktok_dec_2022.csv", 0, 999)
    export(landing / "tiktok_dec_2022_extra.csv", 999, 1010)
    run_flow([landing], out)
    assert rows_per_date(out) == {("tiktok", DEC): 1010}
    # the same path again: one value changed, one creator removed
    export(landing / "tiktok_dec_2022.csv", 0, 999, {7: 777_777})
    lines = (landing / "tiktok_dec_2022.csv").read_text().splitlines()
    (landing / "tiktok_dec_2022.csv").write_text(
        "\n".join(line for line in lines if not line.startswith("creator_0042,")) + "\n"
    )
    manifest = run_flow([landing], out)
    assert [f["source_file"] for f in manifest["files"]] == ["tiktok_dec_2022.csv"]
    assert rows_per_date(out) == {("tiktok", DEC): 1009}
    assert rows_per_file(out) == {"tiktok_dec_2022.csv": 998, "tiktok_dec_2022_extra.csv": 11}
    assert followers(out, "creator_0007") == [(777_777, "tiktok_dec_2022.csv")]
    assert followers(out, "creator_0042") == []
    assert pl.read_delta(str(out / "creators")).height == 1009
    assert superseded(out).height == 0
    ledger = pl.read_delta(str(out / "ledger"))
    assert ledger.height == 2  # one row per delivery, in its current version
    assert_every_delivery_reconciles(out)


def test_two_agencies_with_the_same_file_name_are_two_deliveries(run_flow, tmp_path: Path) -> None:
    out, landing = tmp_path / "out", tmp_path / "landing"
    export(landing / "agency_a" / "tiktok_dec_2022.csv", 0, 100)
    run_flow([landing], out)
    export(landing / "agency_b" / "tiktok_dec_2022.csv", 50, 150, {60: 9_999})
    manifest = run_flow([landing], out)
    assert [f["source_file"] for f in manifest["files"]] == ["agency_b/tiktok_dec_2022.csv"]
    assert [f["source_file"] for f in manifest["skipped_files"]] == ["agency_a/tiktok_dec_2022.csv"]
    assert rows_per_date(out) == {("tiktok", DEC): 150}
    # the later delivery wins the 50 creators both sent
    assert rows_per_file(out) == {
        "agency_a/tiktok_dec_2022.csv": 50,
        "agency_b/tiktok_dec_2022.csv": 100,
    }
    assert followers(out, "creator_0060") == [(9_999, "agency_b/tiktok_dec_2022.csv")]
    lost = superseded(out)
    assert lost.height == 50
    assert set(lost.get_column("source_file")) == {"agency_a/tiktok_dec_2022.csv"}
    same = lost.filter(pl.col("detail").str.contains("same values"))
    assert same.height == 49  # creator_0060 had other values
    assert_every_delivery_reconciles(out)


def test_original_and_corrected_version_in_one_run(run_flow, tmp_path: Path) -> None:
    out, landing = tmp_path / "out", tmp_path / "landing"
    original = export(landing / "tiktok_dec_2022_v2.csv", 0, 300)
    corrected = export(landing / "tiktok_dec_2022.csv", 0, 300, {5: 55_555})
    # the file modified later wins (here the one whose name sorts first)
    os.utime(original, (1_700_000_000, 1_700_000_000))
    os.utime(corrected, (1_700_000_600, 1_700_000_600))
    manifest = run_flow([landing], out)
    assert rows_per_date(out) == {("tiktok", DEC): 300}
    assert rows_per_file(out) == {"tiktok_dec_2022.csv": 300}
    assert followers(out, "creator_0005") == [(55_555, "tiktok_dec_2022.csv")]
    by_file = {f["source_file"]: f for f in manifest["files"]}
    assert by_file["tiktok_dec_2022_v2.csv"]["superseded"] == 300
    assert by_file["tiktok_dec_2022_v2.csv"]["enriched"] == 0
    assert superseded(out).height == 300
    assert_every_delivery_reconciles(out)


def test_same_bytes_under_another_name_is_processed_and_flagged(run_flow, tmp_path: Path) -> None:
    out, landing = tmp_path / "out", tmp_path / "landing"
    export(landing / "tiktok_nov_2022.csv", 0, 20)
    run_flow([landing], out)
    shutil.copy(landing / "tiktok_nov_2022.csv", landing / "tiktok_dec_2022.csv")
    manifest = run_flow([landing], out)
    [f] = manifest["files"]
    assert f["source_file"] == "tiktok_dec_2022.csv" and f["enriched"] == 20
    assert f["copy_of"] == "tiktok_nov_2022.csv"
    assert rows_per_date(out) == {("tiktok", DEC): 20, ("tiktok", "2022-11-01"): 20}
    assert_every_delivery_reconciles(out)


@pytest.mark.parametrize("broken", ["deleted", "rejected"])
def test_a_redelivery_that_is_rejected_whole_replaces_the_earlier_rows(
    run_flow, tmp_path: Path, broken: str
) -> None:
    out, landing = tmp_path / "out", tmp_path / "landing"
    export(landing / "tiktok_dec_2022.csv", 0, 30)
    run_flow([landing], out)
    if broken == "deleted":  # a file that leaves the landing folder is not a delivery
        (landing / "tiktok_dec_2022.csv").unlink()
        export(landing / "tiktok_nov_2022.csv", 0, 5)
        run_flow([landing], out)
        assert rows_per_date(out) == {("tiktok", DEC): 30, ("tiktok", "2022-11-01"): 5}
    else:
        (landing / "tiktok_dec_2022.csv").write_text("no,header,here\n")
        manifest = run_flow([landing], out)
        assert manifest["files"][0]["status"] == "quarantined"
        assert not snapshots(out).height
    assert_every_delivery_reconciles(out)


def test_compressed_zip_and_parquet_deliveries_are_read(run_flow, tmp_path: Path) -> None:
    import gzip
    import zipfile

    out, landing = tmp_path / "out", tmp_path / "landing"
    plain = export(tmp_path / "src" / "tiktok_dec_2022.csv", 0, 100)
    landing.mkdir()
    (landing / "tiktok_dec_2022.csv.gz").write_bytes(gzip.compress(plain.read_bytes()))
    with zipfile.ZipFile(landing / "agency_dec.zip", "w", zipfile.ZIP_DEFLATED) as z:
        z.write(
            export(tmp_path / "src" / "instagram_dec_2022.csv", 0, 40), "instagram_dec_2022.csv"
        )
        z.write(
            export(tmp_path / "src" / "youtube_dec_2022.csv", 0, 30), "more/youtube_dec_2022.csv"
        )
        z.writestr("__MACOSX/._instagram_dec_2022.csv", b"junk")
    pl.read_csv(export(tmp_path / "src" / "tiktok_nov_2022.csv", 0, 25)).write_parquet(
        landing / "tiktok_nov_2022.parquet"
    )
    manifest = run_flow([landing], out)
    assert all(f["status"] == "ok" and f["reconciled"] for f in manifest["files"]), manifest[
        "files"
    ]
    assert rows_per_date(out) == {
        ("tiktok", DEC): 100,
        ("instagram", DEC): 40,
        ("youtube", DEC): 30,
        ("tiktok", "2022-11-01"): 25,
    }
    assert rows_per_file(out) == {
        "tiktok_dec_2022.csv.gz": 100,
        "agency_dec.zip/instagram_dec_2022.csv": 40,
        "agency_dec.zip/more/youtube_dec_2022.csv": 30,
        "tiktok_nov_2022.parquet": 25,
    }
    assert_every_delivery_reconciles(out)
    # the zip is one delivery: delivered again without a member, that member's rows go
    with zipfile.ZipFile(landing / "agency_dec.zip", "w") as z:
        z.write(tmp_path / "src" / "instagram_dec_2022.csv", "instagram_dec_2022.csv")
    run_flow([landing], out)
    assert rows_per_date(out)[("instagram", DEC)] == 40
    assert ("youtube", DEC) not in rows_per_date(out)
    assert_every_delivery_reconciles(out)


def test_a_zip_that_expands_past_the_bound_is_refused(run_flow, tmp_path: Path) -> None:
    import zipfile

    out, landing = tmp_path / "out", tmp_path / "landing"
    landing.mkdir()
    big = "handle,followers\n" + "creator_x,1000\n" * 200_000  # 3 MiB, compresses to KiBs
    with zipfile.ZipFile(landing / "tiktok_dec_2022.zip", "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("tiktok_dec_2022.csv", big)
    assert (landing / "tiktok_dec_2022.zip").stat().st_size < 100_000
    export(landing / "tiktok_nov_2022.csv", 0, 10)
    manifest = run_flow([landing], out, max_file_mb=1)
    by_file = {f["source_file"]: f for f in manifest["files"]}
    assert by_file["tiktok_dec_2022.zip"]["reason"] == "file_too_large"
    assert "expands to 3 MiB, over the 1 MiB limit" in by_file["tiktok_dec_2022.zip"]["detail"]
    assert by_file["tiktok_nov_2022.csv"]["status"] == "ok"
    assert not list((out / "_staging").glob("**/*.csv")) if (out / "_staging").exists() else True


def test_one_bad_file_never_stops_the_others(
    run_flow, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out, landing = tmp_path / "out", tmp_path / "landing"
    export(landing / "tiktok_dec_2022.csv", 0, 50)
    locked = export(landing / "tiktok_nov_2022.csv", 0, 20)
    (landing / "tiktok_oct_2022.json").write_text("[" * 100_000 + "]" * 100_000)
    locked.chmod(0)
    if os.geteuid() == 0:  # root reads any file: make the read itself fail, as it would
        import adapters.ingest
        import adapters.run

        real = adapters.ingest.sha256_of

        def denied(path: Path) -> str:
            if path.name == locked.name:
                raise PermissionError(13, "Permission denied", str(path))
            return real(path)

        monkeypatch.setattr(adapters.ingest, "sha256_of", denied)
        monkeypatch.setattr(adapters.run, "sha256_of", denied)
    try:
        manifest = run_flow([landing], out)
    finally:
        locked.chmod(0o644)
    by_file = {f["source_file"]: f for f in manifest["files"]}
    assert by_file["tiktok_dec_2022.csv"]["status"] == "ok"
    assert by_file["tiktok_nov_2022.csv"]["reason"] == "permission_denied"
    assert by_file["tiktok_oct_2022.json"]["reason"] == "too_deeply_nested"
    assert rows_per_date(out) == {("tiktok", DEC): 50}
    q = pl.read_delta(str(out / "quarantine")).filter(pl.col("source_row").is_null())
    assert sorted(q.get_column("source_file")) == ["tiktok_nov_2022.csv", "tiktok_oct_2022.json"]
    # the next night, once readable, the file is read (it was never "processed")
    monkeypatch.undo()
    again = run_flow([landing], out)
    assert {f["source_file"] for f in again["files"]} == {
        "tiktok_nov_2022.csv",
        "tiktok_oct_2022.json",
    }
    assert rows_per_date(out) == {("tiktok", DEC): 50, ("tiktok", "2022-11-01"): 20}
    assert_every_delivery_reconciles(out)


def test_every_file_is_read_or_listed_with_why(run_flow, tmp_path: Path) -> None:
    out, landing = tmp_path / "landing" / "out", tmp_path / "landing"
    export(landing / "tiktok_dec_2022.csv", 0, 10)
    (landing / "README.txt").write_text("Exports for December.\nAsk Ana for the rest.\n")
    (landing / "settings.json").write_text('{"schedule": "nightly", "owner": "ana"}')
    (landing / ".DS_Store").write_bytes(b"\0\1junk")
    (landing / "~$roster.xlsx").write_bytes(b"lock")
    (landing / "brief.pdf").write_bytes(b"%PDF-1.4")
    (landing / "gone.csv").symlink_to(tmp_path / "nowhere.csv")
    export(landing / ".git" / "tiktok_jan_2022.csv", 0, 3)
    elsewhere = export(tmp_path / "agency" / "instagram_dec_2022.csv", 0, 7).parent
    (landing / "agency").symlink_to(elsewhere, target_is_directory=True)
    (landing / "agency" / "loop").symlink_to(landing, target_is_directory=True)
    first = run_flow([landing], out)
    second = run_flow([landing], out, full_refresh=True)  # --out inside the input
    for manifest in (first, second):
        assert sorted(f["source_file"] for f in manifest["files"]) == [
            "agency/instagram_dec_2022.csv",
            "tiktok_dec_2022.csv",
        ]
        assert all(f["status"] == "ok" for f in manifest["files"])
    why = {f["source_file"]: f["reason"] for f in second["not_read"]}
    assert why == {
        ".DS_Store": "hidden",
        ".git": "hidden",
        "gone.csv": "broken_symlink",
        "README.txt": "not_an_export",
        "agency/loop": "symlink_loop",
        "brief.pdf": "not_an_export",
        "out": "output_folder",
        "settings.json": "not_an_export",
        "~$roster.xlsx": "office_lock_file",
    }
    assert rows_per_date(out) == {("tiktok", DEC): 10, ("instagram", DEC): 7}
    assert_every_delivery_reconciles(out)


def test_a_workbook_is_bounded_by_what_it_expands_to(run_flow, tmp_path: Path) -> None:
    """--max-file-mb bounds the decoded size: a workbook far under 1 MiB on disk whose
    sheet XML is several MiB is refused before it is parsed."""
    from openpyxl import Workbook

    out, landing = tmp_path / "out", tmp_path / "landing"
    landing.mkdir()
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["handle", "followers"])
    for _ in range(40_000):
        sheet.append(["creator", 1000])
    book.save(landing / "tiktok_dec_2022.xlsx")
    assert (landing / "tiktok_dec_2022.xlsx").stat().st_size < 1 << 20
    export(landing / "tiktok_nov_2022.csv", 0, 10)
    manifest = run_flow([landing], out, max_file_mb=1)
    by_file = {f["source_file"]: f for f in manifest["files"]}
    assert by_file["tiktok_dec_2022.xlsx"]["reason"] == "file_too_large"
    assert "expands to" in by_file["tiktok_dec_2022.xlsx"]["detail"]
    assert rows_per_date(out) == {("tiktok", "2022-11-01"): 10}


def test_a_member_bigger_than_its_header_says_is_still_cut_at_the_bound(tmp_path: Path) -> None:
    """The copy of an archive member counts the bytes it really writes (a zip header can
    lie about the size): past the bound it stops, deletes the partial copy and refuses."""
    import io

    from adapters.readers import FileRejected
    from adapters.readers.archives import _copy_bounded

    target = tmp_path / "member.csv"
    with pytest.raises(FileRejected, match="decompresses to more than 1 MiB"):
        _copy_bounded(io.BytesIO(b"x" * (3 << 20)), target, "bomb.zip: member.csv", 1 << 20)
    assert not target.exists()
    assert _copy_bounded(io.BytesIO(b"x" * 100), target, "ok", 1 << 20) == 100


def test_an_output_folder_from_before_deliveries_keeps_every_row(run_flow, tmp_path: Path) -> None:
    """An --out published by the previous version (snapshots, no deliveries table): its
    rows become deliveries, so a new file for the same date adds to them."""
    out, landing = tmp_path / "out", tmp_path / "landing"
    export(landing / "tiktok_dec_2022.csv", 0, 40)
    (landing / "instagram_dec_2022.csv").write_text("handle,followers\nig_1,500\nig_2,600\n")
    run_flow([landing], out)
    shutil.rmtree(out / "deliveries")  # what the previous version left
    more = tmp_path / "more"
    export(more / "tiktok_dec_2022_late.csv", 40, 45)
    run_flow([more], out)
    assert rows_per_date(out) == {("tiktok", DEC): 45, ("instagram", DEC): 2}
    assert rows_per_file(out) == {
        "tiktok_dec_2022.csv": 40,
        "instagram_dec_2022.csv": 2,
        "tiktok_dec_2022_late.csv": 5,
    }
    assert_every_delivery_reconciles(out)


@pytest.mark.real_exports
def test_real_exports_a_corrections_file_keeps_every_creator(run_flow, tmp_path: Path) -> None:
    """The issue's reproduction on the real 2022 TikTok exports: a 10-row corrections file
    for December used to leave 10 of its 999 rows (creators 1,523 -> 988)."""
    from tests.conftest import REAL_EXPORTS

    out, landing = tmp_path / "out", tmp_path / "landing"
    landing.mkdir()
    for month in ("nov", "dec"):
        shutil.copy(REAL_EXPORTS / f"tiktok_{month}_2022.csv", landing)
    run_flow([landing], out)
    before = rows_per_date(out)
    creators_before = pl.read_delta(str(out / "creators")).height
    lines = (landing / "tiktok_dec_2022.csv").read_text(encoding="utf-8").splitlines()
    (landing / "tiktok_dec_2022_corrections.csv").write_text(
        "\n".join(lines[:11]) + "\n", encoding="utf-8"
    )
    manifest = run_flow([landing], out)
    assert [f["source_file"] for f in manifest["files"]] == ["tiktok_dec_2022_corrections.csv"]
    assert rows_per_date(out) == before  # the month keeps all its creators
    assert pl.read_delta(str(out / "creators")).height == creators_before
    assert rows_per_file(out)["tiktok_dec_2022_corrections.csv"] == 10
    assert superseded(out).height == 10
    assert_every_delivery_reconciles(out)
