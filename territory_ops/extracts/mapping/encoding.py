"""Decoding an export file: the encoding the mapping states, else UTF-8, else a detected one.

Old spreadsheet exports are rarely UTF-8 (Excel on a Mac writes Mac Roman with CR line
endings). A file that does not decode is a problem naming the file, its line and the byte,
with the encoding the bytes look like; an encoding that had to be guessed is reported.
"""

from __future__ import annotations

import codecs
import re
import unicodedata
from dataclasses import dataclass

import charset_normalizer

# Among encodings that decode a file to the same text, the one to name: the common ones.
_PREFERRED = ("utf_8", "cp1252", "mac_roman", "latin_1")
_LINE_BREAK = re.compile(rb"\r\n|\r|\n")
# categories of characters a mis-decoded accent tends to become
_NON_ASCII = re.compile(r"[^\x00-\x7f]")
_SYMBOLS = frozenset({"Sm", "Sk", "So", "Cc", "Co", "Cn"})


class DecodeProblem(Exception):
    """A file that cannot be decoded; the message names the file, its line and the byte."""


@dataclass(frozen=True)
class Decoded:
    text: str
    encoding: str  # the codec's name, e.g. "utf-8", "mac-roman"
    detected: bool  # not stated in the mapping and not UTF-8: guessed from the bytes


def decode(file_name: str, data: bytes, encoding: str | None) -> Decoded:
    """The file's text in the stated encoding, else UTF-8, else the detected one."""
    if encoding is not None:
        try:
            return Decoded(data.decode(_codec(encoding)), codecs.lookup(encoding).name, False)
        except UnicodeDecodeError as err:
            raise DecodeProblem(_explain(file_name, data, err, encoding)) from None
    try:
        return Decoded(data.decode("utf-8-sig"), "utf-8", False)
    except UnicodeDecodeError as err:
        guess = detect(data)
        if guess is None:
            raise DecodeProblem(_explain(file_name, data, err, "utf-8")) from None
        return Decoded(data.decode(guess), codecs.lookup(guess).name, True)


def detect(data: bytes) -> str | None:
    """The encoding the bytes most likely are in (None: they do not look like text).

    The common encodings and the detector's pick compete: the one whose text has the fewest
    implausible characters wins (Mac Roman's é read as cp1252 is "CafŽ"); ties go to the
    common ones, Mac Roman first for a file with CR line endings (Excel on a Mac).
    """
    best = charset_normalizer.from_bytes(data).best()
    candidates = (["mac_roman"] if b"\r" in data and b"\n" not in data else []) + list(_PREFERRED)
    if best is not None:  # the detector's pick, for files in none of the common encodings
        same_text = set(best.could_be_from_charset)
        if not same_text & set(candidates):
            candidates.append(best.encoding)
    scored = []
    for encoding in candidates:
        try:
            scored.append((_implausible(data.decode(encoding)), encoding))
        except UnicodeDecodeError:
            continue
    if best is None and not scored:
        return None
    return min(scored, key=lambda s: s[0])[1] if scored else best.encoding


def _implausible(text: str) -> int:
    """Non-ASCII characters that real text rarely has: a capital right after a small letter,
    symbols and control characters (what a wrong single-byte encoding makes of accents)."""
    count = 0
    for found in _NON_ASCII.finditer(text):
        i, category = found.start(), unicodedata.category(found[0])
        if category in _SYMBOLS or (category == "Lu" and i and text[i - 1].islower()):
            count += 1
    return count


def _codec(encoding: str) -> str:
    # A UTF-8 file may start with a byte order mark: it is not part of the header's first name.
    return "utf-8-sig" if codecs.lookup(encoding).name == "utf-8" else encoding


def _explain(file_name: str, data: bytes, err: UnicodeDecodeError, encoding: str) -> str:
    line = len(_LINE_BREAK.findall(data, 0, err.start)) + 1
    starts = [m.end() for m in _LINE_BREAK.finditer(data, 0, err.start)]
    line_start = starts[-1] if starts else 0
    before = data[line_start : err.start].decode(encoding, errors="replace")[-30:]
    guess = detect(data)
    hint = (
        f"the file looks like {guess}: state it on the source, "
        f"e.g. `{{file: {file_name}, encoding: {guess}}}`"
        if guess
        else "state the file's encoding on the source (e.g. cp1252, mac_roman, latin-1)"
    )
    return (
        f"{file_name}, line {line}: byte 0x{data[err.start]:02x} (position {err.start}, "
        f"after {before!r}) is not valid {encoding}; {hint}"
    )
