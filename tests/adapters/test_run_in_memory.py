"""The run's stages end to end without Prefect (``adapters.run`` with ``LocalSteps``): against
the in-memory table store every table holds the same rows, night after night, as against
the Delta tables on disk; a publish that fails part-way heals on the next run there too."""

from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl
import pytest

from adapters.params import EnrichParams
from adapters.publish_steps import PublishIncomplete
from adapters.run import LocalSteps, run
from adapters.store import DeltaTableStore, MemoryTableStore, TableStore, read_table
from bench.compare_tables import compare_frames
from tests.conftest import SAMPLE_DATA

TABLES = ("deliveries", "creator_snapshots", "quarantine", "creators", "ledger", "contacts")


def _nights(tmp_path: Path) -> list[tuple[list[Path], dict[str, object]]]:
    """sample_data; a corrections file for one TikTok creator; sample_data again with one
    file changed in place (a redelivery) and the contacts kept."""
    fix = tmp_path / "fix"
    fix.mkdir()
    (fix / "tiktok_oct_2026_fix.csv").write_text("handle,followers\ndancewithmia,16000000\n")
    changed = tmp_path / "changed"
    shutil.copytree(SAMPLE_DATA, changed, ignore=shutil.ignore_patterns("*.py"))
    csv = changed / "instagram_oct_2026.csv"
    csv.write_bytes(csv.read_bytes().replace(b"2.4M,2400000", b"2.5M,2500000"))
    return [([SAMPLE_DATA], {}), ([fix], {}), ([changed], {"keep_contacts": True})]


def _run(inputs: list[Path], out: Path, store: TableStore, **kw: object) -> dict:
    params = EnrichParams(inputs=[str(p) for p in inputs], out=str(out), **kw)  # type: ignore[arg-type]
    return run(params, LocalSteps(), store).model_dump(mode="json")


def _same_tables(delta: TableStore, memory: TableStore) -> None:
    for name in TABLES:
        want, got = read_table(delta, name), read_table(memory, name)
        assert (want is None) == (got is None), name
        if want is not None and got is not None:
            assert got.schema == want.schema, name
            assert compare_frames(want, got) == [], name
        assert memory.version(name) == delta.version(name), name


@pytest.mark.slow
def test_the_run_against_memory_publishes_what_it_publishes_to_delta(tmp_path: Path) -> None:
    delta = DeltaTableStore(tmp_path / "delta")
    memory = MemoryTableStore()
    nights = _nights(tmp_path)
    for inputs, options in nights:
        on_disk = _run(inputs, tmp_path / "delta", delta, **options)
        in_memory = _run(inputs, tmp_path / "memory", memory, **options)
        _same_tables(delta, memory)
        assert in_memory["table_versions"] == on_disk["table_versions"]
        assert in_memory["snapshot_dates_merged"] == on_disk["snapshot_dates_merged"]
        assert [
            {k: f[k] for k in ("source_file", "status", "rows_read", "enriched", "quarantined")}
            for f in in_memory["files"]
        ] == [
            {k: f[k] for k in ("source_file", "status", "rows_read", "enriched", "quarantined")}
            for f in on_disk["files"]
        ]
    # the memory run's folder has its manifests and report, but no table and no catalog
    folder = tmp_path / "memory"
    assert len(list((folder / "runs").glob("*/manifest.json"))) == 3
    assert (folder / "report.html").is_file() and not (folder / "roster.duckdb").exists()
    assert not list(folder.glob("*/_delta_log"))
    # the last night again: nothing new, no commit, in either store
    inputs, options = nights[-1]
    for store, where in ((memory, folder), (delta, tmp_path / "delta")):
        again = _run(inputs, where, store, **options)
        assert again["table_versions"] == {} and len(again["skipped_files"]) == 5
    _same_tables(delta, memory)


class QuarantineFails(MemoryTableStore):
    """The in-memory store with a disk that fills up at the quarantine commit, once."""

    failures = 1

    def overwrite(self, name: str, rows: pl.LazyFrame, **kw: object) -> int:
        if name == "quarantine" and self.failures:
            self.failures -= 1
            raise OSError(28, "No space left on device")
        return super().overwrite(name, rows, **kw)  # type: ignore[arg-type]


@pytest.mark.slow
def test_a_publish_that_stops_part_way_heals_in_memory_too(tmp_path: Path) -> None:
    store = QuarantineFails()
    store.failures = 0
    out = tmp_path / "out"
    _run([SAMPLE_DATA], out, store)
    before = {n: store.version(n) for n in TABLES}
    store.failures = 1
    fix = _nights(tmp_path)[1][0]
    with pytest.raises(PublishIncomplete, match="publishing stopped part-way") as failure:
        _run(fix, out, store)
    assert "creator_snapshots v1 (this run)" in str(failure.value)
    assert "quarantine v0 (unchanged)" in str(failure.value)
    assert store.version("creators") == before["creators"]
    assert store.read_pending() is not None  # the dates to derive again
    other = tmp_path / "other"
    other.mkdir()
    (other / "x_nov_2026.csv").write_text("handle,followers\nsomeone,1200\n")
    _run([other], out, store)
    assert store.read_pending() is None
    snaps, creators = read_table(store, "creator_snapshots"), read_table(store, "creators")
    assert snaps is not None and creators is not None
    assert snaps.select("platform", "handle_norm", "snapshot_date").is_duplicated().sum() == 0
    assert creators.height == snaps.get_column("creator_key").n_unique()
    mia = creators.filter(pl.col("handle_norm") == "dancewithmia").row(0, named=True)
    assert (mia["followers"], mia["source_file"]) == (16_000_000, "tiktok_oct_2026_fix.csv")
    quarantine = read_table(store, "quarantine")
    assert quarantine is not None
    superseded = quarantine.filter(pl.col("reason") == "superseded")
    assert superseded.select("source_file", "raw_value").rows() == [
        ("tiktok_oct_2026.xlsx", "dancewithmia")
    ]
