"""The nightly deployment: schedule, one run at a time, parameters validated before a run
starts (built here, by the API when a run is created, by the flow engine when it starts),
prefect.yaml consistent with `roster serve`, and `roster serve` really serving runs."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import REPO, SAMPLE_DATA

PREFECT_YAML = REPO / "prefect.yaml"


def test_build_deployment_schedule_limit_and_parameters(tmp_path: Path) -> None:
    from prefect.client.schemas.objects import ConcurrencyLimitStrategy
    from prefect.client.schemas.schedules import CronSchedule

    from flows.enrich_roster import EnrichParams, enrich_roster
    from flows.serve import build_deployment

    dep = build_deployment(
        SAMPLE_DATA, tmp_path / "out", timezone="Europe/Madrid", keep_contacts=True
    )
    assert dep.name == "enrich-roster-nightly"
    assert dep.flow_name == "enrich-roster"
    [sched] = dep.schedules
    assert isinstance(sched.schedule, CronSchedule)
    assert (sched.schedule.cron, sched.schedule.timezone) == ("0 2 * * *", "Europe/Madrid")
    assert sched.active
    assert dep.concurrency_limit == 1
    assert dep.concurrency_options is not None
    assert dep.concurrency_options.collision_strategy == ConcurrencyLimitStrategy.ENQUEUE
    assert dep.enforce_parameter_schema
    assert dep.work_pool_name is None  # served, not for a work pool

    # the bound parameters are JSON (what the API stores) and become an EnrichParams again,
    # exactly as the flow engine validates them when a run starts
    params = enrich_roster.validate_parameters(dep.parameters)["params"]
    assert isinstance(params, EnrichParams)
    assert params.inputs == [str(SAMPLE_DATA.resolve())]
    assert params.out == str((tmp_path / "out").resolve())
    assert params.keep_contacts and not params.full_refresh
    assert params.wait_lock == 900  # the unattended run waits for an ad-hoc one

    # the entrypoint imports the very flow
    from prefect.flows import load_flow_from_entrypoint

    assert dep.entrypoint == "flows.enrich_roster.enrich_roster"
    assert load_flow_from_entrypoint(dep.entrypoint) is enrich_roster


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"landing": "does/not/exist"}, "input not found"),
        ({"platform": "myspace"}, "platform"),
        ({"wait_lock": -1}, "wait_lock"),
        ({"task_runner": "dask"}, "thread runner"),  # see flows/serve.py
        ({"fullrefresh": True}, "fullrefresh"),  # misspelt option: extra="forbid"
        ({"timezone": "Mars/Olympus"}, "Invalid timezone"),
        ({"cron": "0 25 * * *"}, "Invalid cron"),
    ],
)
def test_build_deployment_rejects_bad_parameters(
    kwargs: dict[str, Any], message: str, tmp_path: Path
) -> None:
    from flows.serve import build_deployment

    args: dict[str, Any] = {"landing": SAMPLE_DATA, "out": tmp_path / "out", **kwargs}
    with pytest.raises(ValueError, match=message):  # pydantic's ValidationError is one
        build_deployment(**args)


def _bad_run_params(dep: Any, **change: Any) -> dict[str, Any]:
    return {"params": {**dep.parameters["params"], **change}}


def test_api_and_engine_reject_bad_parameters_before_a_run_starts(
    prefect_harness: None, tmp_path: Path
) -> None:
    from prefect import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterDeploymentId
    from prefect.exceptions import PrefectHTTPStatusError
    from prefect.flow_engine import run_flow

    from flows.enrich_roster import enrich_roster
    from flows.serve import build_deployment

    out = tmp_path / "out"
    dep = build_deployment(SAMPLE_DATA, out, name=_unique("reject"))
    dep_id = dep.apply()

    async def runs_of_deployment() -> list[Any]:
        async with get_client() as client:
            return await client.read_flow_runs(
                flow_run_filter=FlowRunFilter(
                    deployment_id=FlowRunFilterDeploymentId(any_=[dep_id])
                )
            )

    async def create(parameters: dict[str, Any]) -> Any:
        async with get_client() as client:
            return await client.create_flow_run_from_deployment(dep_id, parameters=parameters)

    before = len(asyncio.run(runs_of_deployment()))
    # 1. the API checks the parameters against the JSON schema Prefect derived from
    #    EnrichParams: an unknown platform or a misspelt option creates no run at all
    for bad in (
        _bad_run_params(dep, platform="myspace"),
        _bad_run_params(dep, fullrefresh=True),
        {"params": {"out": str(out)}},  # a partial override replaces the whole object
    ):
        with pytest.raises(PrefectHTTPStatusError) as exc:
            asyncio.run(create(bad))
        assert exc.value.response.status_code == 409, exc.value.response.text
        assert "Validation failed" in exc.value.response.text
    assert len(asyncio.run(runs_of_deployment())) == before

    # 2. what a JSON schema cannot say (the landing folder exists) is checked by pydantic
    #    when the run starts, in the flow engine, before the flow body or any task runs
    missing = str(tmp_path / "no-such-landing")
    flow_run = asyncio.run(create(_bad_run_params(dep, inputs=[missing])))
    state = run_flow(
        enrich_roster, flow_run=flow_run, parameters=flow_run.parameters, return_type="state"
    )
    assert state.is_failed()
    assert "Validation of flow parameters failed" in (state.message or "")

    async def task_runs_of(flow_run_id: Any) -> list[Any]:
        from prefect.client.schemas.filters import FlowRunFilterId

        async with get_client() as client:
            return await client.read_task_runs(
                flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id]))
            )

    assert asyncio.run(task_runs_of(flow_run.id)) == []
    assert not out.exists()  # not even the lock file: the flow body never ran


def test_second_run_waits_for_the_first(prefect_harness: None, tmp_path: Path) -> None:
    """The deployment concurrency limit, as the API enforces it: while one run holds the
    slot, a second run is not started; it is re-scheduled (ENQUEUE), not cancelled."""
    from prefect import get_client
    from prefect.states import Completed, Pending, Running

    from flows.serve import build_deployment

    dep_id = build_deployment(SAMPLE_DATA, tmp_path / "out", name=_unique("collide")).apply()

    async def scenario() -> tuple[Any, Any, Any]:
        async with get_client() as client:
            first = await client.create_flow_run_from_deployment(dep_id)
            second = await client.create_flow_run_from_deployment(dep_id)
            r1 = await client.set_flow_run_state(first.id, Pending())
            await client.set_flow_run_state(first.id, Running())
            r2 = await client.set_flow_run_state(second.id, Pending())
            # the first run ends: the slot is free, the queued run may start
            await client.set_flow_run_state(first.id, Completed())
            r3 = await client.set_flow_run_state(second.id, Pending())
            await client.set_flow_run_state(second.id, Completed())  # free the slot again
            return r1, r2, r3

    r1, r2, r3 = asyncio.run(scenario())
    assert r1.status.value == "ACCEPT"
    assert r2.status.value == "REJECT"
    assert r2.state is not None
    assert r2.state.is_scheduled() and r2.state.name == "AwaitingConcurrencySlot"
    assert r3.status.value == "ACCEPT"


def _unique(prefix: str) -> str:
    """Deployments live in the session's API: one name per test, so that their concurrency
    slots are their own."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _yaml_deployment() -> dict[str, Any]:
    doc = yaml.safe_load(PREFECT_YAML.read_text())
    [dep] = [d for d in doc["deployments"] if d["name"] == "enrich-roster-nightly"]
    return dep


def test_prefect_yaml_matches_roster_serve(tmp_path: Path) -> None:
    from prefect.cli.deploy._models import PrefectYamlModel
    from prefect.flows import load_flow_from_entrypoint

    from flows.enrich_roster import EnrichParams
    from flows.serve import COLLISION_STRATEGY, DEFAULT_CRON, DEFAULT_WAIT_LOCK, build_deployment

    doc = yaml.safe_load(PREFECT_YAML.read_text())
    PrefectYamlModel.model_validate(doc)  # the model `prefect deploy` loads the file with
    dep = _yaml_deployment()
    served = build_deployment(SAMPLE_DATA, tmp_path / "out")

    flow = load_flow_from_entrypoint(str(REPO / dep["entrypoint"]))
    assert flow.name == served.flow_name == "enrich-roster"
    assert dep["entrypoint"] == "flows/enrich_roster.py:enrich_roster"

    [sched] = dep["schedules"]
    assert sched["cron"] == DEFAULT_CRON
    assert sched["timezone"]
    from prefect.client.schemas.schedules import CronSchedule

    CronSchedule(cron=sched["cron"], timezone=sched["timezone"])  # valid cron and zone

    assert dep["concurrency_limit"] == {
        "limit": served.concurrency_limit,
        "collision_strategy": COLLISION_STRATEGY.value,
    }
    assert dep["work_pool"]["name"] == "roster-process"
    assert dep.get("enforce_parameter_schema", True)

    # parameters: the same shape as the served deployment's (placeholders for the folders)
    yaml_params = dep["parameters"]["params"]
    assert set(yaml_params) <= set(EnrichParams.model_fields)
    assert yaml_params["wait_lock"] == DEFAULT_WAIT_LOCK
    EnrichParams.model_validate(  # valid once the placeholder folders exist
        {**yaml_params, "inputs": [str(SAMPLE_DATA)]}
    )
    for key in ("out", "inputs"):
        value = yaml_params[key] if key == "out" else yaml_params[key][0]
        assert Path(value).is_absolute(), f"{key}: a worker's working directory is the checkout"

    [pull] = dep.get("pull") or doc["pull"]
    step = pull["prefect.deployments.steps.set_working_directory"]
    assert Path(step["directory"]).is_absolute()


@pytest.mark.slow
def test_prefect_deploy_registers_what_roster_serve_registers(
    prefect_harness: None, tmp_path: Path
) -> None:
    """`prefect deploy` (Prefect's own loader) accepts prefect.yaml, and the deployment it
    registers matches the one `roster serve` registers, field by field on the server."""
    from prefect import get_client
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.exceptions import ObjectAlreadyExists

    from flows.serve import THREADS_ENV, build_deployment

    sched = _yaml_deployment()["schedules"][0]
    served_id = build_deployment(
        SAMPLE_DATA, tmp_path / "out", timezone=sched["timezone"], name=_unique("served")
    ).apply()

    async def create_pool() -> None:
        async with get_client() as client:
            with contextlib.suppress(ObjectAlreadyExists):
                await client.create_work_pool(WorkPoolCreate(name="roster-process", type="process"))

    asyncio.run(create_pool())
    res = subprocess.run(
        [sys.executable, "-m", "prefect", "--no-prompt", "deploy",
         "--prefect-file", str(PREFECT_YAML), "--name", "enrich-roster-nightly"],
        capture_output=True, text=True, env=_api_env(), cwd=REPO, timeout=120,
    )  # fmt: skip
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]

    async def read() -> tuple[Any, Any]:
        async with get_client() as client:
            return (
                await client.read_deployment_by_name("enrich-roster/enrich-roster-nightly"),
                await client.read_deployment(served_id),
            )

    deployed, served = asyncio.run(read())
    for d in (deployed, served):
        assert d.global_concurrency_limit is not None
    assert deployed.global_concurrency_limit.limit == served.global_concurrency_limit.limit == 1
    assert deployed.concurrency_options == served.concurrency_options
    assert [s.schedule for s in deployed.schedules] == [s.schedule for s in served.schedules]
    assert deployed.parameter_openapi_schema == served.parameter_openapi_schema
    assert deployed.enforce_parameter_schema and served.enforce_parameter_schema
    assert set(deployed.parameters["params"]) <= set(served.parameters["params"])
    assert deployed.parameters["params"]["wait_lock"] == served.parameters["params"]["wait_lock"]
    assert deployed.work_pool_name == "roster-process" and served.work_pool_name is None
    assert deployed.pull_steps == [
        {"prefect.deployments.steps.set_working_directory": {"directory": ANY_ABSOLUTE}}
    ]
    # a worker's runs get the thread bound `roster serve` gives its runs
    threads = deployed.job_variables["env"][THREADS_ENV]
    assert int(threads) == served.parameters["params"]["max_workers"]


class _AbsolutePath:
    def __eq__(self, other: object) -> bool:
        return isinstance(other, str) and Path(other).is_absolute()


ANY_ABSOLUTE = _AbsolutePath()


def _api_env() -> dict[str, str]:
    from prefect.settings import PREFECT_API_URL

    env = dict(os.environ)
    env["PREFECT_API_URL"] = str(PREFECT_API_URL.value())
    env["PREFECT_RUNNER_POLL_FREQUENCY"] = "1"
    return env


@pytest.mark.slow
def test_roster_serve_runs_a_triggered_run(prefect_harness: None, tmp_path: Path) -> None:
    """`roster serve` registers the deployment and runs its flow runs: an ad-hoc run
    (what the schedule triggers at 02:00) enriches the landing folder into --out."""
    from prefect import get_client
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterTags

    landing = tmp_path / "landing"
    landing.mkdir()
    for name in ("instagram_oct_2026.csv", "x_oct_2026.tsv"):
        (landing / name).write_bytes((SAMPLE_DATA / name).read_bytes())
    out = tmp_path / "out"
    name = _unique("served")
    log = (tmp_path / "serve.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "flows.cli", "serve", "--landing", str(landing),
         "--out", str(out), "--timezone", "Europe/Madrid", "--max-workers", "1",
         "--name", name],
        stdout=log, stderr=subprocess.STDOUT, env=_api_env(), cwd=tmp_path,
    )  # fmt: skip

    async def served_deployment() -> Any:
        async with get_client() as client:
            deps = await client.read_deployments(
                deployment_filter=DeploymentFilter(tags=DeploymentFilterTags(all_=["nightly"]))
            )
            for d in deps:
                if d.parameters.get("params", {}).get("out") == str(out.resolve()):
                    return d
            return None

    async def trigger_and_wait(dep_id: Any, deadline: float) -> Any:
        async with get_client() as client:
            run = await client.create_flow_run_from_deployment(dep_id)
            while time.monotonic() < deadline:
                run = await client.read_flow_run(run.id)
                if run.state and run.state.is_final():
                    return run
                await asyncio.sleep(0.5)
            return run

    try:
        deadline = time.monotonic() + 60
        dep = None
        while dep is None and time.monotonic() < deadline:
            assert proc.poll() is None, (tmp_path / "serve.log").read_text()[-3000:]
            dep = asyncio.run(served_deployment())
            if dep is None:
                time.sleep(0.5)
        assert dep is not None, (tmp_path / "serve.log").read_text()[-3000:]
        assert dep.name == name
        assert dep.global_concurrency_limit is not None
        assert dep.global_concurrency_limit.limit == 1
        assert dep.concurrency_options.collision_strategy.value == "ENQUEUE"
        [sched] = dep.schedules
        assert (sched.schedule.cron, sched.schedule.timezone) == ("0 2 * * *", "Europe/Madrid")

        run = asyncio.run(trigger_and_wait(dep.id, time.monotonic() + 90))
        assert run.state.is_completed(), (run.state, (tmp_path / "serve.log").read_text()[-3000:])
        served = (tmp_path / "serve.log").read_text()
        assert f"enrich-roster/{name}: next run due " in served  # 02:00 Madrid, CET or CEST
        assert " 02:00 CE" in served
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()

    import polars as pl

    snaps = pl.read_delta(str(out / "creator_snapshots"))
    assert sorted(snaps.get_column("source_file").unique()) == sorted(
        ["instagram_oct_2026.csv", "x_oct_2026.tsv"]
    )
    assert not (out / ".roster.lock").read_text()  # released


@pytest.mark.parametrize(
    ("cron", "timezone", "after", "due"),
    [
        ("0 2 * * *", "UTC", "2026-12-01T20:30:00+00:00", "2026-12-02T02:00:00+00:00"),
        # 02:00 in Madrid is 01:00 UTC in winter
        ("0 2 * * *", "Europe/Madrid", "2026-12-01T20:30:00+00:00", "2026-12-02T01:00:00+00:00"),
        ("30 6 * * 1", "UTC", "2026-12-01T20:30:00+00:00", "2026-12-07T06:30:00+00:00"),
    ],
)
def test_serve_says_when_the_next_run_is_due(
    cron: str, timezone: str, after: str, due: str
) -> None:
    import datetime as dt

    from flows.serve import due_in_words, next_run_at

    start = dt.datetime.fromisoformat(after)
    when = next_run_at(cron, timezone, after=start)
    assert when == dt.datetime.fromisoformat(due)
    assert str(when.tzinfo) == timezone
    words = due_in_words(when, now=start)
    assert words.startswith(f"{when:%Y-%m-%d %H:%M}") and "(in " in words
