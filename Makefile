# carbonpark: `make demo` and `make test` do everything on a fresh machine.
# Installs take the versions in requirements-lock.txt (tested together; `make lock`
# regenerates it from pyproject.toml's ranges). Stamps make re-runs instant until
# pyproject.toml or the lock changes. `make test-latest` tries the newest of everything.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check
LOCK := requirements-lock.txt
BASE := $(VENV)/.stamp-base
TEST := $(VENV)/.stamp-test
APP := $(VENV)/.stamp-app
BENCH := $(VENV)/.stamp-bench
LATEST := .venv-latest
LINTED := optimizer tests benchmarks data/make_demo.py

.PHONY: demo test test-latest app bench lint lock clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

$(BASE): pyproject.toml $(LOCK) | $(PY)
	$(PIP) install --quiet -c $(LOCK) -e .
	@touch $@

$(TEST): pyproject.toml $(LOCK) $(BASE)
	$(PIP) install --quiet -c $(LOCK) -e ".[test]"
	@touch $@

$(APP): pyproject.toml $(LOCK) $(BASE)
	$(PIP) install --quiet -c $(LOCK) -e ".[app]"
	@touch $@

$(BENCH): pyproject.toml $(LOCK) $(BASE)
	$(PIP) install --quiet -c $(LOCK) -e ".[bench]"
	@touch $@

demo: $(BASE)
	$(VENV)/bin/carbonpark demo --out out/demo

test: $(TEST)
	$(PY) -m ruff check $(LINTED)
	$(PY) -m pytest -n 2 -q

# The newest release of every dependency that pyproject.toml allows, in a venv of its
# own made afresh: drift shows up here before a user meets it.
test-latest:
	rm -rf $(LATEST)
	$(PYTHON) -m venv $(LATEST)
	$(LATEST)/bin/python -m pip --disable-pip-version-check install --quiet --upgrade pip
	$(LATEST)/bin/python -m pip --disable-pip-version-check install --quiet --upgrade -e ".[test]"
	$(LATEST)/bin/python -c "import optimizer; print(optimizer.show_versions())"
	$(LATEST)/bin/python -m ruff check $(LINTED)
	$(LATEST)/bin/python -m pytest -n 2 -q -p no:cacheprovider

# Regenerate the lock from pyproject.toml's ranges (newest versions that satisfy them),
# for Python 3.11 and newer; then run `make test` and commit the lock with the change.
lock: $(BASE)
	$(PIP) install --quiet -c $(LOCK) -e ".[lock]"
	$(VENV)/bin/uv pip compile pyproject.toml --universal --python-version 3.11 \
		--extra test --extra app --extra bench --extra dask --upgrade --no-header --quiet -o $(LOCK)

app: $(APP)
	@test -f app.py || { echo "app.py is not there yet: the Streamlit app lands with its own issue"; exit 1; }
	$(VENV)/bin/streamlit run app.py

bench: $(BENCH)
	@for b in benchmarks/bench_*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

lint: $(TEST)
	$(PY) -m ruff check $(LINTED)

clean:
	rm -rf $(VENV) $(LATEST) out .pytest_cache
