"""What every ``roster`` command shares on the terminal: the consoles, the exit statuses
and the one-line exits (usage error, output locked)."""

from __future__ import annotations

import sys
import time
from typing import NoReturn

STARTED = time.perf_counter()  # the command's start, for the run's "total" timing

from rich.console import Console  # noqa: E402

from flows.usage import UsageProblem  # noqa: E402

EXIT_OK, EXIT_QUARANTINED, EXIT_USAGE, EXIT_LOCKED, EXIT_FAILED = 0, 1, 2, 3, 4
EXIT_INTERRUPTED = 130
FLAG = ""  # no type placeholder after an on/off flag in the help

console = Console(stderr=False, width=120)
err_console = Console(stderr=True)


def usage_exit(problem: UsageProblem | str) -> NoReturn:
    """The one line of a usage error, exit status 2."""
    print(f"usage error: {problem}", file=sys.stderr)
    sys.exit(EXIT_USAGE)


def locked_exit(message: str) -> NoReturn:
    print(f"output locked: {message}", file=sys.stderr)  # one line, never wrapped
    sys.exit(EXIT_LOCKED)
