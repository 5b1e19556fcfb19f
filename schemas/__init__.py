"""pandera (polars backend) models, one per stage boundary.

raw export (``RawExport``) -> normalised creator (``NormalisedCreator``) -> enriched roster
(``EnrichedRoster``); rejected rows and files are ``QuarantineRow``.

The models are loaded on first use (PEP 562 ``__getattr__``), so that importing
``schemas.reasons`` alone, as the CLI's up-front checks do, does not start pandera.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from schemas.models import EnrichedRoster, NormalisedCreator, QuarantineRow, RawExport
    from schemas.validation import ValidationResult, soft_validate

_HOME = {
    "EnrichedRoster": "schemas.models",
    "NormalisedCreator": "schemas.models",
    "QuarantineRow": "schemas.models",
    "RawExport": "schemas.models",
    "ValidationResult": "schemas.validation",
    "soft_validate": "schemas.validation",
}

__all__ = [
    "EnrichedRoster",
    "NormalisedCreator",
    "QuarantineRow",
    "RawExport",
    "ValidationResult",
    "soft_validate",
]


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module 'schemas' has no attribute {name!r}")
    return getattr(importlib.import_module(_HOME[name]), name)
