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
    env = {**_env(), "ROSTER_FAULT_PAUSE": "before-commit:120"}
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
    env = {**_env(), "ROSTER_FAULT_PAUSE": "between-commits:120"}
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


def test_counts_that_do_not_reconcile_block_publishing(
    published: Path, run_flow, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import flows.enrich_roster as er

    out = published
    before_versions, before = _versions(out), _contents(out)
    real = er.reconcile

    def broken(*args: object, **kw: object) -> list[dict]:
        rows = real(*args, **kw)  # type: ignore[arg-type]
        rows[0] = {**rows[0], "enriched": rows[0]["enriched"] - 1, "reconciled": False}
        return rows

    monkeypatch.setattr(er, "reconcile", broken)
    with pytest.raises(er.ReconciliationError, match="nothing was published"):
        run_flow([_changed_inputs(tmp_path)], out)
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
    env = {
        **os.environ,
        "PREFECT_API_URL": f"http://127.0.0.1:{proxy.port}{api.path}",
        "ROSTER_FAULT_PAUSE": "before-commit:3",
        "PREFECT_CLIENT_MAX_RETRIES": "1",
    }
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
