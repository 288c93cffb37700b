"""A parsed mapping: what each output extract is made of, rule by rule."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from territory_ops.extracts.spec import ExtractSpec

TYPES: tuple[str, ...] = ("string", "integer", "number", "date", "datetime", "boolean")
DERIVATIONS: tuple[str, ...] = ("latest_engagement", "bands")
COLUMN_KEYS = frozenset(
    {"column", "value", "default", "type", "format", "scale", "map", "unmapped", "derive"}
    | {"from", "key", "date", "bands", "split", "index", "family"}
)
GEOCODE_TARGETS: dict[str, tuple[str, str, str, str]] = {
    # extract -> (latitude column, longitude column, precision column, flag column)
    "crm_accounts": ("BillingLatitude", "BillingLongitude", "Geo_Precision__c", "Geo_Flag__c"),
    "crm_users": ("Home_Latitude__c", "Home_Longitude__c", "Geo_Precision__c", "Geo_Flag__c"),
    "firmographics_companies": ("latitude", "longitude", "geo_precision", "geo_flag"),
}
GEOCODE_KEYS = ("postal_code", "city", "state", "country", "location")
DEFAULT_MAPPING = Path(__file__).resolve().parents[3] / "mappings" / "salesforce.yaml"


@dataclass
class ColumnRule:
    target: str
    line: int
    column: str | None = None
    value: str | None = None
    default: str | None = None
    type: str = "string"
    format: str | None = None
    scale: float | None = None
    value_map: dict[str, str] | None = None
    unmapped: str = "error"  # error | keep | default
    derive: str | None = None
    derive_from: str | None = None
    key: str | None = None
    date: str | None = None
    bands: list[tuple[float | None, str]] = field(default_factory=list)
    family: str | None = None  # latest_engagement over a whole family (this row's parent column)
    split: str | None = None  # "City, ST" -> take piece ``index`` of the split (stripped)
    index: int = 0


@dataclass
class OutputPart:
    source: str | None  # None: an empty extract (header only)
    line: int
    passthrough: bool = False
    distinct: str | None = None
    where_present: str | None = None
    columns: list[ColumnRule] = field(default_factory=list)
    geocode: dict[str, str] = field(default_factory=dict)
    geocode_line: int = 0


@dataclass
class Output:
    spec: ExtractSpec
    line: int
    parts: list[OutputPart]


@dataclass
class SourceMapping:
    path: Path
    name: str
    snapshot_date: date | None
    sources: dict[str, str]
    source_lines: dict[str, int]
    outputs: list[Output]

    @property
    def is_identity(self) -> bool:
        """Every extract is a file copied unchanged (the Salesforce-shaped export)."""
        return all(p.passthrough and not p.geocode for o in self.outputs for p in o.parts)
