"""Every default and limit of pgpcodec, in one place.

The core names no plugin anywhere else (tests/test_architecture.py checks
it): the API, the CLI, the sidecar and the bench read the plugin names they
fall back on from here, so changing a default is one line.

The filter numbers are the paper's operating point: what the prefiltered
runs behind its Table I used (the reference repository's results.json and
bdrate_calc.py), not its script's argparse defaults (50 / 0.5 / 10).
"""

from __future__ import annotations

# -- plugin names the core falls back on ------------------------------------------------
DEFAULT_SCORER = "tinyclip57"
"""The API's, the CLI's and the sidecar's scorer."""
DEFAULT_CODEC = "jpeg"
DEFAULT_PROMPT_PROCESSOR = "nltk"
NO_PROMPT_PROCESSOR = "none"
"""The processor that passes the prompt through as it is (the bench's ``no-prompt-prep`` ablation)."""
MODEL_DIRECTORY_SCORER = "tinyclip"
"""The scorer a path to an exported model directory runs (it takes the path as ``model``)."""

BENCH_SCORER = "regions"
"""The bench's ``prefilter`` variants: its dev set has regions, and it needs no model."""
BENCH_CODECS = ("jpeg", "heic", "vvenc")
"""The bench's codecs when none are given (those installed)."""
ABLATION_SCORER = "uniform"
"""The bench's ``uniform`` variant: every block scores 1, the paper's "w/o TinyCLIP" ablation."""
DEFAULT_EVALUATOR = "roi"
"""The bench's evaluator: ROI-PSNR of the regions needed to answer, no VLM needed (plugin ``pgpcodec_evaluators``)."""

# -- filter settings (PrefilterSettings) ------------------------------------------------
PROFILES = ("native", "reference")
DEFAULT_PROFILE = "native"
DEFAULT_SIGMA_MAP = "exponential"
COMBINED_SIGMA_MAP = ("linear", 0.0)
"""The sigma map and σ_1 of combined scorers (``A+B``): their relevance runs from 0 to 1, so σ is 0 at
relevance 1 and rises linearly to σ_max at 0 (:mod:`pgpcodec.combine`)."""
DEFAULT_SIGMA_ONE = 0.2
DEFAULT_SIGMA_MAX = 3.0
DEFAULT_LOGIT_SCALE = 20.0
DEFAULT_KERNEL_SIZE = 11
DEFAULT_TRUNCATE = 3.0
SIGMA_MAX_LIMIT = 100.0
"""Largest σ_max accepted (pixels). The native filter's memory follows the image, not σ
(:mod:`pgpcodec.maths.blur` folds wider kernels), but its time grows with σ; see docs/embedding.md."""
KERNEL_SIZE_LIMIT = 255
"""Largest kernel of the ``reference`` profile (its time grows with the square of the size)."""
TRUNCATE_LIMIT = 10.0
"""Largest kernel radius of the ``native`` profile, in σ."""

# -- tiling (tile scorers, and the reference profile's working grid) --------------------
DEFAULT_TILE = 224
"""CLIP's input size: the side of one tile."""
DEFAULT_TARGET_TILES = 24
TILINGS = ("reference", "proxy")
DEFAULT_TILING = "reference"
