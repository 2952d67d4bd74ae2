# The verbs a person types. Every target sets up .venv first (idempotent).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install lint test test-default-isa test-slow test-sweeps test-slurm test-faults test-gpu-check test-all gpu-check gpu-check-prepare run bench bench-curvature slurm-timings report reproduce constraints clean

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -c constraints.txt -e '.[dev,launchers,fast,workspaces]'
	touch $(STAMP)

constraints: install   ## regenerate constraints.txt: the exact versions of this venv (the ones the tests passed with)
	( echo "# Exact versions make install uses (pip -c): regenerate with make constraints; ranges live in pyproject.toml"; \
	  $(PY) -m pip freeze --exclude-editable | grep -v -i '^hessian-eigenthings' ) > constraints.txt

lint: install          ## ruff: lint and format check (configured in pyproject.toml)
	$(VENV)/bin/ruff check src tests scripts
	$(VENV)/bin/ruff format --check src tests scripts

test: install          ## the fast suite (< 10 min on 2 CPU cores), one pytest worker per core, one torch thread each
	OMP_NUM_THREADS=1 $(PY) -m pytest -q -n auto

test-default-isa:      ## the fast suite on torch's non-vectorised kernels: no test may depend on one CPU's rounding (docs/determinism.md)
	ATEN_CPU_CAPABILITY=default $(MAKE) test

test-slow: install     ## real-data and longer training tests
	$(PY) -m pytest -q -m slow

test-sweeps: install   ## every experiment's sweep at smoke scale through the CLI, and its report; multirun, joblib and torchrun via the CLI
	$(PY) -m pytest -q -m sweeps

test-slurm: install    ## a real single-node SLURM (scripts/slurm_local.sh install first; skips, saying why, without it)
	$(PY) -m pytest -q -m slurm

test-faults: install   ## kill -9 at many moments, then resume exactly; a disk limit met inside a checkpoint write
	$(PY) -m pytest -q -m faults

test-gpu-check: install  ## scripts/gpu_check.py rehearsed on CPU at tiny sizes (a minute and a half: its own target, in CI)
	$(PY) -m pytest -q -m gpucheck

test-all: install
	$(PY) -m pytest -q -m 'slow or faults or sweeps or slurm or gpucheck or not (slow or faults or sweeps or slurm or gpucheck)'

gpu-check-prepare: install  ## here, once: wheels a bare GPU image lacks + 10,000 real CIFAR-10 images into .gpu_carry/
	$(PY) scripts/gpu_check.py prepare

gpu-check:             ## on a GPU machine (python3 with torch; no make install): results in $$GPU_CHECK_OUT or gpu_check_out/
	python3 scripts/gpu_check.py run

run: install           ## the main job: memorize random labels (cpu scale, real CIFAR-10; ~17 min on 2 cores); overrides: make run ARGS="seed=1"
	$(PY) -m harness experiment=random_labels $(ARGS)

bench: install         ## harness loop vs the model-only limit and a DataLoader baseline, both preprocessings; appends to experiments/performance/bench_limit.csv
	$(PY) scripts/bench.py

bench-curvature: install  ## HVP cost, Lanczos vs power iteration, vs hessian-eigenthings; appends to experiments/performance/bench_curvature.csv
	$(PY) -m pip install -q --pre -e '.[bench]'
	$(PY) scripts/bench_curvature.py

slurm-timings: install  ## local SLURM start/stop and tests/test_slurm.py timings (root + apt); appends to experiments/performance/slurm_timings.csv
	$(PY) scripts/slurm_timings.py

reproduce: install     ## every cpu-scale sweep, report and the dashboard, end to end (hours; re-run to resume)
	$(PY) -m harness.reproduce

report: install        ## rebuild every report and experiments/README.md (dashboard) from committed run records; no training
	$(PY) -m harness.dashboard --rebuild --claims-doc docs/claims.md

clean:
	rm -rf runs multirun outputs .pytest_cache
