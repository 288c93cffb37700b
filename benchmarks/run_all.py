"""Run every benchmark that exists, at a size that finishes in minutes: ``make bench``.

    python -m benchmarks.run_all [--full]

Each benchmark runs as its own process (``python -m <module> ...``), so one's memory and
imports do not skew the next, and prints its own markdown for docs/benchmarks.md. ``--full``
uses each benchmark's own defaults (production size: 100k accounts, 300 reps), which takes
much longer. A failing benchmark is reported and the others still run; the exit code is 1.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

# Module names in one place: the optimizer benchmark may be renamed by the optimizer's owners.
SAMPLE_BENCH = "benchmarks.bench_sample"
PIPELINE_BENCH = "benchmarks.bench_pipeline"
OPTIMIZER_BENCH = "benchmarks.bench_optimizer"

SMALL_ARGS: dict[str, list[str]] = {
    SAMPLE_BENCH: ["--accounts", "10000", "--reps", "60", "--months", "1"],
    PIPELINE_BENCH: ["--accounts", "5000", "--reps", "40", "--months", "1"],
    OPTIMIZER_BENCH: ["--sizes", "small"],
}


def commands(full: bool) -> list[list[str]]:
    """``python -m`` command lines, one per benchmark, in the order they run."""
    return [
        [sys.executable, "-m", module, *([] if full else args)]
        for module, args in SMALL_ARGS.items()
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--full", action="store_true", help="production sizes (slow)")
    args = parser.parse_args()
    failed = []
    for command in commands(args.full):
        module = command[2]
        print(f"\n## {module}: {' '.join(command[1:])}\n", flush=True)
        started = time.perf_counter()
        if subprocess.run(command, check=False).returncode != 0:
            failed.append(module)
        print(f"\n({module} took {time.perf_counter() - started:.0f} s)", flush=True)
    if failed:
        print(f"\nFAILED: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
