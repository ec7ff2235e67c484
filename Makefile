# Two commands set everything up on a fresh machine:
#   make demo   - install, then grade the bundled sample class (samples/class) into out/sample-class
#   make test   - install, then run the whole test suite
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install demo selfcheck-demo check submission test goldens stubs bench catalogues

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# The exact CPU build first, so that the package's torch range needs no download.
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(PY) -m grader grade samples/class --out out/sample-class

selfcheck-demo: $(STAMP)
	$(PY) -m grader check --dir solutions
	-$(PY) -m grader check --dir samples/student

check: $(STAMP)
	$(PY) -m grader check --dir exercises

# submission.zip: the six exercise files and a manifest (hashes, grader version), ready to hand in.
submission: $(STAMP)
	$(PY) -m grader submission --dir exercises --output submission.zip

test: $(STAMP)
	$(PY) -m pytest -q

# Rewrite tests/goldens/ from the current templates; review with `git diff tests/goldens`.
goldens: $(STAMP)
	GRADER_UPDATE_GOLDENS=1 $(PY) -m pytest -q tests/test_reports.py -k golden

catalogues: $(STAMP)
	$(PY) -m grader.catalogues

stubs: $(STAMP)
	$(PY) -m grader.stubs

bench: $(STAMP)
	$(PY) bench/selfcheck_vs_import.py
	PATH=$(CURDIR)/$(VENV)/bin:$$PATH $(PY) bench/batch_vs_nbgrader.py
