"""The run's parameters as a typed pydantic model (``EnrichParams``), validated before the
run starts: by the CLI, the Prefect UI or a deployment (its JSON schema is the flow's
parameter schema, which registered deployments use: tests/golden/enrich_params_schema.json).

Its fields are generated from the declaration of the run's options
(``schemas.options.RunParams``: types, defaults, descriptions, ranges, choices); what a
declaration cannot say, that the inputs exist and that the mapping file loads, is checked by
the validators below."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model, field_validator

from schemas.options import RUN_PARAMS, Option, RunParams

DOC = "Parameters of one run; validated before the run starts (CLI, UI or deployment)."


class _Checked(BaseModel):
    """The checks of ``EnrichParams`` that need the file system."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("mapping", check_fields=False)
    @classmethod
    def _mapping_loads(cls, v: str | None) -> str | None:
        if v is not None:
            from adapters.config import load_mapping

            load_mapping(Path(v))  # a bad mapping file is a usage error, before any work
        return v

    @field_validator("inputs", check_fields=False)
    @classmethod
    def _exist(cls, v: list[str]) -> list[str]:
        missing = [p for p in v if not Path(p).exists()]
        if missing:
            raise ValueError(f"input not found: {', '.join(missing)}")
        return v


def field_of(opt: Option) -> tuple[Any, Any]:
    """One declared option as a pydantic field: its type (a ``Literal`` of its choices) and
    its ``Field`` (default, description, range, length)."""
    kind = opt.type
    if opt.choices is not None and opt.choices_in_schema:
        literal: Any = Literal  # of choices known at run time
        choice = literal[opt.choices]
        kind = choice | None if opt.default is None else choice
    constraints: dict[str, Any] = {
        "description": opt.description,
        "ge": opt.ge,
        "le": opt.le,
        "min_length": opt.min_items,
    }
    default = ... if opt.required else opt.default
    return kind, Field(default, **{k: v for k, v in constraints.items() if v is not None})


if TYPE_CHECKING:

    class EnrichParams(RunParams, BaseModel):
        """Parameters of one run (the fields: ``schemas.options.RunParams``)."""

        def __init__(self, **data: Any) -> None: ...

else:
    EnrichParams = create_model(
        "EnrichParams",
        __base__=_Checked,
        __doc__=DOC,
        __module__=__name__,
        **{name: field_of(opt) for name, opt in RUN_PARAMS.items()},
    )
