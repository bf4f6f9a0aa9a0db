# carbonpark: `make demo` and `make test` do everything on a fresh machine.
# Stamps make re-runs instant when pyproject.toml has not changed.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check
BASE := $(VENV)/.stamp-base
TEST := $(VENV)/.stamp-test
APP := $(VENV)/.stamp-app
BENCH := $(VENV)/.stamp-bench

.PHONY: demo test app bench lint clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

$(BASE): pyproject.toml | $(PY)
	$(PIP) install --quiet -e .
	@touch $@

$(TEST): pyproject.toml $(BASE)
	$(PIP) install --quiet -e ".[test]"
	@touch $@

$(APP): pyproject.toml $(BASE)
	$(PIP) install --quiet -e ".[app]"
	@touch $@

$(BENCH): pyproject.toml $(BASE)
	$(PIP) install --quiet -e ".[bench]"
	@touch $@

demo: $(BASE)
	$(VENV)/bin/carbonpark demo --out out/demo

test: $(TEST)
	$(PY) -m ruff check optimizer tests benchmarks data/make_demo.py
	$(PY) -m pytest -n 2 -q

app: $(APP)
	@test -f app.py || { echo "app.py is not there yet: the Streamlit app lands with its own issue"; exit 1; }
	$(VENV)/bin/streamlit run app.py

bench: $(BENCH)
	@for b in benchmarks/bench_*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

lint: $(TEST)
	$(PY) -m ruff check optimizer tests benchmarks data/make_demo.py

clean:
	rm -rf $(VENV) out .pytest_cache
