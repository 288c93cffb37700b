from pathlib import Path

import pytest

from territory_ops.files import replaced_atomically, write_atomically


def test_a_failed_write_leaves_the_previous_file_and_no_temporary(tmp_path: Path):
    target = tmp_path / "plan.csv"
    target.write_text("old\n")
    with pytest.raises(RuntimeError), replaced_atomically(target) as tmp:
        tmp.write_text("half a fi")
        raise RuntimeError("disk full")
    assert target.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plan.csv"]


def test_a_write_replaces_the_file_whole(tmp_path: Path):
    target = tmp_path / "map.png"
    write_atomically(target, b"\x89PNG")
    write_atomically(tmp_path / "page.html", "<p>é</p>")
    assert target.read_bytes() == b"\x89PNG"
    assert (tmp_path / "page.html").read_text(encoding="utf-8") == "<p>é</p>"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["map.png", "page.html"]
