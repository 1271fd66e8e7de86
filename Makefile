# minqing task runner. Every target creates or reuses the virtual environment.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)
PORT ?= 8001

.PHONY: demo test test-paddle test-fast lint bench bench-smoke samples clean

# a virtual environment that no longer works (its interpreter removed or moved, minqing not
# importable) is set up again instead of being reused
ifneq ($(shell $(BIN)/python -c "import minqing" >/dev/null 2>&1 && echo ok),ok)
$(shell rm -f $(VENV)/.installed-*)
endif

$(STAMP): pyproject.toml
	$(BIN)/python -c "import sys" >/dev/null 2>&1 || { rm -rf $(VENV); $(PYTHON) -m venv $(VENV); }
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	rm -f $(VENV)/.installed-*; touch $(STAMP)

## demo: set up, ingest the bundled sample notebooks, serve them in Datasette
demo: $(STAMP)
	$(BIN)/minqing demo --port $(PORT)

## test: set up and run the whole test suite, on every core (TEST_WORKERS=1 for one process)
TEST_WORKERS ?= auto
test: $(STAMP)
	$(BIN)/python -m pytest -q -ra -n $(TEST_WORKERS) --dist loadscope --no-loadscope-reorder

## lint: the gates CI runs before the tests: ruff's rules, ruff's formatting, mypy
## (all three run; it fails if any failed)
lint: $(STAMP)
	@status=0; \
	$(BIN)/ruff check . || status=1; \
	$(BIN)/ruff format --check . || status=1; \
	$(BIN)/python tools/typecheck.py || status=1; \
	exit $$status

## test-paddle: the optional paddleocr backend (extra `paddle`) in its own venv, since the
## extra swaps OpenCV for the contrib build (needs Debian's libgl1) and pins numpy/PyYAML
PADDLE_VENV ?= .venv-paddle
test-paddle:
	test -x $(PADDLE_VENV)/bin/python || $(PYTHON) -m venv $(PADDLE_VENV)
	$(PADDLE_VENV)/bin/python -m pip install -q --upgrade pip
	$(PADDLE_VENV)/bin/python -m pip install -q -e '.[dev,paddle]'
	$(PADDLE_VENV)/bin/python -m pytest -q -ra tests/test_ocr_paddle.py tests/test_ocr.py

## test-fast: skip slow and browser tests
test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadscope --no-loadscope-reorder -m "not slow and not browser"

## bench: run the benchmarks (prints numbers with the machine and command)
bench: $(STAMP)
	$(BIN)/python -m benchmarks.ingest

## bench-smoke: every benchmark once at a tiny size (numbers meaningless), so that none of
## them rots when the schema or an interface changes; CI runs it after the tests
bench-smoke: $(STAMP)
	@set -e; tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	for args in \
	  "ingest samples/shiqiao-liming --repeat 1" \
	  "ocr --quick --cold-start-only" \
	  "ocr --captures --pages 1 --types pdf,form-vertical" \
	  "normalise --repeat 1 --kind clean --kind skewed" \
	  "entries --bypass" \
	  "entries --indep dev --bypass" \
	  "archive --entries 2000 --requests 3 --no-before --out $$tmp/archive" \
	  "compile --entries 200" \
	  "cluster --copies 1" \
	  "merge --entries 2000 --cadres 200" \
	  "soak --clients 2 --requests 5 --reviewers 1 --saves 3 --ingests 1" \
	  "fuzz_ingest --cases 4" \
	  "search_recall --sets samples --words 20 --cache $$tmp/search" \
	  "status --dev" \
	  "classify_cv --status --folds 2" \
	  "learning_curve --split dev --repeats 1 --sizes 0,10" \
	  "indep_links --split dev" \
	  "train_boundary --out $$tmp/boundary.json"; do \
	  echo "== benchmarks.$$args"; \
	  $(BIN)/python -m benchmarks.$$args > "$$tmp/out.txt" 2>&1 || { cat "$$tmp/out.txt"; exit 1; }; \
	  tail -n 2 "$$tmp/out.txt"; \
	done

## samples: regenerate the sample notebooks (needs Debian's fonts-lxgw-wenkai, fonts-arphic-ukai)
samples: $(STAMP)
	$(BIN)/python -m samples.make_samples

## clean: remove what the targets built (the virtual environments included); archives
## made by `make demo` too, never an archive given elsewhere
clean:
	rm -rf $(VENV) $(PADDLE_VENV) minqing-demo-archive .pytest_cache .mypy_cache .ruff_cache build *.egg-info
