# ocikit.images: set up, test, demo, benchmark.
#   make demo   - install what is missing, start a local registry, run docs/demo/demo.yml twice
#   make test   - install what is missing, run the lint gates, ansible-test sanity, units and integration, the package gates
#   make bench  - ours vs skopeo side by side (not part of CI)

PYTHON ?= python3.11
VENV := .venv
VPY := $(CURDIR)/$(VENV)/bin/python
# ansible-test keeps state under $HOME/.ansible/test (sanity virtualenvs, a pip bootstrap script, ssh keys):
# its runs get a home inside the work tree, so nothing of the user's is read or overwritten.
ANSIBLE_TEST_HOME := $(CURDIR)/.ansible-test-home
ANSIBLE_TEST := HOME=$(ANSIBLE_TEST_HOME) $(CURDIR)/$(VENV)/bin/ansible-test
COLL_ROOT := $(CURDIR)/build/collections
COLL := $(COLL_ROOT)/ansible_collections/ocikit/images
PIP_CACHE_SCRIPT := $(ANSIBLE_TEST_HOME)/.ansible/test/cache/get_pip_24_2.py
TEST_PY := 3.11

.PHONY: help deps system-deps venv collection lint package sanity units integration test demo bench clean

help:
	@sed -n '2,4p' Makefile

system-deps:
	@sh .ci/system-deps.sh

$(VENV)/.stamp: tests/requirements-dev.txt
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "ERROR: $(PYTHON) not found; Python 3.11 is required (set PYTHON=...)." >&2; exit 1; }
	@$(PYTHON) -c 'import ensurepip, venv' 2>/dev/null || { echo "ERROR: $(PYTHON) lacks venv/ensurepip; install python3-venv." >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r tests/requirements-dev.txt || { echo "ERROR: pip could not install tests/requirements-dev.txt (is PyPI reachable?)." >&2; exit 1; }
	@touch $@

venv: $(VENV)/.stamp

# ansible-test refuses a symlinked collection root, so copy the work tree (tracked and new files,
# not ignored ones) to the place it expects. The copy gets a git index of its own: inside this
# repository's work tree ansible-test would otherwise ask our git, which ignores build/, and find
# no files at all.
collection:
	@rm -rf $(COLL) && mkdir -p $(COLL)
	@git ls-files -z --cached --others --exclude-standard | xargs -0 -I{} sh -c 'test -e "{}" && echo "{}"' | \
		tar --files-from=- -cf - | tar -xf - -C $(COLL)
	@cd $(COLL) && git init -q && git add -A

# ansible-test downloads a pip bootstrap script from a host this network cannot reach.
$(PIP_CACHE_SCRIPT): .ci/get_pip_standin.py
	@mkdir -p $(dir $@) && cp $< $@

deps: system-deps venv $(PIP_CACHE_SCRIPT)

sanity: deps collection
	cd $(COLL) && $(ANSIBLE_TEST) sanity --python $(TEST_PY) --color no

# Then the benchmark scripts' own unit tests (their report and log readers; the benchmarks themselves are not run).
units: deps collection
	cd $(COLL) && $(ANSIBLE_TEST) units --python $(TEST_PY) --requirements --color no
	cd $(COLL)/tests/benchmarks && $(VPY) -B -m pytest -q -p no:cacheprovider test_report.py test_timeline.py

integration: deps collection
	cd $(COLL) && $(ANSIBLE_TEST) integration --python $(TEST_PY) --requirements --color no

# Galaxy-quality gates (.ci/quality.sh): ansible-lint (production profile), antsibull-docs and antsibull-changelog lint;
# then galaxy-importer on the built tarball, which is installed into a fresh path to run the demo from. About 1.5 min together.
lint: deps collection
	@sh .ci/quality.sh lint

package: deps collection
	@sh .ci/quality.sh package

test: lint sanity units integration package
	@echo "All tests passed."

demo: deps collection
	@PATH=$(CURDIR)/$(VENV)/bin:$$PATH sh docs/demo/run.sh "$(COLL_ROOT)"

# Every row of issue 10 (P1-P10; medians of 5 runs per side, of 3 for the sync rows; BENCH_ARGS=--big adds the 4 GiB layer), then docs/performance.md and its chart
# from this run's .bench/*.json alone. matplotlib (the chart) is a benchmark-only dependency, installed here only.
# A failed benchmark still renders what it measured, and make bench then fails.
bench: deps collection
	@$(VENV)/bin/pip install --quiet --disable-pip-version-check -r tests/benchmarks/requirements.txt
	@rm -f .bench/*.json
	@status=0; \
	PATH=$(CURDIR)/$(VENV)/bin:$$PATH ANSIBLE_COLLECTIONS_PATH=$(COLL_ROOT) $(VPY) tests/benchmarks/run.py --repeat 5 $(BENCH_ARGS) || status=1; \
	PATH=$(CURDIR)/$(VENV)/bin:$$PATH $(VPY) tests/benchmarks/sync.py --repeat 3 || status=1; \
	PATH=$(CURDIR)/$(VENV)/bin:$$PATH ANSIBLE_COLLECTIONS_PATH=$(COLL_ROOT) $(VPY) tests/benchmarks/startup.py || status=1; \
	$(VPY) tests/benchmarks/render.py || status=1; \
	exit $$status

clean:
	rm -rf build tests/output .bench .demo .ansible-test-home
