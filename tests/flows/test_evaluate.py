"""``roster evaluate``: the backtest scores only held-out rows, and on the real exports it
meets the model card's targets (docs/ESTIMATES.md)."""

from __future__ import annotations

import json
import math
import random
import subprocess
import sys
from pathlib import Path

import pytest

from adapters.evaluate import evaluate
from tests.conftest import REAL_EXPORTS


def _write(path: Path, rows: list[tuple[str, int, float, float]]) -> None:
    lines = ["handle,followers,avg views,avg likes"]
    lines += [f"{h},{f},{v:.1f},{lk:.1f}" for h, f, v, lk in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.fixture
def exports(tmp_path: Path) -> Path:
    """November: 300 creators whose views are 10% of followers (likes 1% of followers).
    December: 100 of them again with 10x their November views, and 100 new creators whose
    views are 100x what November teaches. A backtest that learnt from December's views
    would score far better than 10x."""
    rng = random.Random(7)
    nov, dec = [], []
    for i in range(300):
        f = int(math.exp(rng.uniform(math.log(2e4), math.log(5e7))))
        noise = math.exp(rng.gauss(0, 0.2))
        nov.append((f"c{i}", f, 0.1 * f * noise, 0.01 * f))
        if i < 100:
            dec.append((f"c{i}", f, 1.0 * f * noise, 0.01 * f))
    for i in range(100):
        f = int(math.exp(rng.uniform(math.log(2e4), math.log(5e7))))
        dec.append((f"new{i}", f, 10.0 * f, 0.01 * f))
    _write(tmp_path / "tiktok_nov_2022.csv", nov)
    _write(tmp_path / "tiktok_dec_2022.csv", dec)
    (tmp_path / "undated.csv").write_text("handle,followers\na,1\n", encoding="utf-8")
    return tmp_path


def _metrics(result, slice_: str) -> dict:
    rows = result.table.filter(platform="tiktok", slice=slice_).to_dicts()
    assert len(rows) == 1, slice_
    return rows[0]


def test_backtest_scores_only_the_held_out_latest_snapshot(exports: Path) -> None:
    result = evaluate([str(exports)])
    assert result.held_out == {"tiktok": "2022-12-01"}
    assert result.training_rows == {"tiktok": 300}  # November only
    assert [s["source_file"] for s in result.skipped_files] == ["undated.csv"]
    everyone, new = _metrics(result, "all"), _metrics(result, "never seen before")
    assert everyone["rows"] == 200
    assert new["rows"] == 100
    # seen creators: history gives November's views, 10x below December's
    history = _metrics(result, "method history")
    assert history["rows"] == 100
    assert history["typical_error"] == pytest.approx(10, rel=0.01)
    assert history["bias"] == pytest.approx(0.1, rel=0.01)
    assert history["within_2x"] == 0
    # new creators: the model fitted on November predicts 1% of December's views
    assert new["typical_error"] == pytest.approx(100, rel=0.3)
    assert new["band_coverage"] == 0


def test_cli_prints_the_table_and_json(exports: Path) -> None:
    cmd = [sys.executable, "-m", "flows.cli", "evaluate", str(exports)]
    text = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert text.returncode == 0, text.stderr
    assert "never seen before" in text.stdout and "typical error" in text.stdout
    assert "left out undated.csv: unknown_platform+unknown_snapshot_date" in text.stderr
    assert "--snapshot-date" in text.stderr  # says how to bring the file in
    as_json = subprocess.run([*cmd, "--json"], capture_output=True, text=True, timeout=300)
    payload = json.loads(as_json.stdout)
    assert payload["held_out_snapshot"] == {"tiktok": "2022-12-01"}
    assert {m["slice"] for m in payload["metrics"]} >= {"all", "never seen before"}


@pytest.mark.real_exports
@pytest.mark.slow
def test_real_exports_meet_the_model_card_targets() -> None:
    result = evaluate([str(REAL_EXPORTS)])
    assert result.held_out == {"tiktok": "2022-12-01", "youtube": "2022-12-01"}
    targets = {"tiktok": 1.5, "youtube": 2.0}
    for platform, worst in targets.items():
        row = result.table.filter(platform=platform, slice="all").row(0, named=True)
        assert row["rows"] > 900
        assert row["typical_error"] <= worst, row
        assert 0.70 <= row["band_coverage"] <= 0.90, row


def test_backtest_in_a_run_never_learns_from_published_held_out_views(
    exports: Path, tmp_path: Path
) -> None:
    """A run's backtest sees the published snapshots too; their rows of the held-out date
    (here: the same December export, published before) must not leak into the fit."""
    from adapters.config import load_country_aliases, load_rate_card
    from adapters.evaluate import load_rows
    from adapters.ingest import RunOptions
    from transforms.backtest import backtest
    from transforms.country import country_lookup

    staging = tmp_path / "staging"
    staging.mkdir()
    rows, _ = load_rows([str(exports)], RunOptions(), staging)
    published = rows.lazy()  # every row, December's views included
    countries = country_lookup(load_country_aliases())
    alone = backtest(rows, load_rate_card(), countries)
    with_history = backtest(rows, load_rate_card(), countries, history=published)
    assert with_history.training_rows == {"tiktok": 300}
    assert with_history.table.equals(alone.table)


def test_a_big_run_scores_an_even_sample_of_whole_creators(exports: Path, tmp_path: Path) -> None:
    """The run's own backtest (manifest reach_evaluation) bounds its second enrich pass:
    past max_rows it scores every k-th creator with all of that creator's rows."""
    from adapters.build import evaluate_reach
    from adapters.config import load_country_aliases, load_rate_card
    from adapters.evaluate import load_rows
    from adapters.ingest import RunOptions
    from transforms.country import country_lookup

    staging = tmp_path / "staging"
    staging.mkdir()
    rows, _ = load_rows([str(exports)], RunOptions(), staging)
    args = (load_rate_card(None), country_lookup(load_country_aliases()), None, None)
    full = evaluate_reach(rows.lazy(), *args)
    sampled = evaluate_reach(rows.lazy(), *args, max_rows=rows.height // 3)
    assert full is not None and sampled is not None
    assert (full["creators_sampled"], sampled["creators_sampled"]) == ("all", "1 in 4")
    held = {m["slice"]: m["rows"] for m in sampled["metrics"] if m["platform"] == "tiktok"}
    assert 0 < held["all"] < 200  # a quarter of the 200 December creators, give or take
    # a sampled creator keeps its November row: its history still predicts its December
    assert held.get("method history", 0) > 0
