"""A parsed mapping: what each output extract is made of, rule by rule."""

from __future__ import annotations

import codecs
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from territory_ops.extracts.spec import ExtractSpec

TYPES: tuple[str, ...] = ("string", "integer", "number", "date", "datetime", "boolean")
DERIVATIONS: tuple[str, ...] = ("latest_engagement", "lookup", "bands")
# derivations that read another source, joined on a key column
JOINS: tuple[str, ...] = ("latest_engagement", "lookup")
# the template placeholder of the row's number in its file (1 = the first data row)
ROW_NUMBER = "_row"
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
    match: str | None = None  # the joined source's key column, when its name differs from key
    template: str | None = None  # "{col}-{other}": text made of the row's columns
    invalid: str = "error"  # error | blank: what an unparseable typed value becomes

    @property
    def joins(self) -> bool:
        return self.derive in JOINS


@dataclass(frozen=True)
class Condition:
    """One `where` condition: the column's value is (``negate``: is not) one of ``values``."""

    column: str
    values: frozenset[str]
    negate: bool
    line: int

    def matches(self, row: dict[str, str]) -> bool:
        return (row.get(self.column, "") in self.values) != self.negate

    def describe(self) -> str:
        listed = ", ".join(sorted(self.values))
        shown = listed if len(self.values) == 1 else f"[{listed}]"
        return f"{self.column}: {'not ' if self.negate else ''}{shown}"


@dataclass
class OutputPart:
    source: str | None  # None: an empty extract (header only)
    line: int
    passthrough: bool = False
    distinct: str | None = None
    where_present: str | None = None
    where: list[Condition] = field(default_factory=list)
    columns: list[ColumnRule] = field(default_factory=list)
    geocode: dict[str, str] = field(default_factory=dict)
    geocode_line: int = 0


@dataclass
class Output:
    spec: ExtractSpec
    line: int
    parts: list[OutputPart]


@dataclass
class Source:
    """One file of the export, how to decode it and which of its rows to read."""

    name: str
    file: str
    line: int
    encoding: str | None = None  # None: UTF-8 when it decodes, else detected (and reported)
    where: list[Condition] = field(default_factory=list)


@dataclass
class SourceMapping:
    path: Path
    name: str
    snapshot_date: date | None
    sources: dict[str, Source]
    outputs: list[Output]

    @property
    def is_identity(self) -> bool:
        """Every extract is a file copied unchanged (the Salesforce-shaped export)."""
        return all(
            p.passthrough and not p.geocode and not p.where and _copied(self.sources.get(p.source))
            for o in self.outputs
            for p in o.parts
        )


def _copied(source: Source | None) -> bool:
    """A passthrough of this source can copy its bytes: UTF-8 (or unstated) and unfiltered."""
    return source is not None and not source.where and is_utf8(source.encoding)


def is_utf8(encoding: str | None) -> bool:
    return encoding is None or codecs.lookup(encoding).name in ("utf-8", "ascii")
