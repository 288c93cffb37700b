"""Source mappings: turn a foreign CRM export folder into the landing snapshot shape.

A mapping (YAML, format in docs/mappings.md) names the export's files and says, for each
extract of the landing contract (``territory_ops.extracts.spec``), how its columns are made:
renamed, typed, value-mapped, scaled, parsed from a date format, defaulted or derived (the
owner from the most recent engagement, a value looked up in another file, a band from
employees or revenue, a roster from a teams file), which rows to keep (``where``), how rows
without ids get one, and which address columns to geocode offline. ``translate`` writes ordinary
snapshot folders, so ingest, the quality gate, dbt, scoring and the pass run unchanged.

Everything is checked before anything is written (``check_mapping``): an unknown key, an
unknown column, an impossible type, a missing required field, a value map that leaves values
unmapped or a file that does not decode is a ``MappingError`` naming the mapping file, its
line and the column; the report's notes and warnings say what was assumed and counted.

The package, by concern: ``schema`` (the keys a mapping may hold), ``load`` (the file and its
structure), ``rules`` (one column rule), ``encoding`` (decoding an export file), ``source``
(reading the export), ``values`` (a rule applied to a value), ``check`` (the mapping against
an export), ``locate`` (offline geocoding), ``translate`` (writing landing snapshots and where
their rows came from) and ``files`` (atomic, change-only writes).
"""

from territory_ops.extracts.mapping.check import CheckReport, check_mapping
from territory_ops.extracts.mapping.load import load_mapping
from territory_ops.extracts.mapping.model import DEFAULT_MAPPING, SourceMapping
from territory_ops.extracts.mapping.problems import MappingError, MappingProblem
from territory_ops.extracts.mapping.translate import (
    TranslateResult,
    mapped_landing,
    source_lines,
    translate,
)

__all__ = [
    "DEFAULT_MAPPING",
    "CheckReport",
    "MappingError",
    "MappingProblem",
    "SourceMapping",
    "TranslateResult",
    "check_mapping",
    "load_mapping",
    "mapped_landing",
    "source_lines",
    "translate",
]
