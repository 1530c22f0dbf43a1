# Two commands on a fresh machine: `make demo` and `make test`. Everything else
# (uv, the virtual environment, the dependencies in uv.lock) is set up here.
PYTHON ?= python3
UV := $(shell command -v uv 2>/dev/null)
ifeq ($(UV),)
UV := $(PYTHON) -m uv
endif
RUN := $(UV) run --frozen
SAMPLES := healthy mode-collapse d-overpowers

.PHONY: setup demo test bench lint sample-runs clean

.venv/.synced: pyproject.toml uv.lock
	@$(UV) --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet uv
	$(UV) sync --frozen --compile-bytecode
	@touch $@

setup: .venv/.synced

demo: setup
	@mkdir -p reports
	@for r in $(SAMPLES); do echo "== $$r"; $(RUN) gananalyze info sample_runs/$$r || exit 1; done
	$(RUN) gananalyze compare $(addprefix sample_runs/,$(SAMPLES)) -o reports/compare.html

test: setup
	OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 $(RUN) pytest -q -n 2 tests

bench: setup
	$(RUN) python bench/load.py

lint: setup
	$(RUN) ruff check gananalyze tests bench examples

sample-runs: setup
	$(RUN) python examples/train_digits_gan.py --out sample_runs

clean:
	rm -rf .venv .pytest_cache
