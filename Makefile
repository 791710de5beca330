# The two set-up commands from the README:
#   make install   – a virtual environment with pgpcodec, its extras and the NLTK data
#   make test      – the whole test suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# Offline machines copy the NLTK data from here; online ones download it.
NLTK_SOURCE ?= ../shared/nltk_data

.PHONY: install test
install:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[all]'
	if [ -d "$(NLTK_SOURCE)" ]; then $(BIN)/pgpcodec setup-nltk --from "$(NLTK_SOURCE)"; else $(BIN)/pgpcodec setup-nltk; fi

test:
	$(BIN)/python -m pytest -n 2
