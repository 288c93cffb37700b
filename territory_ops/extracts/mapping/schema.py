"""The mapping file's schema: every key it may hold, where, and of what type.

Validated with pydantic before anything else is read, so an unknown key anywhere (a typo, or a
rule the format does not have) is an error naming its line instead of being silently ignored.
The checks that need the export (columns, values) are in ``check``; the ones that relate
several keys of a rule are in ``rules``.
"""

from __future__ import annotations

import codecs
import difflib
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    field_validator,
)

from territory_ops.extracts.mapping.model import DERIVATIONS, TYPES
from territory_ops.extracts.mapping.problems import MappingProblem
from territory_ops.extracts.mapping.yaml_lines import LDict, line_of

Scalar = str | int | float | bool


class _Schema(BaseModel):
    # Numbers are accepted where text is expected: a YAML `value: 2020` is the text "2020".
    model_config = ConfigDict(extra="forbid", coerce_numbers_to_str=True)


def _known_encoding(name: str) -> str:
    try:
        codecs.lookup(name)
    except LookupError:
        raise ValueError(
            f"unknown encoding {name!r} (e.g. utf-8, cp1252, mac_roman, latin-1)"
        ) from None
    return name


Encoding = Annotated[str, AfterValidator(_known_encoding)]


class NotCondition(_Schema):
    not_: Scalar | list[Scalar] = Field(alias="not")


def _condition_kind(value: Any) -> str:
    if isinstance(value, dict):
        return "<not>"
    return "<list>" if isinstance(value, list) else "<equal>"


Condition = Annotated[
    Annotated[Scalar, Tag("<equal>")]
    | Annotated[list[Scalar], Tag("<list>")]
    | Annotated[NotCondition, Tag("<not>")],
    Discriminator(_condition_kind),
]
Where = dict[str, Condition]


class Band(_Schema):
    below: float | None = None
    value: Scalar


class ColumnRuleSchema(_Schema):
    column: str | None = None
    value: Scalar | None = None
    default: Scalar | None = None
    template: str | None = None
    type: str = "string"
    format: str | None = None
    scale: float | None = None
    invalid: Literal["error", "blank"] = "error"
    map: dict[Any, Any] | None = None
    unmapped: Literal["error", "keep", "default"] = "error"
    split: Scalar | None = None
    index: int = 0
    derive: str | None = None
    from_: str | None = Field(None, alias="from")
    key: str | None = None
    match: str | None = None
    date: str | None = None
    family: str | None = None
    bands: list[Band] | None = None

    @field_validator("type")
    @classmethod
    def _type(cls, value: str) -> str:
        if value not in TYPES:
            raise ValueError(f"type '{value}' is not one of {', '.join(TYPES)}")
        return value

    @field_validator("derive")
    @classmethod
    def _derive(cls, value: str | None) -> str | None:
        if value is not None and value not in DERIVATIONS:
            raise ValueError(f"derive '{value}' is not one of {', '.join(DERIVATIONS)}")
        return value


def _text_or_table(value: Any) -> str:
    return "<table>" if isinstance(value, dict) else "<text>"


ColumnEntry = (
    Annotated[
        Annotated[str, Tag("<text>")] | Annotated[ColumnRuleSchema, Tag("<table>")],
        Discriminator(_text_or_table),
    ]
    | None
)


class IdTemplate(_Schema):
    template: str


def _id_kind(value: Any) -> str:
    return "<template>" if isinstance(value, dict) else "<row_number>"


IdRule = Annotated[
    Annotated[Literal["row_number"], Tag("<row_number>")]
    | Annotated[IdTemplate, Tag("<template>")],
    Discriminator(_id_kind),
]


class Geocode(_Schema):
    postal_code: str | None = None
    city: str | None = None
    state: str | None = None
    country: str | None = None
    location: str | None = None


class PartSchema(_Schema):
    from_: str | None = Field(None, alias="from")
    passthrough: bool = False
    where: Where | None = None
    where_present: str | None = None
    distinct: str | None = None
    id: IdRule | None = None
    columns: dict[str, ColumnEntry] | None = None
    geocode: Geocode | None = None


class PartsSchema(_Schema):
    parts: list[PartSchema] = Field(min_length=1)


def _output_kind(value: Any) -> str:
    if isinstance(value, dict):
        return "<parts>" if "parts" in value else "<part>"
    return "<empty>" if isinstance(value, str) else "<part>"


OutputBody = Annotated[
    Annotated[Literal["empty"], Tag("<empty>")]
    | Annotated[PartsSchema, Tag("<parts>")]
    | Annotated[PartSchema, Tag("<part>")],
    Discriminator(_output_kind),
]


class SourceSchema(_Schema):
    file: str
    encoding: Encoding | None = None
    where: Where | None = None


SourceEntry = Annotated[
    Annotated[str, Tag("<text>")] | Annotated[SourceSchema, Tag("<table>")],
    Discriminator(_text_or_table),
]


class MappingSchema(_Schema):
    name: str
    description: str | None = None
    snapshot_date: Scalar | None = None
    encoding: Encoding | None = None  # the default of every source that does not say its own
    sources: dict[str, SourceEntry]
    outputs: dict[str, OutputBody]


_MODELS: tuple[type[BaseModel], ...] = (
    MappingSchema,
    SourceSchema,
    PartSchema,
    PartsSchema,
    ColumnRuleSchema,
    Geocode,
    Band,
    IdTemplate,
    NotCondition,
)
_ALL_KEYS = sorted({f.alias or n for m in _MODELS for n, f in m.model_fields.items()})


def schema_problems(doc: LDict) -> list[MappingProblem]:
    """Every place the document breaks the schema, with its line and column (if any)."""
    try:
        MappingSchema.model_validate(doc)
    except ValidationError as err:
        return [_problem(doc, e) for e in err.errors()]
    return []


def _problem(doc: LDict, error: Any) -> MappingProblem:
    # The discriminated unions put their tags ("<table>", "<part>") in the location: not keys.
    path = [p for p in error["loc"] if not (isinstance(p, str) and p.startswith("<"))]
    line, node = doc.line, doc
    for step in path:
        if isinstance(node, LDict) and step in node:
            line, node = line_of(node, step), node[step]
        elif isinstance(node, list) and isinstance(step, int) and step < len(node):
            node = node[step]
            line = line_of(node) or line
        else:
            break
    column, inner = None, path
    if "columns" in path[:-1]:
        at = path.index("columns") + 1
        column, inner = str(path[at]), path[at + 1 :]
    key = str(path[-1]) if path else ""
    if error["type"] == "extra_forbidden":
        return MappingProblem(line, column, _unknown_key(key, path[:-1]))
    if error["type"] == "missing":
        return MappingProblem(line, column, f"missing required key '{key}'")
    message = str(error["msg"])
    if error["type"] == "value_error":  # our own validators: the message says it all
        return MappingProblem(line, column, message.removeprefix("Value error, "))
    if column is not None and not inner:
        return MappingProblem(line, column, f"expected a column name, ~ or a rule: {message}")
    where = ".".join(str(p) for p in inner)
    return MappingProblem(line, column, f"{where}: {message}" if where else message)


def _unknown_key(key: str, parent: list[Any]) -> str:
    place, model = _place(parent)
    allowed = sorted(f.alias or n for n, f in model.model_fields.items())
    if model is PartSchema:
        allowed.append("parts")
    text = f"unknown key '{key}' {place}"
    if key in _ALL_KEYS:
        return f"{text}: it belongs elsewhere (here: {', '.join(allowed)})"
    close = difflib.get_close_matches(key, allowed, n=1)
    if close:
        return f"{text} (did you mean '{close[0]}'?)"
    return f"{text} (expected one of: {', '.join(allowed)})"


def _place(parent: list[Any]) -> tuple[str, type[BaseModel]]:
    """Where in the mapping a key is, and the schema of that place."""
    if not parent:
        return "at the top of the mapping", MappingSchema
    if parent[0] == "sources":
        return "in a source", SourceSchema
    for name, place, model in (
        ("bands", "in a band", Band),
        ("where", "in a where condition", NotCondition),
        ("geocode", "in geocode", Geocode),
        ("id", "in id", IdTemplate),
        ("columns", "in a column rule", ColumnRuleSchema),
    ):
        if name in parent:
            return place, model
    return "in an output", PartSchema
