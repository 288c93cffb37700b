"""Record ids as two snapshots or a snapshot and a push compare them.

A Salesforce Id has two forms: 15 characters, case-sensitive (what the UI and many CSV
exports show), and 18 characters, the same 15 followed by three check characters that encode
which of them are upper case, so the 18-character form is unique even where case is lost (what
the API returns, and what Data Loader and reports export). One record may so appear as
``001A0000006Vm9r`` in a landing snapshot exported by hand and as ``001A0000006Vm9rIAC`` in the
next one pulled through the API. :func:`id_key` maps both forms (check characters in any case,
the 15 restored to their case) to the 18-character form, and leaves every other id as it is.
"""

from __future__ import annotations

import re

_CHECK = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
_ALNUM = re.compile(r"[A-Za-z0-9]+")


def check_characters(id15: str) -> str:
    """Salesforce's three check characters of a 15-character Id: per five characters, a bit
    for each upper-case letter (first character lowest), as a letter of ``A-Z0-5``."""
    out = []
    for start in (0, 5, 10):
        bits = sum(1 << i for i, ch in enumerate(id15[start : start + 5]) if "A" <= ch <= "Z")
        out.append(_CHECK[bits])
    return "".join(out)


def _restored(id18: str) -> str | None:
    """The 15 characters of an 18-character Id in the case its check characters say; None
    when the check characters cannot belong to those 15 (not a Salesforce Id)."""
    chars = list(id18[:15])
    for chunk, check in enumerate(id18[15:].upper()):
        bits = _CHECK.find(check)
        if bits < 0:
            return None
        for i in range(5):
            pos = chunk * 5 + i
            upper = bool(bits >> i & 1)
            if chars[pos].isdigit():
                if upper:
                    return None
            else:
                chars[pos] = chars[pos].upper() if upper else chars[pos].lower()
    return "".join(chars)


def id_key(value: str | None) -> str | None:
    """The key two record ids compare by: a Salesforce Id's 18-character form, from either
    form; any other id (a HubSpot number, a test's ``A1``) unchanged."""
    if value is None or not _ALNUM.fullmatch(value):
        return value
    if len(value) == 15:
        return value + check_characters(value)
    if len(value) == 18:
        restored = _restored(value)
        if restored is not None:
            return restored + check_characters(restored)
    return value
