# Two commands on a fresh machine: `make demo` and `make test`. Everything else
# (uv, the virtual environment, the dependencies in uv.lock with every extra) is set up here.
PYTHON ?= python3
UV := $(shell command -v uv 2>/dev/null)
ifeq ($(UV),)
UV := $(PYTHON) -m uv
endif
RUN := $(UV) run --frozen
# Python caches the bytecode of the modules a command actually imports, on first use
# (a few seconds once), instead of `uv sync --compile-bytecode` compiling the whole
# environment up front (70-80 s on 2 cores before the first report). Some shells set
# PYTHONDONTWRITEBYTECODE, which would make every command recompile scipy and pandas.
unexport PYTHONDONTWRITEBYTECODE
SAMPLES := healthy mode-collapse d-overpowers

.PHONY: setup browser demo test bench lint sample-runs lab verdicts clean

.venv/.synced: pyproject.toml uv.lock
	@$(UV) --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet uv
	$(UV) sync --frozen --all-extras
	@touch $@

setup: .venv/.synced

# The page tests render every HTML page in a real headless Chromium. Where it is
# missing and packages may be installed (root, apt-get), install Debian's package;
# otherwise those tests skip with one line saying how to enable them.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "Installing Debian's chromium for the page tests (once)"; \
	    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } \
	      || echo "chromium could not be installed: the page screenshot tests will skip"; \
	  else \
	    echo "chromium is missing and this user cannot install it: the page screenshot tests will skip"; \
	  fi; }

# The demo: FID over every checkpoint of each sample run (shipped digits feature
# network, scikit-learn's digits as real data), the rule checks, one HTML report
# per run, and a side-by-side comparison. Sweeps resume, so a second run is quick.
DEMO_SWEEP := --real sklearn-digits --features digits --metrics fid,kid,pr,dc --num-samples 1000
# The vector sample run (a 2-D ring GAN, examples/train_ring_gan.py): its real table is a CSV
# and its feature space the standardised columns (--features raw, the default for tables).
RING_REAL := sample_runs/ring-real.csv
RING_SWEEP := --real $(RING_REAL) --metrics fid,pr,dc --num-samples 1000

demo: setup
	@mkdir -p reports
	@for r in $(SAMPLES); do \
	  echo "== $$r: fid-sweep"; $(RUN) gananalyze fid-sweep sample_runs/$$r $(DEMO_SWEEP) || exit 1; \
	  echo "== $$r: check"; $(RUN) gananalyze check sample_runs/$$r || echo "(check exits 1 when it finds an error: expected for this run)"; \
	  echo "== $$r: report"; $(RUN) gananalyze report sample_runs/$$r -o reports/$$r.html || exit 1; \
	done
	@echo "== ring-collapse (vector samples): fid-sweep"; $(RUN) gananalyze fid-sweep sample_runs/ring-collapse $(RING_SWEEP) || exit 1
	@echo "== ring-collapse: check"; $(RUN) gananalyze check sample_runs/ring-collapse --real $(RING_REAL) || echo "(check exits 1 when it finds an error: expected for this run)"
	@echo "== ring-collapse: report"; $(RUN) gananalyze report sample_runs/ring-collapse --real $(RING_REAL) -o reports/ring-collapse.html || exit 1
	$(RUN) gananalyze compare $(addprefix sample_runs/,$(SAMPLES)) -o reports/compare.html
	@echo "Reports written: $$(ls reports/*.html | tr '\n' ' ')"

test: setup browser
	OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 $(RUN) pytest -q -n 2 tests

# All benchmarks, one after another (about 20 minutes on 2 cores); each prints
# medians and its targets. Run one alone with `uv run python bench/NAME.py`.
bench: setup
	$(RUN) python bench/load.py
	$(RUN) python bench/textlog.py
	$(RUN) python bench/logging_cost.py
	$(RUN) python bench/report.py
	$(RUN) python bench/report_samples.py
	$(RUN) python bench/compare.py
	$(RUN) python bench/fid.py --part all --repeats 3
	$(RUN) python bench/remote.py
	$(RUN) python bench/fid_nodes.py

lint: setup
	$(RUN) ruff check gananalyze tests bench examples lab

# Retrain the three sample runs from scratch (about 2 minutes on one core) and
# sweep their checkpoints, so the committed runs carry their FID curves.
sample-runs: setup
	$(RUN) python examples/train_digits_gan.py --out sample_runs
	@for r in $(SAMPLES); do $(RUN) gananalyze fid-sweep sample_runs/$$r $(DEMO_SWEEP) --force || exit 1; done
	$(RUN) python examples/train_ring_gan.py --out sample_runs
	$(RUN) gananalyze fid-sweep sample_runs/ring-collapse $(RING_SWEEP) --force

# The truth lab (lab/): trains 320 small GANs on one CPU core (niced; cached under
# lab/.cache, so a second run only writes what is missing) and writes each in its logging
# style. `make verdicts` scores `check` on the lab's test half and on the zoo, from the
# cache: after a reader or rule change it is the one command to re-score.
# The truth lab (issue 22): trains its runs on CPU into lab/.cache (resumes from it);
# LAB_JOBS groups train at once, one process and one thread each. After the grid, the
# conditional runs (lab/conditional.py: digits cGANs, healthy / condition ignored / class
# dropped, swept per class once) go to lab/.cache/cond; `make verdicts` scores them as
# their own section.
LAB_JOBS ?= 2
lab: setup
	OMP_NUM_THREADS=1 nice -n 10 $(RUN) python -m lab.build --jobs $(LAB_JOBS)

verdicts: setup
	$(RUN) python -m lab.score --half test

clean:
	rm -rf .venv .pytest_cache
