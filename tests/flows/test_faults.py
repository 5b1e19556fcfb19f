"""Faults: a run killed mid-publish, counts that do not add up, a full disk, the Prefect
API going away. The previous output must stay readable and unchanged, and the next run
must complete with no duplicates."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest
from deltalake import DeltaTable

from tests.conftest import SAMPLE_DATA

TABLES = ("creator_snapshots", "creators", "quarantine")
FAULT_SITE = Path(__file__).resolve().parents[1] / "fault_injection"


def with_fault(env: dict[str, str], spec: str) -> dict[str, str]:
    """``env`` for a CLI run that pauses at a publish point (tests/fault_injection)."""
    path = os.pathsep.join(p for p in (str(FAULT_SITE), env.get("PYTHONPATH", "")) if p)
    return {**env, "PYTHONPATH": path, "ROSTER_FAULT_PAUSE": spec}


def _versions(out: Path) -> dict[str, int]:
    return {t: DeltaTable(str(out / t)).version() for t in TABLES}


def _contents(out: Path) -> dict[str, pl.DataFrame]:
    frames = {}
    for t in TABLES:
        df = pl.read_delta(str(out / t)).drop("run_id")
        frames[t] = df.sort(df.columns[:6], nulls_last=True)
    return frames


def _env() -> dict[str, str]:
    from prefect.settings import PREFECT_API_URL

    env = dict(os.environ)
    env["PREFECT_API_URL"] = str(PREFECT_API_URL.value())
    return env


def _start(args: list[str], env: dict[str, str], **kw: object) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "flows.cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        **kw,
    )


def _run(args: list[str], **kw: object) -> subprocess.CompletedProcess[str]:
    """The CLI to completion, against the session's test API."""
    return subprocess.run(  # type: ignore[call-overload]
        [sys.executable, "-m", "flows.cli", *args],
        capture_output=True,
        text=True,
        env=_env(),
        timeout=300,
        **kw,
    )


def _wait_for(proc: subprocess.Popen[str], text: str, timeout: float = 120) -> str:
    seen = []
    deadline = time.monotonic() + timeout
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line and proc.poll() is not None:
            break
        seen.append(line)
        if text in line:
            return "".join(seen)
    proc.kill()
    raise AssertionError(f"{text!r} never printed:\n{''.join(seen)[-3000:]}")


def _changed_inputs(tmp_path: Path) -> Path:
    """sample_data with one creator's followers changed, so a rerun has new content."""
    folder = tmp_path / "inputs"
    folder.mkdir()
    for f in SAMPLE_DATA.iterdir():
        if f.suffix != ".py":
            (folder / f.name).write_bytes(f.read_bytes())
    csv = folder / "instagram_oct_2026.csv"
    csv.write_bytes(csv.read_bytes().replace(b"2.4M,2400000", b"2.5M,2500000"))
    return folder


@pytest.fixture
def published(run_flow, tmp_path: Path) -> Path:
    out = tmp_path / "out"
    run_flow([SAMPLE_DATA], out)
    return out


@pytest.mark.slow
def test_sigkill_before_commit_leaves_previous_output_and_next_run_completes(
    published: Path, tmp_path: Path
) -> None:
    out = published
    before_versions, before = _versions(out), _contents(out)
    inputs = _changed_inputs(tmp_path)
    env = with_fault(_env(), "before-commit:120")
    proc = _start(["enrich", str(inputs), "--out", str(out)], env)
    _wait_for(proc, "fault point before-commit")
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert _versions(out) == before_versions
    after = _contents(out)
    for t in TABLES:
        assert after[t].equals(before[t]), t
    assert any((out / "_staging").iterdir())  # the killed run's leftovers

    res = _run(["enrich", str(inputs), "--out", str(out)])
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
    assert not (out / "_staging").exists() or not any((out / "_staging").iterdir())
    snaps = pl.read_delta(str(out / "creator_snapshots"))
    assert snaps.select("platform", "handle_norm", "snapshot_date").is_duplicated().sum() == 0
    luna = snaps.filter(pl.col("handle_norm") == "luna.makes")
    assert luna.get_column("followers").to_list() == [2_500_000]


@pytest.mark.slow
def test_sigkill_between_commits_then_rerun_is_consistent(published: Path, tmp_path: Path) -> None:
    out = published
    before_versions = _versions(out)
    inputs = _changed_inputs(tmp_path)
    env = with_fault(_env(), "between-commits:120")
    proc = _start(["enrich", str(inputs), "--out", str(out)], env)
    _wait_for(proc, "fault point between-commits")
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    # every table is still readable; only the committed one moved
    now = _versions(out)
    assert now["creator_snapshots"] == before_versions["creator_snapshots"] + 1
    assert now["creators"] == before_versions["creators"]
    _contents(out)

    res = _run(["enrich", str(inputs), "--out", str(out)])
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
    snaps = pl.read_delta(str(out / "creator_snapshots"))
    creators = pl.read_delta(str(out / "creators"))
    assert snaps.select("platform", "handle_norm", "snapshot_date").is_duplicated().sum() == 0
    assert creators.height == snaps.get_column("creator_key").n_unique()
    assert creators.filter(pl.col("handle_norm") == "luna.makes").item(0, "followers") == 2_500_000


def _workbook_and_empty_csv(folder: Path) -> Path:
    """A 2-sheet workbook (one bad row on the second sheet) sorted before an empty CSV:
    under the old staging names (sheet n of file i staged as i*64+n, a file rejected whole
    as i) the CSV's rejection and the second sheet's quarantine shared one file name."""
    from openpyxl import Workbook

    folder.mkdir()
    book = Workbook()
    first = book.active
    assert first is not None
    first.title = "part1"
    second = book.create_sheet("part2")
    for sheet, rows in ((first, range(0, 5)), (second, range(5, 10))):
        sheet.append(["handle", "followers"])
        for i in rows:
            sheet.append([f"creator_{i}", -5 if i == 7 else 1000 + i])
    book.save(folder / "a_tiktok_dec_2022.xlsx")
    (folder / "b_tiktok_dec_2022.csv").write_text("")
    return folder


def test_staged_names_are_unique_so_every_row_is_counted(run_flow, tmp_path: Path) -> None:
    manifest = run_flow([_workbook_and_empty_csv(tmp_path / "in")], tmp_path / "out")
    files = {f["source_file"]: f for f in manifest["files"]}
    assert {k: (f["rows_read"], f["enriched"], f["quarantined"]) for k, f in files.items()} == {
        "a_tiktok_dec_2022.xlsx#part1": (5, 5, 0),
        "a_tiktok_dec_2022.xlsx#part2": (5, 4, 1),
        "b_tiktok_dec_2022.csv": (0, 0, 0),
    }
    q = pl.read_delta(str(tmp_path / "out" / "quarantine"))
    assert sorted(q.select("source_file", "source_row", "reason").rows(), key=str) == [
        ("a_tiktok_dec_2022.xlsx#part2", 4, "negative_value"),  # header = row 1
        ("b_tiktok_dec_2022.csv", None, "empty_file"),
    ]


def test_a_staging_name_collision_fails_reconciliation_and_publishes_nothing(
    published: Path, run_flow, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The bookkeeping bug itself (colliding staged names), not a patched check: the
    counts taken from the staged files disagree with what was read, so nothing is
    published."""
    import adapters.ingest as ingest
    import flows.enrich_roster as er

    out = published
    before_versions, before = _versions(out), _contents(out)

    def old_stage_index(file_index: int, sheet: int | None) -> int:
        return file_index if sheet is None else file_index * 64 + sheet

    monkeypatch.setattr(ingest, "stage_index", old_stage_index)
    with pytest.raises(er.ReconciliationError, match="nothing was published") as failure:
        run_flow([_workbook_and_empty_csv(tmp_path / "in")], out)
    # the staged rows themselves show it: one quarantine file was read twice, one lost
    assert "staged twice" in str(failure.value) or "whole-file quarantine rows" in str(
        failure.value
    )
    assert _versions(out) == before_versions
    after = _contents(out)
    for t in TABLES:
        assert after[t].equals(before[t]), t


def _limit_file_size() -> None:  # runs in the child before exec
    import resource

    resource.setrlimit(resource.RLIMIT_FSIZE, (256 * 1024, 256 * 1024))
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes then fail with EFBIG instead


@pytest.mark.slow
def test_full_disk_gives_a_clear_error_and_keeps_previous_output(
    published: Path, tmp_path: Path
) -> None:
    out = published
    before_versions, before = _versions(out), _contents(out)
    inputs = tmp_path / "big"
    inputs.mkdir()
    rows = "".join(f"creator_{i},Creator {i},{1000 + i},{i % 97},{i % 13}\n" for i in range(60_000))
    (inputs / "tiktok_feb_2025.csv").write_text(
        "handle,display name,followers,avg likes,avg comments\n" + rows
    )
    res = _run(["enrich", str(inputs), "--out", str(out)], preexec_fn=_limit_file_size)
    text = res.stdout + res.stderr
    assert res.returncode not in (0, 1), text[-2000:]
    assert "File too large" in text or "No space left" in text, text[-2000:]
    assert _versions(out) == before_versions
    after = _contents(out)
    for t in TABLES:
        assert after[t].equals(before[t]), t


class _Proxy:
    """A TCP forwarder to the test API that can be cut, like a server going away."""

    def __init__(self, target: tuple[str, int]) -> None:
        import socket
        import threading

        self.target = target
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.sockets: list[socket.socket] = []
        self.open = True
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        import socket
        import threading

        while self.open:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            self.sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src: object, dst: object) -> None:
        try:
            while data := src.recv(65536):  # type: ignore[attr-defined]
                dst.sendall(data)  # type: ignore[attr-defined]
        except OSError:
            pass

    def cut(self) -> None:
        import socket

        self.open = False
        self.listener.close()
        for s in self.sockets:
            try:
                s.shutdown(socket.SHUT_RDWR)
                s.close()
            except OSError:
                pass


@pytest.mark.slow
def test_unreachable_prefect_api_gives_a_clear_error(prefect_harness: None, tmp_path: Path) -> None:
    from urllib.parse import urlparse

    from prefect.settings import PREFECT_API_URL

    api = urlparse(str(PREFECT_API_URL.value()))
    proxy = _Proxy((api.hostname or "127.0.0.1", api.port or 80))
    env = with_fault(
        {
            **os.environ,
            "PREFECT_API_URL": f"http://127.0.0.1:{proxy.port}{api.path}",
            "PREFECT_CLIENT_MAX_RETRIES": "1",
        },
        "before-commit:3",
    )
    proc = _start(["enrich", str(SAMPLE_DATA), "--out", str(tmp_path / "out")], env)
    _wait_for(proc, "fault point before-commit")
    proxy.cut()
    output, _ = proc.communicate(timeout=240)
    assert proc.returncode == 4, output[-3000:]
    assert "Prefect API" in output and "unreachable" in output, output[-3000:]


def test_output_under_a_key_value_folder(run_flow, tmp_path: Path) -> None:
    """Delta readers infer hive columns from folder names like env=prod: a second run, which
    reads the published tables back, must still work there."""
    out = tmp_path / "env=prod" / "out"
    run_flow([SAMPLE_DATA], out)
    manifest = run_flow([SAMPLE_DATA], out, full_refresh=True)
    assert all(f["reconciled"] for f in manifest["files"])
    assert DeltaTable(str(out / "creators")).version() == 1


def _fix_file(folder: Path) -> Path:
    """A corrections file for the sample's TikTok month: one creator, other followers."""
    folder.mkdir(exist_ok=True)
    path = folder / "tiktok_oct_2026_fix.csv"
    path.write_text("handle,followers\ndancewithmia,16000000\n")
    return path


def _consistent(out: Path) -> None:
    """creators and superseded rows follow the merged snapshots; no publish pending."""
    snaps = pl.read_delta(str(out / "creator_snapshots"))
    creators = pl.read_delta(str(out / "creators"))
    assert snaps.select("platform", "handle_norm", "snapshot_date").is_duplicated().sum() == 0
    assert creators.height == snaps.get_column("creator_key").n_unique()
    assert not (out / ".publish_pending.json").exists()


def test_a_publish_that_fails_part_way_says_where_each_table_is_and_the_next_run_heals(
    published: Path, run_flow, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno

    from adapters.store.delta import DeltaTableStore

    out = published
    before = _versions(out)
    real = DeltaTableStore.overwrite

    def disk_full(self: DeltaTableStore, name: str, *args: object, **kw: object) -> int:
        if name == "quarantine":  # the third commit: deliveries and snapshots are in
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(self, name, *args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(DeltaTableStore, "overwrite", disk_full)
    landing = tmp_path / "fix"
    _fix_file(landing)
    with pytest.raises(Exception, match="publishing stopped part-way") as failure:
        run_flow([landing], out)
    text = str(failure.value)
    now = _versions(out)
    assert now["creator_snapshots"] == before["creator_snapshots"] + 1
    assert now["quarantine"] == before["quarantine"] and now["creators"] == before["creators"]
    assert f"creator_snapshots v{now['creator_snapshots']} (this run)" in text
    assert f"quarantine v{now['quarantine']} (unchanged)" in text
    assert f"creators v{now['creators']} (unchanged)" in text
    assert "the disk is full" in text and "heals them" in text and "2026-10-01" in text
    from flows.cli import explain_failure

    said = explain_failure(failure.value)  # the line `roster enrich` prints
    assert "disk is full" in said and "tables now" in said and "heals them" in said, said
    assert (out / ".publish_pending.json").exists()

    # the next run heals, even without the file that was being published
    monkeypatch.setattr(DeltaTableStore, "overwrite", real)
    other = tmp_path / "other"
    other.mkdir()
    (other / "x_nov_2026.csv").write_text("handle,followers\nsomeone,1200\n")
    run_flow([other], out)
    _consistent(out)
    creators = pl.read_delta(str(out / "creators"))
    mia = creators.filter(pl.col("handle_norm") == "dancewithmia").row(0, named=True)
    assert (mia["followers"], mia["source_file"]) == (16_000_000, "tiktok_oct_2026_fix.csv")
    q = pl.read_delta(str(out / "quarantine")).filter(pl.col("reason") == "superseded")
    assert q.select("source_file", "raw_value").rows() == [("tiktok_oct_2026.xlsx", "dancewithmia")]


class _State:
    def __init__(self, err: BaseException) -> None:
        self.err = err

    def result(self) -> None:
        raise self.err


@pytest.mark.parametrize(
    ("err", "retried"),
    [
        (OSError(28, "No space left on device"), False),  # ENOSPC
        (OSError(27, "File too large"), False),  # EFBIG
        (OSError(5, "Input/output error"), True),  # EIO may pass
        (TimeoutError("slow share"), True),
        (PermissionError(13, "Permission denied"), False),
        (ValueError("bad data"), False),
    ],
)
def test_only_errors_that_may_pass_are_retried(err: BaseException, retried: bool) -> None:
    from flows.enrich_roster import _transient

    assert _transient(None, None, _State(err)) is retried
