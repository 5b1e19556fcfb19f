"""pandera (polars backend) models, one per stage boundary.

raw export (``RawExport``) -> normalised creator (``NormalisedCreator``) -> enriched roster
(``EnrichedRoster``); rejected rows and files are ``QuarantineRow``.
"""

from schemas.models import EnrichedRoster, NormalisedCreator, QuarantineRow, RawExport
from schemas.validation import ValidationResult, soft_validate

__all__ = [
    "EnrichedRoster",
    "NormalisedCreator",
    "QuarantineRow",
    "RawExport",
    "ValidationResult",
    "soft_validate",
]
