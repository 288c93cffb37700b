"""YAML that remembers lines: every problem in a mapping can name the line it is on."""

from __future__ import annotations

from typing import Any

import yaml


class LDict(dict):
    """A YAML mapping that remembers its own line and each key's line (1-based)."""

    line: int = 0
    lines: dict[str, int]


class _LineLoader(yaml.SafeLoader):
    pass


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> LDict:
    loader.flatten_mapping(node)
    result = LDict()
    result.line = node.start_mark.line + 1
    result.lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        result[key] = loader.construct_object(value_node, deep=True)
        result.lines[key] = key_node.start_mark.line + 1
    return result


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
# Dates stay text: the mapping's own snapshot_date is parsed where it is used.
_LineLoader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:timestamp"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def line_of(node: Any, key: str | None = None) -> int:
    if isinstance(node, LDict):
        return node.lines.get(key, node.line) if key is not None else node.line
    return 0


def load_yaml(text: str) -> Any:
    """Parse YAML; every mapping in it is an ``LDict`` (raises ``yaml.YAMLError``)."""
    return yaml.load(text, Loader=_LineLoader)  # noqa: S506 - SafeLoader subclass
