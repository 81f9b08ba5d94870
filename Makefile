# Two entry points for a fresh machine: `make run` and `make test`. Everything installs into .venv.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install run test check lint format bench clean screenshots translations docs

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# The CPU build of torch, pinned: an unpinned torch would pull a multi-GB CUDA build.
	$(PY) -m pip install --quiet "torch==2.13.0"
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(VENV)/bin/diaspora demo
	$(VENV)/bin/diaspora embeddings sync
	$(VENV)/bin/diaspora serve --host $${HOST:-127.0.0.1} --port $${PORT:-8000}

test: $(STAMP)
	$(PY) -m pytest

# The quick loop while changing code: lint, then the suite without browser and slow tests, on two workers.
# The fuzz module is left out whole: all of it is slow, and merely collecting it generates its cases.
check: lint
	$(PY) -m pytest -q -n 2 -m "not slow and not browser" --ignore=tests/test_api_fuzz.py

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	# mypy cannot follow the editable install's import hook; a link tree shows it the installed names.
	mkdir -p .mypy_src/diaspora
	for pkg in platform matching ingest; do ln -sfn ../../$$pkg .mypy_src/diaspora/$$pkg; done
	MYPYPATH=.mypy_src $(VENV)/bin/mypy -p diaspora.platform -p diaspora.matching -p diaspora.ingest

# The README's screenshots: the browser journeys, saving each main page into docs/screenshots/.
screenshots: $(STAMP)
	DIASPORA_SCREENSHOTS_DIR=docs/screenshots $(PY) -m pytest tests/test_browser.py -q

# Extract the interface's strings and merge them into each language's catalogue.
translations: $(STAMP)
	$(PY) tools/update_translations.py

# Redraw docs/architecture.md's dependency diagram from the code's imports (a test checks it is current).
docs: $(STAMP)
	$(PY) tools/architecture.py

format: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .mypy_src .ruff_cache test-artifacts
