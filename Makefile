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
LINTED := optimizer tests benchmarks data/make_demo.py app.py

.PHONY: demo test test-latest app bench lint lock clean system

# Debian tools the tests use as independent readers and renderers: GDAL's own command-line
# tools (ogrinfo, gdalinfo) read every export back; headless Chromium renders the report.
# Installed with apt-get when missing (as root, or through sudo when it is there).
SYSTEM_TOOLS := ogrinfo:gdal-bin gdalinfo:gdal-bin chromium:chromium
system:
	@missing=""; for t in $(SYSTEM_TOOLS); do command -v $${t%%:*} >/dev/null 2>&1 || \
		missing="$$missing $${t#*:}"; done; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ]; then SUDO=""; elif command -v sudo >/dev/null; then SUDO=sudo; \
		else echo "make: please install$$missing (Debian: apt-get install$$missing)"; exit 1; fi; \
		echo "make: installing$$missing with apt-get"; \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq \
			--no-install-recommends $$(echo $$missing | tr ' ' '\n' | sort -u) >/dev/null; \
	fi

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

$(BASE): pyproject.toml $(LOCK) | $(PY)
	$(PIP) install --quiet -c $(LOCK) -e .
	@touch $@

$(TEST): pyproject.toml $(LOCK) $(BASE)
	$(PIP) install --quiet -c $(LOCK) -e ".[test,app]"
	@touch $@

$(APP): pyproject.toml $(LOCK) $(BASE)
	$(PIP) install --quiet -c $(LOCK) -e ".[app]"
	@touch $@

$(BENCH): pyproject.toml $(LOCK) $(BASE)
	$(PIP) install --quiet -c $(LOCK) -e ".[bench]"
	@touch $@

demo: $(BASE)
	$(VENV)/bin/carbonpark demo --out out/demo

test: $(TEST) system
	$(PY) -m ruff check $(LINTED)
	$(VENV)/bin/lint-imports --no-cache
	$(PY) -m mypy
	$(PY) -m pytest -n 2 -q

# The newest release of every dependency that pyproject.toml allows, in a venv of its
# own made afresh: drift shows up here before a user meets it.
test-latest: system
	rm -rf $(LATEST)
	$(PYTHON) -m venv $(LATEST)
	$(LATEST)/bin/python -m pip --disable-pip-version-check install --quiet --upgrade pip
	$(LATEST)/bin/python -m pip --disable-pip-version-check install --quiet --upgrade -e ".[test,app]"
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
	$(VENV)/bin/carbonpark app

bench: $(BENCH) $(TEST) system
	@for b in benchmarks/bench_*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

# ruff; import-linter's contracts (pyproject.toml: the stages' order, no streamlit in the
# library); mypy on optimizer/.
lint: $(TEST)
	$(PY) -m ruff check $(LINTED)
	$(VENV)/bin/lint-imports --no-cache
	$(PY) -m mypy

clean:
	rm -rf $(VENV) $(LATEST) out .pytest_cache
