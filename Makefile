# Two commands do all set-up on a fresh machine (Python >= 3.11, no GPU needed):
#   make demo   create .venv if missing, install, run the main job on the synthetic default
#   make test   create .venv if missing, install with test tools, run the test suite
# torch is installed first as the CPU build (torch==2.13.0); the package's ranges
# are satisfied by it, so no CUDA build is pulled in.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   ?= .venv
PY     := $(VENV)/bin/python
TORCH  ?= torch==2.13.0
PIP    := $(PY) -m pip --disable-pip-version-check --quiet

.PHONY: demo test env clean-env

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

test: $(VENV)/.installed
	$(PY) -m pytest -q --durations=15

clean-env:
	rm -rf $(VENV)
