# commlab — two commands on a fresh machine:  make demo  and  make test
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.commlab-installed
# pytest options: override with `make test PYTEST_ARGS="-k load"`
PYTEST_ARGS ?= -n 2

.PHONY: setup demo test test-fast lint lab docs samples fates browser java clean help

help:
	@echo "make demo   - set up and run the demo playbook on data/samples, printing the report path"
	@echo "make test   - set up and run the whole test suite"
	@echo "make test-fast - the quick lane: every test not marked slow (under 2 minutes)"
	@echo "make lab    - open the notebooks in JupyterLab"
	@echo "make lint   - ruff"
	@echo "make docs   - the API reference (mkdocs, strict: a broken reference fails) into site/"

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,spark]'
	$(BIN)/python -m ipykernel install --sys-prefix --name commlab --display-name "Python (commlab)" >/dev/null
	@touch $(STAMP)

setup: $(STAMP)

# browser: Chromium prints report.pdf (without it the run writes report.html only and says so)
demo: setup browser
	$(BIN)/commlab run playbooks/demo.yaml

test: setup browser java
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# the quick lane for a change: everything except the tests tests/conftest.py lists as slow
test-fast: setup
	$(BIN)/python -m pytest $(PYTEST_ARGS) -m "not slow"

lint: setup
	$(BIN)/ruff check src tests

# The API reference from the docstrings, the metric registry and the data model (mkdocs.yml)
docs: setup
	$(BIN)/mkdocs build --strict

# Jupyter refuses to start as root without --allow-root (containers, CI machines)
lab: setup
	$(BIN)/jupyter lab notebooks/ $$([ "$$(id -u)" = "0" ] && echo --allow-root)

samples: setup
	$(BIN)/commlab generate data/samples --seed 20240601

# The planted-fates set of the early-warning playbook (data/fates; docs/FORECAST.md), byte for byte
fates: setup
	$(BIN)/commlab generate data/fates --fates

# Headless Chromium for report.pdf and the report tests (Debian package; needs root). Skipped quietly
# where it cannot be installed: runs then write no report.pdf (a warning in the manifest) and the
# browser tests skip with the reason, except under CI=true.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null) \
	      || echo "warning: could not install chromium; browser tests will skip"; \
	  else echo "note: chromium not installed; browser tests will skip"; fi; }

# Java for the Spark tests (pyspark runs a JVM; Debian package, needs root). Where it cannot be
# installed the Spark tests skip with the reason, except under CI=true.
java:
	@command -v java >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless >/dev/null) \
	      || echo "warning: could not install Java; Spark tests will skip"; \
	  else echo "note: Java not installed; Spark tests will skip"; fi; }

clean:
	rm -rf $(VENV) runs site .pytest_cache
