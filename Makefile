# Two commands do all the set-up on a fresh machine with Python 3.11:
#   make lab    create/refresh .venv, install the course, open JupyterLab on the landing page
#   make test   create/refresh .venv, install the course, run ruff and the whole test suite
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
# The stamp records what .venv was built from; a newer pyproject.toml makes it stale.
STAMP := $(VENV)/.installed
# JupyterLab refuses to start as root unless told; containers and CI run as root.
ALLOW_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root,)
LAB_ARGS ?=

.PHONY: venv lab lab-instructor chooser experiments test lint test-e2e bench notebooks clean site

venv: $(STAMP)

$(STAMP): pyproject.toml
	@# A venv whose interpreter no longer runs (Python upgraded or removed) is rebuilt.
	@if [ -e $(PY) ] && ! $(PY) -c 'import sys; assert sys.version_info >= (3, 11)' 2>/dev/null; then \
		echo "Rebuilding $(VENV): its Python is broken or older than 3.11"; rm -rf $(VENV); fi
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev,site]'
	@touch $(STAMP)

# The learner's Lab serves the course folder (lessons, exercises/ and apps/ link to each other)
# and opens the landing page. Its settings folder jupyter/learner/ turns nbgrader's Lab
# extension off (page_config.json) and Lab's news pop-up off (overrides.json); the
# instructors' Lab (jupyter/instructor/) keeps nbgrader's menu, panel and Validate button.
LANDING := START_HERE.ipynb
LAB := $(VENV)/bin/jupyter lab --ServerApp.root_dir=$(CURDIR) $(ALLOW_ROOT)
lab: $(STAMP)
	$(LAB) --LabApp.app_settings_dir=$(CURDIR)/jupyter/learner \
		--LabApp.default_url=/lab/tree/$(LANDING) $(LAB_ARGS)

lab-instructor: $(STAMP)
	$(LAB) --LabApp.app_settings_dir=$(CURDIR)/jupyter/instructor $(LAB_ARGS)

# The apps as web pages (Voila): the "which loss?" wizard and the six experiments.
VOILA_ARGS ?=
chooser: $(STAMP)
	$(VENV)/bin/voila apps/chooser.ipynb $(VOILA_ARGS)

experiments: $(STAMP)
	$(VENV)/bin/voila apps/experiments.ipynb $(VOILA_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .

test: lint
	$(VENV)/bin/python -m pytest

# Browser tests (tests/e2e, not part of `make test`): JupyterLab and Voila servers on
# 127.0.0.1, driven by Debian's Chromium through Playwright. Without a Chromium they fail, never
# skip, and say how to install one.
CHROMIUM ?= /usr/bin/chromium
test-e2e: $(STAMP)
	@test -x $(CHROMIUM) || { echo "make test-e2e needs Chromium at $(CHROMIUM). Install Debian's:" \
		"apt-get update && apt-get install -y chromium (as root). Never run 'playwright install':" \
		"it downloads a browser of its own, which fails here." >&2; exit 1; }
	CHROMIUM=$(CHROMIUM) $(PY) -m pytest -o addopts="-p no:cacheprovider" -v tests/e2e

bench: $(STAMP)
	$(PY) benchmarks/bench_xent.py --runs 3
	$(PY) benchmarks/bench_sampled.py
	$(PY) benchmarks/bench_grading.py

notebooks: $(STAMP)
	$(PY) tools/execute_notebooks.py notebooks $(wildcard solutions)

clean:
	rm -rf $(VENV) .hypothesis .pytest_cache .ruff_cache

# The offline static book (build/site): lessons with their committed outputs, the assignments
# as students get them, the apps and the instructors' guide. Nothing is executed.
site: $(STAMP)
	$(PY) tools/build_site.py
