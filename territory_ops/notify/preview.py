"""A Markdown preview of a digest, roughly as Slack shows it (run metadata, docs, review)."""

from __future__ import annotations

import re

from territory_ops.notify.model import Digest

_SLACK_LINK = re.compile(r"<(https?://[^|>]+)\|([^>]+)>")
_SLACK_BOLD = re.compile(r"(?<![\w*])\*([^*\n]+)\*(?![\w*])")


def _mrkdwn_to_markdown(text: str) -> str:
    text = _SLACK_LINK.sub(r"[\2](\1)", text)
    return _SLACK_BOLD.sub(r"**\1**", text)


def digest_markdown(digest: Digest) -> str:
    """The digest as Markdown, roughly as Slack shows it (Dagster metadata, docs, review)."""
    out = [f"**To:** {digest.recipient.name} (`{digest.recipient.key}`)", ""]
    for block in digest.blocks:
        kind = block["type"]
        if kind == "header":
            out += [f"### {block['text']['text']}", ""]
        elif kind == "section":
            out += [_mrkdwn_to_markdown(block["text"]["text"]).replace("\n", "  \n"), ""]
        elif kind == "context":
            texts = [_mrkdwn_to_markdown(e["text"]) for e in block["elements"]]
            out += ["<sub>" + " ".join(texts) + "</sub>", ""]
        elif kind == "divider":
            out += ["---", ""]
        elif kind == "actions":
            # buttons show their text, a date picker its placeholder
            labels = [
                f"`[ {(e.get('text') or e.get('placeholder') or {}).get('text', '')} ]`"
                for e in block["elements"]
            ]
            out += [" ".join(labels), ""]
    return "\n".join(out).rstrip() + "\n"
