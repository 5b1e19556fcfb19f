"""`make run` installs requirements.lock only (the dev tools are in requirements-dev.lock):
every third-party module the pipeline imports, at the top or inside a function, must come
from a distribution pinned there. (An XLSX reader importing openpyxl, a dev-only pin, made
`make run` quarantine the sample workbook on a fresh machine.)"""

from __future__ import annotations

import ast
import re
import sys
from importlib.metadata import packages_distributions
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
OURS = {"flows", "adapters", "transforms", "schemas"}


def imported_modules() -> set[str]:
    found: set[str] = set()
    for package in OURS:
        for path in (REPO / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Import):
                    found |= {a.name.split(".")[0] for a in node.names}
                elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                    found.add(node.module.split(".")[0])
    return found - OURS - set(sys.stdlib_module_names) - {"__future__"}


def pinned(lock: Path) -> set[str]:
    names = re.findall(r"^([A-Za-z0-9._-]+)==", lock.read_text(), flags=re.M)
    return {n.lower().replace("_", "-") for n in names}


def test_every_runtime_import_is_pinned_in_the_runtime_lock() -> None:
    runtime = pinned(REPO / "requirements.lock")
    dists = packages_distributions()
    missing = {
        module: dists.get(module)
        for module in imported_modules()
        if not any(d.lower().replace("_", "-") in runtime for d in dists.get(module, [module]))
    }
    assert missing == {}, "pin these in requirements.lock (runtime): " + repr(missing)
