"""Compare what two runs of the pipeline decided: warehouse tables, digests, gate outcomes.

A refactor must not change an answer. Run `make demo` on two checkouts (before and after) and
point this script at their `var/` folders:

    python scripts/compare_runs.py ../before/var var

It compares, with clock-dependent columns (timestamps, run ids, durations) left out:
- every table of the warehouse's planning, notify, quarantine, scores and marts schemas
  (plans, proposals, decisions, drift flags, KPIs, outbox rows), row for row;
- every digest in the Slack outbox (text and Block Kit JSON);
- the scenario comparison table (`scenarios/comparison.csv`);
- every asset-check outcome recorded in the Dagster instance (the quality gate and drift
  checks), per run in order.

With `--same-decisions`, numbers written inside sentences are compared as `<t>` and floats to six
decimals: a change to how an amount is written, or to the order a sum is added in, then compares
equal, and what is left is a change of words or of a decision.

Exit 0 when everything matches, 1 with the first differences of each kind otherwise.
"""

from __future__ import annotations

import csv
import json
import re
import sys
from pathlib import Path

import duckdb

SCHEMAS = ("plans", "notify", "quarantine", "scores", "marts", "reference")
# Columns whose values come from the clock or from random run ids, not from the inputs.
VOLATILE = re.compile(
    r"(_at$|^at$|run_id|^created|^updated|_s$|seconds|elapsed|duration|^ts$|timestamp"
    r"|^delivered|^sent|^message_ts|^path$|_path$|^payload$|^body$|^slack_ts$"
    # content hashes: they change whenever the wording does, and the text is compared itself
    r"|^idempotency_key$|^replaces_key$|_url$)"
)
# Inside text payloads (digests, metadata): times and uuids.
VOLATILE_TEXT = re.compile(
    r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d+)?([+-]\d{2}:?\d{2}|Z)?"
    r"|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
    r"|\b\d+(\.\d+)? ?s\b"
    r'|"seconds": [\d.]+'
)


def _tables(con: duckdb.DuckDBPyConnection) -> dict[str, list[str]]:
    rows = con.execute(
        "select table_schema || '.' || table_name, column_name from information_schema.columns "
        "where table_schema in (select unnest(?)) order by table_schema, table_name, "
        "ordinal_position",
        [list(SCHEMAS)],
    ).fetchall()
    out: dict[str, list[str]] = {}
    for table, column in rows:
        out.setdefault(table, []).append(column)
    return out


# Numbers inside sentences (amounts, shares, counts): with --same-decisions a sentence compares
# by its words, the numbers it quotes being compared in their own columns.
NUMBER = re.compile(r"(?<![\w.$])-?\$?\d[\d,]*(?:\.\d+)?[kMB]?(?!\w)")
# Where each run kept its files: two checkouts differ there by construction.
VAR_PATH = re.compile(r"/\S*?/var/")
_TEXT_RULES = [VOLATILE_TEXT, VAR_PATH]


ROUND_FLOATS: list[int] = []  # digits after the point, with --same-decisions


def _scrub(value: object) -> object:
    if isinstance(value, float) and ROUND_FLOATS:
        # the same sums added in another order differ in the last bit
        return round(value, ROUND_FLOATS[0])
    if not isinstance(value, str):
        return value
    for rule in _TEXT_RULES:
        value = rule.sub("<t>", value)
    return value


def table_columns(warehouse: Path) -> dict[str, list[str]]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return {t: [c for c in cols if not VOLATILE.search(c)] for t, cols in _tables(con).items()}
    finally:
        con.close()


def table_rows(warehouse: Path, columns: dict[str, list[str]]) -> dict[str, list[tuple]]:
    """Each table's ``columns`` (those both runs have), rows sorted by their leading columns
    so that the rows of two runs line up."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        out = {}
        for table, kept in columns.items():
            if not kept:
                continue
            cols = ", ".join(f'"{c}"' for c in kept)
            rows = con.execute(f"select {cols} from {table}").fetchall()
            out[table] = sorted(
                (tuple(_scrub(v) for v in r) for r in rows), key=lambda r: repr(r[:2])
            )
        return out
    finally:
        con.close()


def outbox_files(var: Path) -> dict[str, list[str]]:
    """Digest payloads by kind, as a sorted list of scrubbed texts (file names are hashes)."""
    out: dict[str, list[str]] = {}
    for path in sorted((var / "outbox").rglob("*")):
        if path.is_file():
            text = path.read_text()
            if path.suffix == ".json":
                data = json.loads(text)
                for key in ("ts", "created_at", "sent_at", "outbox_id", "id"):
                    if isinstance(data, dict):
                        data.pop(key, None)
                text = json.dumps(data, sort_keys=True)
            out.setdefault(path.suffix, []).append(_scrub(text))
    return {k: sorted(v) for k, v in out.items()}


def scenario_rows(path: Path) -> list[tuple] | None:
    """The scenario comparison table without its clock columns (seconds)."""
    if not path.exists():
        return None
    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    return [tuple(_scrub(v) for k, v in row.items() if not VOLATILE.search(k)) for row in rows]


def check_outcomes(var: Path) -> list[tuple]:
    """Every asset-check evaluation in the instance, in run order, without run ids."""
    import dagster as dg

    home = var / "dagster_home"
    if not home.exists():
        return []
    with dg.DagsterInstance.from_config(str(home)) as instance:
        runs = sorted(instance.get_run_records(), key=lambda r: r.create_timestamp)
        out = []
        for run_index, record in enumerate(runs):
            events = instance.all_logs(
                record.dagster_run.run_id,
                of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION,
            )
            for e in events:
                ev = e.dagster_event.event_specific_data
                out.append(
                    (
                        run_index,
                        record.dagster_run.job_name,
                        ev.asset_key.to_user_string(),
                        ev.check_name,
                        ev.passed,
                        str(ev.severity),
                    )
                )
        return sorted(out)


def _short(value: object, width: int = 240) -> str:
    text = repr(value)
    return text if len(text) <= width else text[:width] + "…"


def _report(kind: str, a: object, b: object, failures: list[str]) -> None:
    if a == b:
        print(f"same   {kind}")
        return
    failures.append(kind)
    print(f"DIFF   {kind}")
    if not (isinstance(a, list) and isinstance(b, list)):
        print(f"       before: {_short(a)}\n       after:  {_short(b)}")
        return
    print(f"       {len(a)} vs {len(b)} rows")
    if len(a) == len(b) and a and isinstance(a[0], tuple):
        # rows sorted alike: say which columns differ, with one example each
        for col in range(len(a[0])):
            pairs = [(x[col], y[col]) for x, y in zip(a, b, strict=True) if x[col] != y[col]]
            if pairs:
                print(f"       column {col}: {len(pairs)} rows differ, e.g. {_short(pairs[0][0])}")
                print(f"                 → {_short(pairs[0][1])}")
        return
    only_a = [x for x in a if x not in b][:2]
    only_b = [x for x in b if x not in a][:2]
    print(f"       only before: {_short(only_a, 600)}\n       only after:  {_short(only_b, 600)}")


def main(before: Path, after: Path) -> int:
    failures: list[str] = []
    wa, wb = before / "territory.duckdb", after / "territory.duckdb"
    ca, cb = table_columns(wa), table_columns(wb)
    for table in sorted(set(ca) ^ set(cb)):
        print(f"new    table {table}" if table in cb else f"gone   table {table}")
    common = {t: [c for c in ca[t] if c in cb[t]] for t in set(ca) & set(cb)}
    for table in sorted(common):
        for column in sorted(set(ca[table]) ^ set(cb[table])):
            print(f"{'new ' if column in cb[table] else 'gone'}   column {table}.{column}")
    ta, tb = table_rows(wa, common), table_rows(wb, common)
    for table in sorted(common):
        _report(f"table {table}", ta.get(table), tb.get(table), failures)
    oa, ob = outbox_files(before), outbox_files(after)
    for kind in sorted(set(oa) | set(ob)):
        _report(f"outbox *{kind}", oa.get(kind, []), ob.get(kind, []), failures)
    _report(
        "scenarios comparison.csv",
        scenario_rows(before / "scenarios" / "comparison.csv"),
        scenario_rows(after / "scenarios" / "comparison.csv"),
        failures,
    )
    _report("asset checks", check_outcomes(before), check_outcomes(after), failures)
    print(f"\n{len(failures)} difference(s)" if failures else "\nidentical")
    return 1 if failures else 0


if __name__ == "__main__":
    args = sys.argv[1:]
    if "--same-decisions" in args:
        args.remove("--same-decisions")
        _TEXT_RULES.append(NUMBER)
        ROUND_FLOATS.append(6)
    if len(args) != 2:
        sys.exit(__doc__)
    sys.exit(main(Path(args[0]), Path(args[1])))
