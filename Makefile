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
# The sample experiment: sized so that `make run` fits in 8 minutes on 2 cores with the local
# model (see the README's "The sample run"; benchmarks/bench_local.py uses the same cells).
# -control-no-code is a positive control (must come out worse); -haiku has the base's body,
# so on the local model it is the base's answers again (must show no difference). Add
# variants (SAMPLE_VARIANTS="...") at about 4 minutes each on 2 cores.
SAMPLE_VARIANTS ?= python-pro-backend python-pro-backend-control-no-code \
                   python-pro-backend-haiku
SAMPLE_TASKS    ?= orders-filter-endpoint orders-slow-query pagination-bug \
                   webhook-payload-model redis-product-cache login-rate-limit \
                   idempotent-payments celery-order-email typed-settings
# Measured on 2 idle cores for the default sample (README); scales with the answers asked for.
SAMPLE_SECONDS_PER_ANSWER ?= 15

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
	@n=$$(( $(words $(SAMPLE_VARIANTS)) * $(words $(SAMPLE_TASKS)) * $(REPEATS) )); \
	echo "make run: $(words $(SAMPLE_VARIANTS)) variants x $(words $(SAMPLE_TASKS)) tasks x $(REPEATS) repeat(s) = $$n answers;" \
	     "on the local model about $$(( (n * $(SAMPLE_SECONDS_PER_ANSWER) + 59) / 60 )) min on 2 idle cores" \
	     "(longer while other programs keep the cores busy; with ANTHROPIC_API_KEY set it runs Claude instead)"
	$(VENV)/bin/agentlab run $(addprefix --variant ,$(SAMPLE_VARIANTS)) \
	    $(addprefix --task-id ,$(SAMPLE_TASKS)) --repeats $(REPEATS) --score --out $(OUT)

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
