"""The run's options, declared once (schemas/options.py): what registered deployments and
users see of them must not move. The golden files were taken before the options were
generated from the declaration."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO

GOLDEN = REPO / "tests" / "golden"
HELP_PAGES = ("roster", "enrich", "serve", "inspect", "evaluate", "plan", "sql", "report")


def test_parameter_schema_is_the_one_registered_deployments_use() -> None:
    """Byte for byte: the flow's parameter schema (what `prefect deploy` and `roster serve`
    register) and EnrichParams' JSON schema."""
    from prefect.utilities.callables import parameter_schema

    from adapters.params import EnrichParams as FromAdapters
    from flows.enrich_roster import EnrichParams, enrich_roster

    assert EnrichParams is FromAdapters
    doc = {
        "flow_parameter_schema": parameter_schema(enrich_roster).model_dump(mode="json"),
        "EnrichParams.model_json_schema": EnrichParams.model_json_schema(),
    }
    golden = (GOLDEN / "enrich_params_schema.json").read_text()
    assert json.dumps(doc, indent=2) + "\n" == golden
    assert enrich_roster.parameters.model_dump(mode="json") == doc["flow_parameter_schema"]


@pytest.mark.parametrize("page", HELP_PAGES)
def test_help_pages_are_unchanged(page: str) -> None:
    args = [] if page == "roster" else [page]
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    res = subprocess.run(
        [sys.executable, "-m", "flows.cli", *args, "--help"],
        capture_output=True,
        text=True,
        env={**env, "COLUMNS": "200"},  # click caps its help at 80 columns
        timeout=60,
    )
    assert res.returncode == 0, res.stderr
    assert res.stdout == (GOLDEN / "cli_help" / f"{page}.txt").read_text()


def test_prefect_yaml_is_generated_from_the_declaration() -> None:
    """prefect.yaml is `python -m flows.deployment`'s output: regenerate it after changing
    schemas/options.py."""
    from flows.deployment import prefect_yaml

    assert (REPO / "prefect.yaml").read_text() == prefect_yaml()


def test_prefect_yaml_schedules_what_roster_serve_schedules_by_default(tmp_path: Path) -> None:
    import yaml

    from flows.serve import build_deployment
    from tests.conftest import SAMPLE_DATA

    doc = yaml.safe_load((REPO / "prefect.yaml").read_text())
    [dep] = doc["deployments"]
    served = build_deployment(SAMPLE_DATA, tmp_path / "out")  # every default
    [sched] = served.schedules
    assert dep["schedules"] == [
        {"cron": sched.schedule.cron, "timezone": sched.schedule.timezone, "active": True}
    ]
    assert sched.schedule.timezone == "UTC"
    assert dep["name"] == served.name and dep["tags"] == served.tags
    params = served.parameters["params"]
    for key, value in dep["parameters"]["params"].items():
        if key not in ("inputs", "out"):
            assert params[key] == value, key
    threads = dep["work_pool"]["job_variables"]["env"][
        "PREFECT_TASKS_RUNNER_THREAD_POOL_MAX_WORKERS"
    ]
    assert int(threads) == params["max_workers"]


def test_the_commands_take_the_declared_options() -> None:
    """Flag, metavar, default and help of each command's options: the declaration's."""
    import typer.main

    from flows.cli import app
    from schemas.options import COMMANDS, command_options

    group: Any = typer.main.get_command(app)
    for name in COMMANDS:
        params = {p.name: p for p in group.commands[name].params}
        for opt in command_options(name):
            param = params[opt.name]
            assert param.help == opt.cli_help, (name, opt.name)
            if opt.argument:
                assert param.metavar == opt.metavar and param.required
                continue
            assert param.opts == [opt.flag], (name, opt.name)
            assert param.metavar == ("" if opt.is_flag else opt.metavar), (name, opt.name)
            assert param.required == opt.required, (name, opt.name)
            if not opt.required:
                assert param.default == opt.default, (name, opt.name)


def test_enrich_params_are_the_declared_run_parameters() -> None:
    import pickle

    from adapters.params import EnrichParams
    from schemas.options import FILE_LEVEL, RUN_PARAMS, commands_taking
    from tests.conftest import SAMPLE_DATA

    assert list(EnrichParams.model_fields) == list(RUN_PARAMS)
    for name, field in EnrichParams.model_fields.items():
        opt = RUN_PARAMS[name]
        assert field.is_required() == opt.required, name
        assert field.description == opt.description, name
        if not opt.required:
            assert field.default == opt.default, name
    assert FILE_LEVEL == ("platform", "snapshot_date")
    assert commands_taking("snapshot_date") == ("enrich", "inspect", "evaluate")
    assert commands_taking("keep_contacts") == ("enrich", "serve")
    params = EnrichParams(inputs=[str(SAMPLE_DATA)], out="out", platform="x")
    assert pickle.loads(pickle.dumps(params)) == params  # (dask ships it to its workers)


def test_the_declaration_is_standard_library_only() -> None:
    """The CLI reads it before anything heavy: no pydantic, typer, polars or Prefect."""
    code = (
        "import sys, json; import schemas.options; "
        "print(json.dumps(sorted(m.split('.')[0] for m in sys.modules)))"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    loaded = set(json.loads(res.stdout))
    assert not loaded & {"pydantic", "typer", "click", "polars", "prefect", "pandera", "rich"}


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("wait_lock", -1.0, "--wait-lock '-1.0': expected seconds >= 0"),
        ("max_workers", 65, "--max-workers '65': expected 1 to 64"),
        ("max_file_mb", 0, "--max-file-mb '0': expected MiB >= 1"),
        ("platform", "MySpace", "--platform 'MySpace': expected one of instagram, tiktok"),
        ("task_runner", "Dask", "--task-runner 'Dask': expected one of thread, dask"),
        ("snapshot_date", "2026-02-30", "--snapshot-date '2026-02-30': expected a date"),
    ],
)
def test_usage_checks_follow_the_declaration(name: str, value: Any, message: str) -> None:
    from flows.usage import UsageProblem, check_value
    from schemas.options import OPTIONS

    with pytest.raises(UsageProblem) as err:
        check_value(OPTIONS[name], value)
    assert str(err.value).startswith(message)


def test_usage_checks_return_values_as_the_run_takes_them() -> None:
    import datetime as dt

    from flows.usage import check_value
    from schemas.options import OPTIONS

    assert check_value(OPTIONS["platform"], "TikTok") == "tiktok"  # any case
    assert check_value(OPTIONS["snapshot_date"], "2026-02-28") == dt.date(2026, 2, 28)
    assert check_value(OPTIONS["max_workers"], 64) == 64
    assert check_value(OPTIONS["wait_lock"], None) is None


def test_a_bad_mapping_file_is_refused_by_the_run_s_own_parser(tmp_path: Path) -> None:
    """Stage 2 loads --mapping with adapters.config.load_mapping, as the run does."""
    from flows.usage import UsageProblem, mapping_columns

    bad = tmp_path / "bad.toml"
    bad.write_text("[columns\n")
    with pytest.raises(UsageProblem, match=r"is not valid TOML .*expected a TOML file"):
        mapping_columns(bad)
    good = tmp_path / "good.toml"
    good.write_text('[columns]\nfollowers = "Fans (total)"\n')
    assert mapping_columns(good) == {"followers": "Fans (total)"}
