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
	@echo "make test-fast - the quick lane: every test not marked slow (about 2 minutes)"
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
	$(JAVA_ENV) $(BIN)/python -m pytest $(PYTEST_ARGS)

# the quick lane for a change: everything except the tests tests/conftest.py lists as slow. Each test module runs
# on one worker (--dist loadfile), so a module's fixtures are built once, not once per worker: 2 min 21 s and
# 2 min 35 s against 2 min 33 s and 2 min 50 s on a slow evening (4 min 2 s / 4 min 25 s CPU against 4 min 25 s / 4 min 51 s)
test-fast: setup
	$(BIN)/python -m pytest $(PYTEST_ARGS) --dist loadfile -m "not slow"

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

# Java 17+ for Spark (pyspark runs a JVM): java on PATH or JAVA_HOME if there is one; else the Debian
# package (as root with apt-get), else conda-forge's openjdk into .venv/jdk (without root; commlab's
# Spark sessions and `make test` use it from there). Where none of these works it says so: the Spark
# tests then skip with the reason, and fail under CI=true.
JDK := $(VENV)/jdk
JAVA_ENV = $(if $(wildcard $(JDK)/bin/java),JAVA_HOME=$(abspath $(JDK)),)
java:
	@{ [ -n "$$JAVA_HOME" ] && [ -x "$$JAVA_HOME/bin/java" ]; } || command -v java >/dev/null 2>&1 || [ -x $(JDK)/bin/java ] || { \
	  if [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing Java for Spark: apt-get install openjdk-17-jre-headless"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless >/dev/null) \
	      || echo "warning: apt-get could not install openjdk-17-jre-headless; the Spark tests will skip (fail under CI=true)"; \
	  elif command -v conda >/dev/null 2>&1; then \
	    echo "installing Java for Spark: conda create -p $(JDK) -c conda-forge openjdk=17"; \
	    conda create -y -q -p $(JDK) -c conda-forge openjdk=17 >/dev/null \
	      || echo "warning: conda could not install openjdk=17; the Spark tests will skip (fail under CI=true)"; \
	  else echo "warning: no Java 17+ here and no way to install it (not root with apt-get, no conda): the Spark tests" \
	    "will skip (fail under CI=true); install a JRE 17+ (apt-get install openjdk-17-jre-headless, or" \
	    "conda install -c conda-forge openjdk=17) or set JAVA_HOME"; fi; }

clean:
	rm -rf $(VENV) runs site .pytest_cache
