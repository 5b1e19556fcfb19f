"""The typer options of a command, generated from the declaration of the run's options
(``schemas.options``): flag, metavar, help, default, and the type the command line reads
(paths as paths, dates as text for ``flows.usage`` to check)."""

from __future__ import annotations

import datetime as dt
import functools
import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from flows.terminal import FLAG
from schemas.options import Option, command_options

Command = Callable[..., None]


def cli_type(opt: Option) -> Any:
    """The type typer parses the option as."""
    kind: Any = opt.kind
    if opt.path is not None:
        kind = Path
    elif kind is dt.date:
        kind = str  # its form is checked by flows.usage, with the message it gives
    if opt.many:
        kind = list[kind]
    return kind | None if opt.default is None else kind


def parameter(opt: Option) -> inspect.Parameter:
    """The option as a keyword parameter of a typer command."""
    if opt.argument:
        info: Any = typer.Argument(metavar=opt.metavar, help=opt.cli_help)
    else:
        metavar = FLAG if opt.is_flag else opt.metavar
        info = typer.Option(opt.flag, metavar=metavar, help=opt.cli_help)
    default = inspect.Parameter.empty if opt.required else opt.default
    return inspect.Parameter(
        opt.name,
        inspect.Parameter.KEYWORD_ONLY,
        default=default,
        annotation=Annotated[cli_type(opt), info],
    )


def with_options(command: str) -> Callable[[Command], Command]:
    """A command taking the declared options of ``command`` (in its help order) ahead of its
    own parameters: the function gets them as its first argument, a dict by name."""
    options = command_options(command)

    def decorate(func: Command) -> Command:
        own = list(inspect.signature(func, eval_str=True).parameters.values())[1:]

        @functools.wraps(func)
        def run(**given: Any) -> None:
            values = {o.name: given.pop(o.name) for o in options}
            func(values, **given)

        params = [parameter(o) for o in options]
        params += [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in own]
        run.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
        return run

    return decorate
