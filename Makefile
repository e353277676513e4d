# agentlab: two commands do all the set-up on a fresh machine.
#   make run    install everything (first time: ~8 min, llama.cpp compiles) and run the
#               sample experiment on the embedded local model (no API key, no network)
#   make test   install everything and run the test suite
PYTHON ?= python3
VENV   ?= .venv
PY      = $(VENV)/bin/python
STAMP   = $(VENV)/.agentlab-installed
# A portable llama.cpp build (AVX2/FMA, no -march=native): the wheel pip caches runs on any
# x86-64-v3 machine; measured cost vs a native build is in the README.
export CMAKE_ARGS ?= -DGGML_NATIVE=OFF
OUT    ?= out/sample
REPEATS ?= 1

.PHONY: setup system run test lint browser-test clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[local,agent,dev]'
	touch $(STAMP)

setup: $(STAMP)

# Debian packages the tests need: Chromium (the JupyterLab browser test) and bubblewrap +
# socat (the sandbox of agentic trials). Both scripts are idempotent.
system:
	bash .ci/install-browser.sh
	bash .ci/install-sandbox.sh

run: setup
	$(VENV)/bin/agentlab run --repeats $(REPEATS) --score --out $(OUT)

test: setup system
	$(PY) -m pytest -q

# The JupyterLab-in-Chromium test alone (make test runs it too when Chromium is installed).
browser-test: setup system
	$(PY) -m pytest -m browser -q

lint: setup
	$(PY) -m mypy --strict agentlab
	$(PY) -m ruff check .

clean:
	rm -rf $(VENV) .agentlab out
