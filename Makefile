# Two commands do everything on a fresh machine (Python 3.11 + pip):
#   make demo   set up, generate sample extracts, run the territory job end to end
#   make test   set up and run the whole test suite
SHELL := /bin/bash
PYTHON ?= python3.11
UV_VERSION := 0.13.9
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
RUN := $(UV) run --frozen --no-sync
export DBT_SEND_ANONYMOUS_USAGE_STATS := false
export DO_NOT_TRACK := 1
export UV_PROJECT_ENVIRONMENT := $(VENV)

.PHONY: setup demo test test-fast ui bench lint clean

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"

# Bytecode is compiled once here: where PYTHONDONTWRITEBYTECODE is set (CI images, containers)
# every process would otherwise compile dagster, dbt and their kin again, ~8 s per start, and
# the job, its CLI, dbt and each test start hundreds of them.
$(VENV)/.synced: $(UV) uv.lock pyproject.toml
	$(UV) sync --frozen --python $(PYTHON) --quiet --compile-bytecode
	touch $@

setup: $(VENV)/.synced

# The closed loop over three sample months (the schedule's rhythm, replayed with --as-of): a
# full pass over the first month, then each month: routing policy + every manager approving
# their team, write-back, the sample's CRM importing it into the next month, a micro pass.
# Starts from an empty warehouse so earlier demos' decisions stay out; then where to look.
DEMO_MONTHS := 2026-08-31 2026-09-30 2026-10-31
demo: setup
	rm -rf var/demo_landing var/demo_writeback var/territory.duckdb var/territory.duckdb.wal
	$(RUN) territory-ops sample --accounts 3000 --reps 40 --months 3 --seed 7 --as-of 2026-10-31 --out var/demo_landing
	$(RUN) python -m scripts.demo_closed_loop --landing var/demo_landing --writeback var/demo_writeback $(DEMO_MONTHS)
	$(RUN) territory-ops plan show
	$(RUN) territory-ops drift
	$(RUN) territory-ops scenarios run scenarios/*.yaml --out var/scenarios --time-limit 15 --hire-time-limit 15
	@echo ""
	@echo "Where to look:"
	@echo "  proposals:       $(RUN) territory-ops proposals list --status open   (history: plans.proposals in var/territory.duckdb)"
	@echo "  write-back:      $(CURDIR)/var/demo_writeback/<batch>/ (imported into the next month: var/demo_landing/_crm_simulator/ledger.json)"
	@echo "  Dagster UI:      make ui -> Assets -> territory_plan / drift_report / proposed_changes"
	@echo "  scenarios:       $(CURDIR)/var/scenarios/report.html"
	@echo "  band x budget:   $(RUN) territory-ops scenarios sweep"

test: setup
	$(RUN) dbt parse --project-dir dbt_project --profiles-dir dbt_project --quiet
	$(RUN) pytest -q -n 2 --dist loadgroup

# The tier to run while working: library tests without whole-job runs or long solver limits.
test-fast: setup
	$(RUN) pytest -q -n 2 --dist loadgroup -m "not slow and not solver"

ui: setup
	DAGSTER_HOME=$(CURDIR)/var/dagster_home $(RUN) dagster dev -w workspace.yaml

bench: setup
	$(RUN) python -m benchmarks.run_all

lint: setup
	$(RUN) ruff check . && $(RUN) ruff format --check . && $(RUN) lint-imports --no-cache

clean:
	rm -rf $(VENV) $(TOOLS) var dbt_project/target dbt_project/logs
