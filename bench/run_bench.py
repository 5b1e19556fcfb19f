#!/usr/bin/env python3
"""Benchmark harness: the roster pipeline against the shared bare-library anchors.

    python bench/run_bench.py                          # --sizes 1m,10m --runs 3
    python bench/run_bench.py --sizes 100k --runs 1    # CI smoke run

For every size it generates an export with the shared generator (skipped when the
files already exist under $BENCH_DATA), then runs whole-process commands round-robin
(floor, bare polars, DuckDB, pandas, the project pipeline), measuring wall time, CPU
time and peak RSS of each child, and writes a markdown report (bench/RESULTS.md).

Standard library only. See bench/README.md for what each number means.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform as pyplatform
import re
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
IMPLS = ["floor", "polars", "duckdb", "pandas", "pipeline"]
LABELS = {
    "floor": "floor (CSV -> parquet, no transform)",
    "polars": "bare polars (semijoin)",
    "duckdb": "DuckDB (window, no order)",
    "pandas": "pandas (numpy, transform)",
    "pipeline": "**roster pipeline**",
}
GIB = 1024**3
MIB = 1024**2
PAGE = os.sysconf("SC_PAGE_SIZE")
TIMING_RE = re.compile(r"timing:\s*(\{.*\})\s*$")
ARROW_NOTE = (
    "non-zero exit after writing complete output: tolerated "
    "(pyarrow abort at interpreter exit, apache/arrow#34314)"
)

# Targets for the pipeline (wall times exclude Prefect start-up when the pipeline reports it).
TARGET_VS_FLOOR = 2.5  # pipeline wall <= 2.5x floor
TARGET_VS_PANDAS = 2.5  # pipeline >= 2.5x faster than pandas
TARGET_VS_DUCKDB = 1.3  # pipeline >= 1.3x faster than DuckDB
TARGET_PEAK = 4 * GIB  # peak memory <= 4 GiB
TARGET_VALIDATE_SHARE = 0.25

PIPELINE_CHECK = r"""
import json, sys
from pathlib import Path
import polars as pl
out, truth = Path(sys.argv[1]), json.loads(Path(sys.argv[2]).read_text())
t = out / "creators"
try:
    df = pl.read_delta(str(t), columns=["platform", "handle_norm"])
    how = "delta"
except Exception as e:
    df = pl.scan_parquet(f"{t}/**/*.parquet", hive_partitioning=False).select(
        "platform", "handle_norm").collect()
    how = f"parquet files (read_delta failed: {type(e).__name__})"
rows, keys = df.height, df.select(pl.struct("platform", "handle_norm").n_unique()).item()
want = truth["unique_valid_keys"]
print(f"creators read as {how}: rows {rows:,}, unique keys {keys:,}; "
      f"truth unique valid keys {want:,}")
sys.exit(0 if rows == keys == want else 1)
"""

PREFECT_PROBE = r"""
import json, sys, time
t0 = time.perf_counter()
from prefect import flow, task
t1 = time.perf_counter()

@task
def noop(i):
    return i

@flow
def probe(n):
    t = time.perf_counter()
    for i in range(n):
        noop(i)
    return time.perf_counter() - t   # time spent in the task calls, inside the flow

flows = []
for n in map(int, sys.argv[1:]):   # one flow run per argument; the first starts the ephemeral API
    t = time.perf_counter()
    loop = probe(n)
    flows.append({"tasks": n, "s": time.perf_counter() - t, "loop_s": loop})
print("prefect_probe: " + json.dumps({"import_s": t1 - t0, "flows": flows}), flush=True)
"""


# --------------------------------------------------------------------------- helpers


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def parse_size(s: str) -> int:
    m = re.fullmatch(r"(\d+(?:\.\d+)?)([kmg]?)", s.strip().lower())
    if not m:
        raise argparse.ArgumentTypeError(f"bad size {s!r} (use e.g. 100k, 1m, 10m, 250000)")
    mult = {"": 1, "k": 1_000, "m": 1_000_000, "g": 1_000_000_000}[m.group(2)]
    return int(float(m.group(1)) * mult)


def describe_rc(rc) -> str:
    if rc is None:
        return "not started"
    if rc < 0:
        try:
            return f"killed by {signal.Signals(-rc).name}"
        except ValueError:
            return f"killed by signal {-rc}"
    return f"exit {rc}"


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def fmt(x, spec=".2f", none="-"):
    return none if x is None else format(x, spec)


def tail(path: Path, lines: int = 25, max_chars: int = 4000) -> str:
    try:
        data = path.read_bytes()[-64 * 1024 :].decode("utf-8", "replace")
    except OSError:
        return ""
    return "\n".join(data.splitlines()[-lines:])[-max_chars:]


def remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    elif path.exists() or path.is_symlink():
        path.unlink(missing_ok=True)


def parquet_files_complete(path: Path) -> tuple[int, int]:
    """(number of parquet files, number whose footer magic is present) under path."""
    files = [path] if path.is_file() else (sorted(path.rglob("*.parquet")) if path.is_dir() else [])
    good = 0
    for f in files:
        try:
            with open(f, "rb") as fh:
                fh.seek(-4, os.SEEK_END)
                if fh.read(4) == b"PAR1":
                    good += 1
        except OSError:
            pass
    return len(files), good


def du(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    if path.is_dir():
        return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
    return 0


# --------------------------------------------------------------------------- measurement


def session_members(sid: int) -> list[tuple[int, str, int]]:
    """(pid, state, rss bytes) of every process whose session id is sid."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat", "rb") as fh:
                s = fh.read().decode("ascii", "replace")
        except OSError:
            continue
        f = s[s.rfind(")") + 2 :].split()
        # fields after comm: state ppid pgrp session ... (rss is field 24 of the whole line)
        if len(f) > 21 and int(f[3]) == sid:
            out.append((int(d), f[0], int(f[21]) * PAGE))
    return out


def live_members(sid: int) -> list[int]:
    return [pid for pid, state, _ in session_members(sid) if state not in ("Z", "X")]


class TreeSampler(threading.Thread):
    """Samples the summed RSS of every process in the child's session (its process tree,
    e.g. a Prefect server subprocess or dask workers). ru_maxrss only gives the largest
    single process; this gives the tree's footprint (shared pages counted per process)."""

    def __init__(self, sid: int, interval: float):
        super().__init__(daemon=True)
        self.sid, self.interval = sid, interval
        self.peak = 0
        self.max_procs = 0
        self._halt = threading.Event()

    def run(self):
        while not self._halt.is_set():
            try:
                m = session_members(self.sid)
                self.peak = max(self.peak, sum(r for _, _, r in m))
                self.max_procs = max(self.max_procs, len(m))
            except Exception:  # never let sampling break a run
                pass
            self._halt.wait(self.interval)

    def stop(self):
        self._halt.set()
        self.join(timeout=5)


@dataclass
class Run:
    impl: str
    size: str
    round: int
    cmd: list[str]
    ok: bool = False
    rc: int | None = None
    wall: float | None = None
    cpu: float | None = None
    user: float | None = None
    sys: float | None = None
    maxrss: int | None = None  # bytes, ru_maxrss of the child (largest process of its tree)
    tree_peak: int | None = None  # bytes, sampled sum of RSS over the child's session
    tree_procs: int | None = None
    out_bytes: int | None = None
    timing: dict | None = None
    probe: dict | None = None
    notes: list[str] = field(default_factory=list)
    stderr_tail: str = ""
    stdout_path: str = ""
    stderr_path: str = ""


def measure(
    cmd, *, cwd, env, log_dir: Path, tag: str, timeout: float, sample: float | None
) -> dict:
    """Run cmd as its own session; wall from perf_counter, user/sys/maxrss from os.wait4."""
    log_dir.mkdir(parents=True, exist_ok=True)
    out_p, err_p = log_dir / f"{tag}.stdout", log_dir / f"{tag}.stderr"
    res: dict = {"stdout_path": str(out_p), "stderr_path": str(err_p), "notes": []}
    with open(out_p, "wb") as fo, open(err_p, "wb") as fe:
        t0 = time.perf_counter()
        try:
            p = subprocess.Popen(
                cmd,
                cwd=cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=fo,
                stderr=fe,
                start_new_session=True,
            )
        except OSError as e:
            res.update(rc=None, error=f"could not start: {e}")
            fe.write(f"harness: could not start {cmd!r}: {e}\n".encode())
            return res
        sampler = TreeSampler(p.pid, sample) if sample else None
        if sampler:
            sampler.start()
        timed_out = threading.Event()

        def on_timeout():
            timed_out.set()
            with contextlib.suppress(ProcessLookupError):
                os.killpg(p.pid, signal.SIGKILL)

        timer = threading.Timer(timeout, on_timeout)
        timer.start()
        while True:
            try:
                _, status, ru = os.wait4(p.pid, 0)
                break
            except InterruptedError:
                continue
        wall = time.perf_counter() - t0
        timer.cancel()
        if sampler:
            sampler.stop()
        p.returncode = os.waitstatus_to_exitcode(status)  # keep Popen from reaping again
    # Leftover processes of the child's session (e.g. a server it failed to stop): end them.
    left = live_members(p.pid)
    if left:
        res["notes"].append(
            f"child left {len(left)} process(es) running after exit; harness ended them"
        )
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(p.pid, signal.SIGTERM)
            for _ in range(50):
                if not live_members(p.pid):
                    break
                time.sleep(0.1)
            else:
                os.killpg(p.pid, signal.SIGKILL)
    rc = p.returncode
    if timed_out.is_set():
        res["notes"].append(f"timed out after {timeout:.0f}s (killed)")
    res.update(
        rc=rc,
        wall=wall,
        user=ru.ru_utime,
        sys=ru.ru_stime,
        cpu=ru.ru_utime + ru.ru_stime,
        maxrss=ru.ru_maxrss * 1024,
        timed_out=timed_out.is_set(),
    )
    if sampler:
        res["tree_peak"] = max(sampler.peak, ru.ru_maxrss * 1024)
        res["tree_procs"] = sampler.max_procs
    return res


def find_timing(*paths: Path) -> dict | None:
    """Last `timing: {json}` line on either stream (lines starting with it preferred)."""
    found, loose = None, None
    for path in paths:
        try:
            text = path.read_text("utf-8", "replace")
        except OSError:
            continue
        for line in text.splitlines():
            s = line.strip()
            m = TIMING_RE.search(s)
            if not m:
                continue
            try:
                d = json.loads(m.group(1))
            except json.JSONDecodeError:
                continue
            if not isinstance(d, dict):
                continue
            d = {
                k: float(v)
                for k, v in d.items()
                if isinstance(v, (int, float)) and not isinstance(v, bool)
            }
            if s.startswith("timing:"):
                found = d
            else:
                loose = d
    return found if found is not None else loose


# --------------------------------------------------------------------------- machine


def machine_info(py: str) -> dict:
    info = {
        "nproc": os.cpu_count(),
        "affinity": len(os.sched_getaffinity(0)),
        "kernel": f"{pyplatform.system()} {pyplatform.release()} {pyplatform.machine()}",
    }
    with contextlib.suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith(("MemTotal:", "MemAvailable:")):
                k, v = line.split(":")
                info[k] = int(v.split()[0]) * 1024
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
    with contextlib.suppress(OSError):
        info["loadavg"] = Path("/proc/loadavg").read_text().split()[:3]
    code = (
        "import sys, json, importlib.metadata as m\n"
        "v = {'python': sys.version.split()[0]}\n"
        "for p in ['polars','pandas','pyarrow','duckdb','numpy','prefect','pandera','deltalake']:\n"
        "    try: v[p] = m.version(p)\n"
        "    except Exception: v[p] = 'not installed'\n"
        "print(json.dumps(v))"
    )
    try:
        r = subprocess.run([py, "-c", code], capture_output=True, text=True, timeout=120)
        info["versions"] = json.loads(r.stdout.strip().splitlines()[-1])
    except Exception as e:
        info["versions"] = {"error": str(e)}
    try:
        r = subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=30,
        )
        info["commit"] = r.stdout.strip() if r.returncode == 0 else "no commit"
        r = subprocess.run(
            ["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=30,
        )
        if r.returncode == 0 and r.stdout.strip():
            info["commit"] += " (+ uncommitted changes)"
    except Exception:
        info["commit"] = "unknown"
    return info


# --------------------------------------------------------------------------- the harness


class Bench:
    def __init__(self, a):
        self.a = a
        self.shared = Path(a.shared).resolve()
        self.py = a.python
        self.data = Path(a.data).resolve()
        self.out_root = Path(a.out_root).resolve()
        self.session = self.out_root / time.strftime("%Y%m%d-%H%M%S")
        self.logs = self.session / "logs"
        self.commands: list[str] = []
        self.pipeline_env: dict[str, str] = {}
        self.pipeline_cmd_prefix, self.pipeline_note = self.pipeline_prefix()

    # -- environment ----------------------------------------------------------
    def env(self, extra=None):
        e = dict(os.environ)
        e["BENCH_DATA"] = str(self.data)
        e["BENCH_OUT"] = str(self.session / "bench-out")
        e.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
        # no outbound telemetry attempts from an ephemeral server (no network here anyway)
        e.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
        if extra:
            e.update(extra)
        return e

    def pipeline_prefix(self):
        roster = REPO / ".venv" / "bin" / "roster"
        if self.a.pipeline_cmd:
            return shlex.split(self.a.pipeline_cmd), "from --pipeline-cmd"
        if roster.exists():
            return [str(roster), "enrich"], None
        self.pipeline_env = {
            "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
        }
        return [self.py, "-m", "flows.cli", "enrich"], (
            f"{roster} not found (project not installed with `pip install -e .`?): "
            f"fell back to `python -m flows.cli enrich`"
        )

    def script(self, name):
        return str(self.shared / name)

    def command(self, impl, src: Path, out: Path):
        if impl == "floor":
            return [self.py, self.script("floor_polars.py"), str(src), str(out)]
        if impl == "polars":
            return [
                self.py,
                self.script("enrich_polars.py"),
                str(src),
                str(out),
                "--dedupe",
                "semijoin",
            ]
        if impl == "duckdb":
            return [
                self.py,
                self.script("enrich_duckdb.py"),
                str(src),
                str(out),
                "--dedupe",
                "window",
                "--no-order",
            ]
        if impl == "pandas":
            return [
                self.py,
                self.script("enrich_pandas.py"),
                str(src),
                str(out),
                "--backend",
                "numpy",
                "--dedupe",
                "transform",
            ]
        if impl == "pipeline":
            return [
                *self.pipeline_cmd_prefix,
                str(src),
                "--out",
                str(out),
                *shlex.split(self.a.pipeline_extra or ""),
            ]
        raise ValueError(impl)

    def record(self, cmd, cwd=None):
        s = shlex.join(cmd)
        if cwd:
            s = f"(cd {shlex.quote(str(cwd))} && {s})"
        if s not in self.commands:
            self.commands.append(s)

    # -- data -----------------------------------------------------------------
    def generate(self, name: str, rows: int) -> dict:
        csv, truth = self.data / f"{name}.csv", self.data / f"{name}.truth.json"
        cmd = [self.py, self.script("gen_data.py"), "--rows", str(rows), "--name", name]
        self.record(["env", f"BENCH_DATA={self.data}", *cmd])
        info = {"name": name, "rows": rows, "csv": csv, "truth": truth, "generated": False}
        if csv.exists() and truth.exists():
            t = json.loads(truth.read_text())
            if t.get("rows") != rows:
                log(f"!! {truth} says {t.get('rows')} rows, not {rows}: delete it to regenerate")
            info.update(truth_data=t, csv_bytes=csv.stat().st_size)
            log(
                f"data {name}: exists ({csv}, {csv.stat().st_size / MIB:,.0f} MiB), not regenerated"
            )
            return info
        log(f"data {name}: generating {rows:,} rows into {self.data} ...")
        self.data.mkdir(parents=True, exist_ok=True)
        r = measure(
            cmd,
            cwd=self.session,
            env=self.env(),
            log_dir=self.logs,
            tag=f"gen-{name}",
            timeout=self.a.timeout * 4,
            sample=None,
        )
        if r.get("rc") != 0 or not truth.exists():
            info["error"] = tail(Path(r["stderr_path"]))
            log(f"!! generation of {name} failed (rc={r.get('rc')})")
            return info
        info.update(
            generated=True,
            gen_wall=r["wall"],
            truth_data=json.loads(truth.read_text()),
            csv_bytes=csv.stat().st_size,
        )
        log(f"data {name}: generated in {r['wall']:.1f}s")
        return info

    # -- one run ----------------------------------------------------------------
    def run_one(self, impl, size, rnd, src: Path) -> Run:
        out_dir = self.session / "out" / size
        out_dir.mkdir(parents=True, exist_ok=True)
        out = out_dir / (f"{impl}-r{rnd}.parquet" if impl == "floor" else f"{impl}-r{rnd}")
        remove(out)
        cmd = self.command(impl, src, out)
        cwd = self.session  # never the repo: nothing a command writes lands in the work tree
        self.record(
            self.command(
                impl, src, Path(f"OUT/{impl}-rK" + (".parquet" if impl == "floor" else ""))
            ),
            cwd=None,
        )
        run = Run(impl=impl, size=size, round=rnd, cmd=cmd)
        r = measure(
            cmd,
            cwd=cwd,
            env=self.env(self.pipeline_env if impl == "pipeline" else None),
            log_dir=self.logs,
            tag=f"{size}-{impl}-r{rnd}",
            timeout=self.a.timeout,
            sample=self.a.sample_interval or None,
        )
        for k in (
            "rc",
            "wall",
            "cpu",
            "user",
            "sys",
            "maxrss",
            "tree_peak",
            "tree_procs",
            "stdout_path",
            "stderr_path",
        ):
            setattr(run, k, r.get(k))
        run.notes += r.get("notes", [])
        nfiles, ngood = parquet_files_complete(out)
        run.out_bytes = du(out)
        if r.get("rc") == 0 and not r.get("timed_out"):
            run.ok = True
            if nfiles == 0:
                run.notes.append("exit 0 but no parquet output found at OUT")
        elif (
            impl == "pandas"
            and r.get("rc") is not None
            and not r.get("timed_out")
            and nfiles > 0
            and ngood == nfiles
        ):
            run.ok = True
            run.notes.append(f"{describe_rc(r['rc'])}: {ARROW_NOTE}")
        if not run.ok:
            run.stderr_tail = tail(Path(run.stderr_path)) or tail(Path(run.stdout_path))
            if r.get("error"):
                run.stderr_tail = r["error"] + "\n" + run.stderr_tail
        if impl == "pipeline":
            run.timing = find_timing(Path(run.stdout_path), Path(run.stderr_path))
        status = "ok" if run.ok else f"FAILED ({describe_rc(run.rc)})"
        log(
            f"{size} r{rnd} {impl:9s} {status:14s} wall {fmt(run.wall)}s cpu {fmt(run.cpu)}s "
            f"maxrss {fmt((run.maxrss or 0) / MIB, '.0f')} MiB"
            + (f" tree {fmt((run.tree_peak or 0) / MIB, '.0f')} MiB" if run.tree_peak else "")
            + (f"  {'; '.join(run.notes)}" if run.notes else "")
        )
        return run

    # -- prefect fixed cost ------------------------------------------------------
    def prefect_overhead(self) -> dict:
        res: dict = {"runs": []}
        home = Path(tempfile.mkdtemp(prefix="prefect-home-", dir=self.session))
        probe = self.session / "prefect_probe.py"
        probe.write_text(PREFECT_PROBE)
        env = self.env(
            {
                "PREFECT_HOME": str(home),
                "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
                "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            }
        )
        env.pop("PREFECT_API_URL", None)
        env.pop("PREFECT_PROFILE", None)
        n = self.a.prefect_tasks
        steps = [
            ("python startup (`-c pass`)", [self.py, "-c", "pass"]),
            ("import prefect", [self.py, "-c", "import prefect"]),
            ("flow, 1 task, fresh PREFECT_HOME", [self.py, str(probe), "1"]),
            ("flow, 1 task, warm PREFECT_HOME", [self.py, str(probe), "1"]),
            (f"flow, {n} tasks, warm PREFECT_HOME", [self.py, str(probe), str(n)]),
            (f"3 flows in one process: 1, 1, {n} tasks", [self.py, str(probe), "1", "1", str(n)]),
        ]
        self.record(
            [
                "env",
                "-u",
                "PREFECT_API_URL",
                "PREFECT_HOME=<tmp>",
                "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS=120",
                "PREFECT_SERVER_ANALYTICS_ENABLED=false",
                self.py,
                "prefect_probe.py",
                "N...",
            ]
        )
        for i, (label, cmd) in enumerate(steps):
            r = measure(
                cmd,
                cwd=self.session,
                env=env,
                log_dir=self.logs,
                tag=f"prefect-{i}",
                timeout=self.a.timeout,
                sample=self.a.sample_interval or None,
            )
            probe_d = None
            try:
                for line in Path(r["stdout_path"]).read_text("utf-8", "replace").splitlines():
                    if line.startswith("prefect_probe: "):
                        probe_d = json.loads(line.split(": ", 1)[1])
            except (OSError, json.JSONDecodeError):
                pass
            ok = r.get("rc") == 0 and (probe_d is not None or str(probe) not in cmd)
            res["runs"].append(
                {
                    "label": label,
                    "ok": ok,
                    "rc": r.get("rc"),
                    "wall": r.get("wall"),
                    "cpu": r.get("cpu"),
                    "maxrss": r.get("maxrss"),
                    "tree_peak": r.get("tree_peak"),
                    "probe": probe_d,
                    "tail": "" if ok else tail(Path(r["stderr_path"])),
                }
            )
            log(
                f"prefect probe: {label}: {'ok' if ok else 'FAILED: ' + describe_rc(r.get('rc'))} "
                f"wall {fmt(r.get('wall'))}s"
            )
        rr = res["runs"]
        if all(x["ok"] for x in rr):
            base, warm1, warmn = rr[0]["wall"], rr[3]["wall"], rr[4]["wall"]
            res["fixed_cost"] = warm1 - base
            res["per_task_wall"] = (warmn - warm1) / (n - 1)
            f = [x["s"] for x in rr[5]["probe"]["flows"]]
            res["server_start_inproc"] = f[0] - f[1]
            res["flow_run_inproc"] = f[1]
            res["per_task_inproc"] = (f[2] - f[1]) / (n - 1)
            res["per_task_loop"] = rr[5]["probe"]["flows"][2]["loop_s"] / n
        shutil.rmtree(home, ignore_errors=True)
        return res

    # -- main loop ------------------------------------------------------------------
    def run(self):
        a = self.a
        self.session.mkdir(parents=True, exist_ok=True)
        started = dt.datetime.now().astimezone()
        log(f"session dir {self.session}; data {self.data}; shared scripts {self.shared}")
        if self.pipeline_note and "pipeline" in a.impls:
            log(f"note: {self.pipeline_note}")
        info = machine_info(self.py)
        sizes = {}
        for name in a.size_names:
            sizes[name] = self.generate(name, parse_size(name))
        prefect = None
        if not a.no_prefect_overhead and "pipeline" in a.impls:
            log("measuring Prefect fixed cost ...")
            prefect = self.prefect_overhead()
        runs: dict[str, list[Run]] = {}
        verify: dict[str, dict] = {}
        for name, d in sizes.items():
            runs[name] = []
            if "error" in d:
                continue
            for rnd in range(1, a.runs + 1):
                k = (rnd - 1) % len(a.impls)  # rotate the order each round
                order = a.impls[k:] + a.impls[:k]
                for impl in order:
                    run = self.run_one(impl, name, rnd, d["csv"])
                    runs[name].append(run)
                    last = rnd == a.runs
                    if not a.keep_outputs and not (a.verify and last):
                        out = self.session / "out" / name
                        for p in out.glob(f"{impl}-r{rnd}*"):
                            remove(p)
            if a.verify:
                verify[name] = self.verify(name, d, runs[name])
                if not a.keep_outputs:
                    remove(self.session / "out" / name)
        finished = dt.datetime.now().astimezone()
        self.load_end = []
        with contextlib.suppress(OSError):
            self.load_end = Path("/proc/loadavg").read_text().split()[:3]
        report = self.report(info, sizes, runs, prefect, verify, started, finished)
        results = Path(a.results)
        results.parent.mkdir(parents=True, exist_ok=True)
        results.write_text(report)
        log(f"results written to {results}")
        (self.session / "runs.json").write_text(
            json.dumps(
                {n: [r.__dict__ for r in rs] for n, rs in runs.items()}, indent=1, default=str
            )
        )
        log(f"raw runs: {self.session / 'runs.json'}; logs: {self.logs}")
        return runs, sizes

    def verify(self, name, d, runs):
        """verify.py on the anchors' last-round outputs (bare polars as reference), and a
        row-count check of the pipeline's `creators` table against the generator's truth
        (the pipeline writes its own schema, so verify.py does not apply to it)."""
        out = {}
        last = {r.impl: r for r in runs if r.round == self.a.runs and r.ok}
        dirs = [
            str(self.session / "out" / name / f"{i}-r{self.a.runs}")
            for i in ["polars", "duckdb", "pandas"]
            if i in last
        ]
        if dirs:
            cmd = [self.py, self.script("verify.py"), str(d["truth"]), *dirs]
            self.record(cmd)
            r = measure(
                cmd,
                cwd=self.session,
                env=self.env(),
                log_dir=self.logs,
                tag=f"verify-{name}",
                timeout=self.a.timeout,
                sample=None,
            )
            text = tail(Path(r["stdout_path"]), lines=200, max_chars=20000)
            if r.get("rc") != 0:
                text += "\n" + tail(Path(r["stderr_path"]))
            out["anchors"] = {"ok": r.get("rc") == 0, "text": text}
            log(f"verify {name}: {'ALL EQUIVALENT' if r.get('rc') == 0 else 'MISMATCH/FAILED'}")
        if "pipeline" in last:
            pdir = self.session / "out" / name / f"pipeline-r{self.a.runs}"
            cmd = [self.py, "-c", PIPELINE_CHECK, str(pdir), str(d["truth"])]
            r = measure(
                cmd,
                cwd=self.session,
                env=self.env(),
                log_dir=self.logs,
                tag=f"check-pipeline-{name}",
                timeout=self.a.timeout,
                sample=None,
            )
            text = tail(Path(r["stdout_path"]), lines=50)
            if r.get("rc") != 0:
                text += "\n" + tail(Path(r["stderr_path"]))
            out["pipeline"] = {"ok": r.get("rc") == 0, "text": text}
            log(f"pipeline row check {name}: {'ok' if r.get('rc') == 0 else 'MISMATCH/FAILED'}")
        return out

    # -- report -------------------------------------------------------------------------
    def report(self, info, sizes, runs, prefect, verify, started, finished) -> str:
        a = self.a
        L: list[str] = []
        w = L.append
        w("# Roster enrichment benchmark results\n")
        took = (finished - started).total_seconds() / 60
        w(f"- date: {started:%Y-%m-%d %H:%M %Z} (took {took:.1f} min)")
        mem, avail = info.get("MemTotal", 0) / GIB, info.get("MemAvailable", 0) / GIB
        w(
            f"- machine: {info.get('nproc')} CPUs (affinity {info.get('affinity')}), "
            f"{mem:.1f} GiB RAM ({avail:.1f} GiB available at start), "
            f"CPU `{info.get('cpu', '?')}`, {info.get('kernel')}, load avg at start "
            f"{' '.join(info.get('loadavg', []))}, at end {' '.join(self.load_end)} "
            "(a load above the benchmark's own means something else shared the machine)"
        )
        v = info.get("versions", {})
        w("- versions: " + ", ".join(f"{k} {val}" for k, val in v.items()))
        w(f"- repo commit: {info.get('commit')}")
        w(f"- runs: {a.runs} round(s), round-robin (order rotated each round); medians reported")
        w(f"- data: `{self.data}`; outputs and logs: `{self.session}`")
        if self.pipeline_note and "pipeline" in a.impls:
            w(f"- pipeline: {self.pipeline_note}")
        w("")
        w(
            "Columns: **wall** = elapsed seconds of the whole process; **CPU** = user+sys "
            "seconds of the child (and the children it reaped), from `os.wait4`; **peak** = "
            "`ru_maxrss` of the child from `os.wait4` (the largest single process of its tree); "
            "**tree peak** = sampled sum of RSS of every process in the child's session "
            "(catches a Prefect server or worker subprocess; sampled every "
            f"{a.sample_interval}s, so short spikes can be missed).\n"
        )

        for name, d in sizes.items():
            rows = d["rows"]
            w(f"## {name} ({rows:,} rows)\n")
            if "error" in d:
                w("Data generation **failed**:\n\n```\n" + d["error"] + "\n```\n")
                continue
            t = d.get("truth_data", {})
            w(
                f"Source `{d['csv']}` ({d.get('csv_bytes', 0) / MIB:,.0f} MiB; valid rows "
                f"{t.get('valid_rows', 0):,}, unique valid keys {t.get('unique_valid_keys', 0):,})"
                + (
                    f"; generated in {d['gen_wall']:.1f}s"
                    if d.get("generated")
                    else "; already existed"
                )
                + "\n"
            )
            rs = runs.get(name, [])
            w(
                "| implementation | ok runs | median wall s | median CPU s | CPU/wall "
                "| median peak MiB | median tree peak MiB | walls s |"
            )
            w("|---|---|---|---|---|---|---|---|")
            med = {}
            for impl in a.impls:
                ir = [r for r in rs if r.impl == impl]
                ok = [r for r in ir if r.ok]
                m = {
                    "wall": median([r.wall for r in ok]),
                    "cpu": median([r.cpu for r in ok]),
                    "maxrss": median([r.maxrss for r in ok]),
                    "tree": median([r.tree_peak for r in ok]),
                    "n": len(ok),
                }
                if impl == "pipeline":
                    m["timings"] = [r.timing for r in ok if r.timing]
                    m["wall_total"] = [(r.wall, r.timing) for r in ok if r.timing]
                    ex = [
                        r.wall - r.timing["prefect_startup"]
                        if r.timing and "prefect_startup" in r.timing
                        else None
                        for r in ok
                    ]
                    m["wall_ex"] = median(ex)
                med[impl] = m
                cw = f"{m['cpu'] / m['wall']:.2f}" if m["wall"] and m["cpu"] is not None else "-"
                walls = ", ".join(fmt(r.wall) + ("" if r.ok else "✗") for r in ir)
                w(
                    f"| {LABELS[impl]} | {len(ok)}/{len(ir)} | {fmt(m['wall'])} | "
                    f"{fmt(m['cpu'])} | {cw} | "
                    f"{fmt(m['maxrss'] / MIB if m['maxrss'] else None, ',.0f')} | "
                    f"{fmt(m['tree'] / MIB if m['tree'] else None, ',.0f')} | {walls} |"
                )
            w("")
            notes = sorted({f"{r.impl}: {n}" for r in rs for n in r.notes})
            if notes:
                w("Notes:\n")
                for n in notes:
                    w(f"- {n}")
                w("")
            if "pipeline" in a.impls:
                self.report_pipeline(w, med)
            fails = [r for r in rs if not r.ok]
            if fails:
                w("### Failed runs\n")
                for r in fails:
                    w(
                        f"**{r.impl} round {r.round}** — {describe_rc(r.rc)}; "
                        f"`{shlex.join(r.cmd)}`; logs `{r.stderr_path}`\n"
                    )
                    w("```\n" + (r.stderr_tail or "(no output)") + "\n```\n")
            vv = verify.get(name, {})
            if "anchors" in vv:
                w("### Anchor output equivalence (`verify.py`, bare polars as reference)\n")
                res = "**ALL EQUIVALENT**" if vv["anchors"]["ok"] else "**MISMATCH or error**"
                w(f"Result: {res}\n")
                w("```\n" + vv["anchors"]["text"] + "\n```\n")
            if "pipeline" in vv:
                w("### Pipeline output check (rows of `creators` vs the generator's truth)\n")
                w(
                    "The pipeline writes its own schema and rate card, so `verify.py` does not "
                    "apply. This checks that `creators` holds one row per unique valid "
                    "(platform, handle_norm) key.\n"
                )
                res = "**OK**" if vv["pipeline"]["ok"] else "**MISMATCH or error**"
                w(f"Result: {res}\n")
                w("```\n" + vv["pipeline"]["text"] + "\n```\n")

        if prefect is not None:
            self.report_prefect(w, prefect)
        w("## Commands\n")
        w(
            "Per run `OUT` is a fresh directory under the session dir; `rK` is the round number. "
            f"Environment for every command: `BENCH_DATA={self.data}`, "
            "`PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS=120` and "
            "`PREFECT_SERVER_ANALYTICS_ENABLED=false` unless already set.\n"
        )
        w("```")
        w(shlex.join([sys.executable, *sys.argv]))
        for c in self.commands:
            w(c)
        w("```\n")
        return "\n".join(L) + "\n"

    def report_pipeline(self, w, med):
        p = med["pipeline"]
        if not p["n"]:
            w("### Pipeline vs anchors\n")
            w("No successful pipeline run: targets **not evaluated (FAIL)**.\n")
            return
        has_ex = p["wall_ex"] is not None
        pw = p["wall_ex"] if has_ex else p["wall"]
        w("### Pipeline vs anchors\n")
        w(
            f"Pipeline median wall {fmt(p['wall'])}s; excluding Prefect start-up "
            + (
                f"{fmt(p['wall_ex'])}s (median over runs of wall - `prefect_startup`)."
                if has_ex
                else "not available (no `timing:` line with `prefect_startup`): "
                "the full wall is used below."
            )
            + "\n"
        )
        gaps = [r_wall - t["total"] for r_wall, t in p["wall_total"] if "total" in t]
        if gaps:
            w(
                f"Wall minus the pipeline's own `total`: {fmt(median(gaps))}s (time outside its "
                "clock: interpreter start-up and imports before it starts, shutdown after the "
                "`timing:` line).\n"
            )
        w("| ratio | incl. Prefect start-up | excl. Prefect start-up |")
        w("|---|---|---|")

        def ratio(num, den):
            return num / den if num and den else None

        for impl, label in [
            ("floor", "pipeline / floor"),
            ("polars", "pipeline / bare polars"),
            ("duckdb", "pipeline / DuckDB"),
            ("pandas", "pipeline / pandas"),
        ]:
            if impl in med and med[impl]["wall"]:
                o = med[impl]["wall"]
                ex = fmt(ratio(pw, o)) if has_ex else "-"
                w(f"| {label} | {fmt(ratio(p['wall'], o))} | {ex} |")
        w("")
        w("Targets (pipeline wall excluding Prefect start-up):\n")

        def verdict(ok):
            return "—" if ok is None else ("**PASS**" if ok else "**FAIL**")

        fl = med.get("floor", {}).get("wall")
        pd_ = med.get("pandas", {}).get("wall")
        dk = med.get("duckdb", {}).get("wall")
        r = ratio(pw, fl)
        w(
            f"- {verdict(None if r is None else r <= TARGET_VS_FLOOR)} "
            f"pipeline <= {TARGET_VS_FLOOR}x floor: "
            + (f"{r:.2f}x" if r is not None else "floor not measured")
        )
        s = ratio(pd_, pw)
        w(
            f"- {verdict(None if s is None else s >= TARGET_VS_PANDAS)} "
            f">= {TARGET_VS_PANDAS}x faster than "
            f"pandas: " + (f"{s:.2f}x" if s is not None else "pandas not measured")
        )
        s = ratio(dk, pw)
        w(
            f"- {verdict(None if s is None else s >= TARGET_VS_DUCKDB)} "
            f">= {TARGET_VS_DUCKDB}x faster than "
            f"DuckDB: " + (f"{s:.2f}x" if s is not None else "DuckDB not measured")
        )
        peak = max(x for x in [p["maxrss"], p["tree"]] if x is not None) if p["maxrss"] else None
        w(
            f"- {verdict(None if peak is None else peak <= TARGET_PEAK)} peak memory <= 4 GiB: "
            + (
                f"{peak / GIB:.2f} GiB (max of ru_maxrss "
                f"{fmt(p['maxrss'] / MIB, ',.0f')} MiB and tree peak "
                f"{fmt(p['tree'] / MIB if p['tree'] else None, ',.0f')} MiB)"
                if peak
                else "not measured"
            )
        )
        tims = p["timings"]
        if not tims:
            w(f"- {verdict(None)} validate share of total <= 25%: no `timing:` line\n")
            return
        # validate = every stage named validate* (e.g. "validate", "validate_enriched")
        vkeys = sorted({k for t in tims for k in t if k.startswith("validate")})
        shares, shares_ex = [], []
        for t in tims:
            if t.get("total") and vkeys:
                v = sum(t.get(k, 0.0) for k in vkeys)
                shares.append(v / t["total"])
                rest = t["total"] - t.get("prefect_startup", 0.0)
                if "prefect_startup" in t and rest > 0:
                    shares_ex.append(v / rest)
        sh, sh_ex = median(shares), median(shares_ex)
        w(
            f"- {verdict(None if sh is None else sh <= TARGET_VALIDATE_SHARE)} "
            "validate share of total <= 25%: "
            + (
                f"{sh * 100:.1f}% (stages {', '.join(f'`{k}`' for k in vkeys)}"
                + (f"; {sh_ex * 100:.1f}% of total excluding Prefect start-up" if sh_ex else "")
                + ")"
                if sh is not None
                else "no `validate*` or `total` stage in the timing line"
            )
            + "\n"
        )
        keys: list[str] = []
        for t in tims:  # keep the pipeline's own order
            keys += [k for k in t if k not in keys]
        tot = median([t.get("total") for t in tims])
        w(f"Stage breakdown (`timing:` line, {len(tims)} run(s); medians):\n")
        w("| stage | median s | share of total |")
        w("|---|---|---|")
        for k in keys:
            m = median([t.get(k) for t in tims])
            share = f"{m / tot * 100:.1f}%" if m is not None and tot and k != "total" else "-"
            w(f"| {k} | {fmt(m, '.3f')} | {share} |")
        w("")

    def report_prefect(self, w, pf):
        w("## Prefect fixed cost (once per session)\n")
        w(
            "Whole-process runs of a tiny flow with the venv python, ephemeral API "
            "(`PREFECT_API_URL` unset, temp `PREFECT_HOME`, "
            "`PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS=120`), trivial tasks called "
            "directly in the flow. The first flow run of a process starts the ephemeral API "
            "server; later ones reuse it.\n"
        )
        w(
            "| what | ok | wall s | CPU s | peak MiB | tree peak MiB "
            "| in-process: import s; flow runs s |"
        )
        w("|---|---|---|---|---|---|---|")
        for r in pf["runs"]:
            pr = r["probe"]
            ip = (
                f"{pr['import_s']:.2f}; "
                + ", ".join(
                    f"{x['s']:.2f} ({x['tasks']} task{'s' if x['tasks'] > 1 else ''})"
                    for x in pr["flows"]
                )
                if pr
                else "-"
            )
            w(
                f"| {r['label']} | {'yes' if r['ok'] else 'NO: ' + describe_rc(r['rc'])} | "
                f"{fmt(r['wall'])} | "
                f"{fmt(r['cpu'])} | {fmt(r['maxrss'] / MIB if r['maxrss'] else None, ',.0f')} | "
                f"{fmt(r['tree_peak'] / MIB if r.get('tree_peak') else None, ',.0f')} | {ip} |"
            )
        w("")
        if "fixed_cost" in pf:
            n = self.a.prefect_tasks
            w(
                "- fixed cost of Prefect (whole process running a 1-task flow, warm home, "
                f"minus bare python start-up): **{pf['fixed_cost']:.2f}s** wall"
            )
            w(
                f"- of which ephemeral API server start (1st minus 2nd flow run in one process): "
                f"{pf['server_start_inproc']:.2f}s; one more 1-task flow run with the server up: "
                f"{pf['flow_run_inproc']:.2f}s"
            )
            w(
                f"- per-task overhead: **{pf['per_task_loop'] * 1000:.1f} ms** per task call "
                f"inside a running flow (the {n}-task loop / {n}, server up). Coarser estimates: "
                f"{pf['per_task_wall'] * 1000:.1f} ms from whole-process walls "
                f"(({n}-task wall - 1-task wall) / {n - 1}), "
                f"{pf['per_task_inproc'] * 1000:.1f} ms from flow-run durations in one process "
                f"(({n}-task flow - 1-task flow) / {n - 1}). A flow run with the server up costs "
                "about the same whatever its task count, so these two mostly measure noise."
            )
        else:
            w("Some probe runs failed:\n")
            for r in pf["runs"]:
                if not r["ok"]:
                    w(f"**{r['label']}** ({describe_rc(r['rc'])}):\n\n```\n{r['tail']}\n```\n")
        w("")


def main(argv=None):
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--sizes", default="1m,10m", help="comma-separated sizes, e.g. 100k,1m,10m (default 1m,10m)"
    )
    ap.add_argument("--runs", type=int, default=3, help="round-robin rounds per size (default 3)")
    ap.add_argument("--only", default=None, help=f"comma-separated subset of {','.join(IMPLS)}")
    ap.add_argument("--skip-pandas", action="store_true", help="do not run the pandas anchor")
    ap.add_argument(
        "--shared",
        default=str((REPO / ".." / "shared" / "bench").resolve()),
        help="folder of the shared reference scripts (default ../shared/bench from the repo)",
    )
    ap.add_argument(
        "--python",
        default=None,
        help="python that runs the reference scripts (default <repo>/.venv/bin/python)",
    )
    ap.add_argument(
        "--data",
        default=os.environ.get("BENCH_DATA", "/tmp/roster-bench-data"),
        help="generated exports ($BENCH_DATA, default /tmp/roster-bench-data)",
    )
    ap.add_argument(
        "--out-root",
        default=os.environ.get("BENCH_OUT_ROOT", "/tmp/roster-bench-out"),
        help="outputs and logs, one session dir per invocation (default /tmp/roster-bench-out)",
    )
    ap.add_argument(
        "--results",
        default=str(REPO / "bench" / "RESULTS.md"),
        help="markdown results file (default bench/RESULTS.md)",
    )
    ap.add_argument(
        "--timeout", type=float, default=3600, help="seconds per command before it is killed"
    )
    ap.add_argument(
        "--pipeline-extra",
        default="",
        help="extra arguments for `roster enrich`; pass with '=', "
        "e.g. --pipeline-extra='--platform tiktok'",
    )
    ap.add_argument(
        "--pipeline-cmd",
        default=None,
        help="override the pipeline command prefix (default <repo>/.venv/bin/roster enrich)",
    )
    ap.add_argument(
        "--no-prefect-overhead",
        action="store_true",
        help="skip the Prefect fixed-cost probe (skipped anyway without the pipeline row)",
    )
    ap.add_argument(
        "--prefect-tasks", type=int, default=100, help="tasks in the per-task overhead probe"
    )
    ap.add_argument(
        "--verify",
        action="store_true",
        help="run shared verify.py on the anchors' last-round outputs (bare polars as "
        "reference) and check the pipeline's creators table against the truth",
    )
    ap.add_argument(
        "--keep-outputs", action="store_true", help="keep every run's output (default: delete)"
    )
    ap.add_argument(
        "--sample-interval",
        type=float,
        default=0.1,
        help="seconds between process-tree RSS samples (0 disables)",
    )
    a = ap.parse_args(argv)

    a.size_names = [s.strip().lower() for s in a.sizes.split(",") if s.strip()]
    for s in a.size_names:
        try:
            parse_size(s)
        except argparse.ArgumentTypeError as e:
            ap.error(str(e))
    impls = IMPLS if not a.only else [s.strip() for s in a.only.split(",") if s.strip()]
    bad = [i for i in impls if i not in IMPLS]
    if bad:
        ap.error(f"unknown implementation(s) {bad}; choose from {IMPLS}")
    if a.skip_pandas:
        impls = [i for i in impls if i != "pandas"]
    a.impls = [i for i in IMPLS if i in impls]
    if not a.impls or a.runs < 1:
        ap.error("nothing to run")
    venv_py = REPO / ".venv" / "bin" / "python"
    a.python = a.python or (str(venv_py) if venv_py.exists() else sys.executable)
    if not (Path(a.shared) / "gen_data.py").exists():
        ap.error(f"shared reference scripts not found in {a.shared} (use --shared)")
    if a.prefect_tasks < 2:
        ap.error("--prefect-tasks must be >= 2")
    runs, sizes = Bench(a).run()
    failed = [r for rs in runs.values() for r in rs if not r.ok]
    failed_gen = [n for n, d in sizes.items() if "error" in d]
    if failed or failed_gen:
        log(f"{len(failed)} failed run(s), {len(failed_gen)} failed generation(s): exit 1")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
