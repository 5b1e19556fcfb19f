"""The run's options, declared once (schemas/options.py): what registered deployments and
users see of them must not move. The golden files were taken before the options were
generated from the declaration."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

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
