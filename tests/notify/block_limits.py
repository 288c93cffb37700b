"""Slack's Block Kit limits, checked on a rendered digest (header 150, section 3,000,
context 2,000, button 75 characters; 50 blocks; unique block ids; values ≤ 2,000)."""

from __future__ import annotations

from collections.abc import Iterator


def all_texts(blocks: list[dict]) -> Iterator[tuple[str, str]]:
    """(block kind, text) of every text a message shows, buttons as ``button``."""
    for block in blocks:
        if "text" in block:
            yield block["type"], block["text"]["text"]
        for element in block.get("elements", []):
            if isinstance(element.get("text"), str):
                yield block["type"], element["text"]
            elif isinstance(element.get("text"), dict):
                yield "button", element["text"]["text"]


def check_limits(digest, *, text_limit: int | None = None) -> None:
    """``text_limit``: the plain-text fallback's length limit, where the digest keeps one."""
    assert digest.text.strip(), "every message needs a plain text fallback"
    if text_limit is not None:
        assert len(digest.text) <= text_limit
    assert len(digest.blocks) <= 50
    assert digest.message_chars() < 12_000
    for kind, text in all_texts(digest.blocks):
        limit = {"header": 150, "section": 3000, "context": 2000, "button": 75}[kind]
        assert len(text) <= limit, (kind, len(text))
    ids = [b["block_id"] for b in digest.blocks if "block_id" in b]
    assert len(ids) == len(set(ids)), "block ids must be unique within a message"
    for block in digest.blocks:
        assert block["type"] != "actions" or block["elements"], "an empty actions block"
        for element in block.get("elements", []):
            assert len(element.get("value", "")) <= 2000
