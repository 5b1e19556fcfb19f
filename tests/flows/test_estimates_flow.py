"""The reach history across runs: a later run without views uses the creator's views
published by an earlier run (enrich_task passes creator_snapshots to enrich)."""

from __future__ import annotations

from pathlib import Path

import polars as pl


def test_a_later_run_without_views_uses_the_published_views(run_flow, tmp_path: Path) -> None:
    nov, dec = tmp_path / "in_nov", tmp_path / "in_dec"
    nov.mkdir()
    dec.mkdir()
    (nov / "tiktok_nov_2022.csv").write_text(
        "handle,followers,avg views\nana,1000000,420000\nben,2000000,90000\n", encoding="utf-8"
    )
    (dec / "tiktok_dec_2022.csv").write_text(
        "handle,followers\nana,1100000\ncy,3000000\n", encoding="utf-8"
    )
    out = tmp_path / "out"
    run_flow([nov], out)
    run_flow([dec], out)
    rows = (
        pl.read_delta(str(out / "creator_snapshots"))
        .filter(pl.col("snapshot_date") == pl.date(2022, 12, 1))
        .sort("handle_norm")
    )
    assert rows["handle_norm"].to_list() == ["ana", "cy"]
    assert rows["est_reach_method"].to_list() == ["history", "benchmark"]
    assert rows["est_reach"].to_list()[0] == 420_000
