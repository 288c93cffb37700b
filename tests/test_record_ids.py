"""Salesforce's 15- and 18-character Ids compare as one record; other ids stay as they are."""

from __future__ import annotations

import pytest

from territory_ops.record_ids import check_characters, id_key


@pytest.mark.parametrize(
    ("id15", "id18"),
    [
        ("a0D30000001n7Pi", "a0D30000001n7PiEAI"),
        ("0019000000B98de", "0019000000B98deAAB"),
        ("001A0000006Vm9r", "001A0000006Vm9rIAC"),
        ("0014b000DjH892Q", "0014b000DjH892QAIR"),
        ("005000000000000", "005000000000000AAA"),
        ("ABCDEFGHIJKLMNO", "ABCDEFGHIJKLMNO555"),
    ],
)
def test_both_forms_of_an_id_have_one_key(id15: str, id18: str) -> None:
    assert id15 + check_characters(id15) == id18
    assert id_key(id15) == id_key(id18) == id18
    # the check characters are case-insensitive, and they restore the 15's case
    assert id_key(id18[:15] + id18[15:].lower()) == id18
    assert id_key(id18.lower()) == id_key(id18.upper()) == id18


def test_ids_that_differ_only_in_case_are_different_records() -> None:
    assert id_key("001A0000006Vm9r") != id_key("001A0000006VM9r")
    assert id_key("001A0000006Vm9rIAC") != id_key("001A0000006VM9rIAC".replace("IAC", "IAA"))


@pytest.mark.parametrize(
    "other",
    [
        None,
        "",
        "A1",
        "201",  # a HubSpot id
        "123456789012345678",  # 18 digits: no check characters can belong to them
        "0014b000DjH892QAI9",  # 9 is no check character
        "001-4b000DjH892QA",  # not alphanumeric
        "0014b000DjH892QAIRX",  # 19 characters
    ],
)
def test_other_ids_are_kept_as_they_are(other: str | None) -> None:
    assert id_key(other) == other
