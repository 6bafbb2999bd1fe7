# Two commands do all set-up on a fresh machine (Python >= 3.11, no GPU needed):
#   make demo   create .venv if missing, install, run the main job on the synthetic default
#   make test   create .venv if missing, install with test tools and the spark extra (and Chromium via apt-get when absent),
#               check lint and format (ruff), run the test suite
# torch is installed first as the CPU build (torch==2.13.0); the package's ranges
# are satisfied by it, so no CUDA build is pulled in.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   ?= .venv
PY     := $(VENV)/bin/python
TORCH  ?= torch==2.13.0
PIP    := $(PY) -m pip --disable-pip-version-check --quiet

SUDO   := $(shell [ "$$(id -u)" = 0 ] || command -v sudo)

.PHONY: demo test env browser lab clean-env

$(VENV)/.installed: pyproject.toml Makefile
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "interestgraph needs Python >= 3.11, found " + sys.version.split()[0]'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@echo "installing $(TORCH) (CPU build) and interestgraph[dev] into $(VENV) ..."
	$(PIP) install "$(TORCH)"
	$(PIP) install -e ".[dev]"
	@touch $@

env: $(VENV)/.installed

demo: $(VENV)/.installed
	$(VENV)/bin/interestgraph demo --out demo

# The browser test (tests/viz/test_browser.py) needs Chromium; Debian's package is installed when absent.
browser:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || { \
	  echo "installing chromium (apt-get) for the browser test ..."; \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null 2>&1 || \
	  { $(SUDO) apt-get update -q >/dev/null 2>&1 && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null 2>&1; } || \
	  echo "could not install chromium: the browser test skips (and fails under CI=true)"; }

# The Spark tests (tests/spark) need the spark extra (pyspark, about 45 s to install) and Java 17+.
$(VENV)/.spark: $(VENV)/.installed
	@echo "installing interestgraph[spark] (pyspark) into $(VENV) for the Spark tests ..."
	$(PIP) install -e ".[spark]"
	@touch $@

# Lint and format checks first (ruff, configured in pyproject.toml), then the suite.
test: $(VENV)/.installed $(VENV)/.spark browser
	$(VENV)/bin/ruff check interestgraph tests benchmarks
	$(VENV)/bin/ruff format --check interestgraph tests benchmarks
	$(PY) -m pytest -q --durations=15

# JupyterLab on the notebooks (installs the notebooks extra once).
$(VENV)/.notebooks: $(VENV)/.installed
	@echo "installing interestgraph[notebooks] (jupyterlab) into $(VENV) ..."
	$(PIP) install -e ".[notebooks]"
	@touch $@

lab: $(VENV)/.notebooks
	cd notebooks && ../$(VENV)/bin/jupyter lab

clean-env:
	rm -rf $(VENV)
