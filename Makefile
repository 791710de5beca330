# The two set-up commands from the README:
#   make install   – a virtual environment with pgpcodec, its extras and the NLTK data
#   make test      – the whole test suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# Offline machines copy the NLTK data from here; online ones download it.
NLTK_SOURCE ?= ../shared/nltk_data
# The cheng2020 codec's CompressAI, without its torchvision requirement (docs/codecs.md).
COMPRESSAI ?= compressai==1.2.0

.PHONY: install test
install:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[all]'
	$(BIN)/python -m pip install --quiet --no-deps $(COMPRESSAI)
	if [ -d "$(NLTK_SOURCE)" ]; then $(BIN)/pgpcodec setup-nltk --from "$(NLTK_SOURCE)"; else $(BIN)/pgpcodec setup-nltk; fi

test:
	$(BIN)/python -m pytest -n 2
