"""TinyCLIP model code, vendored from the MIT-licensed ``tinyclip`` package.

See SOURCE.md for where it comes from and what was changed. The package's
original ``__init__`` imported torchvision (transforms) at import time;
this one imports nothing, so ``model`` and ``tokenizer`` load with torch,
ftfy and regex only (the ``export`` extra).
"""

from pathlib import Path

CONFIG_DIR = Path(__file__).parent / "model_configs"
BPE_VOCAB = Path(__file__).parent / "bpe_simple_vocab_16e6.txt.gz"
