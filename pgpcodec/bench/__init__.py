"""``pgpcodec bench``: rate–accuracy sweeps, BD-rates, ablations and plots (docs/bench.md).

Modules: :mod:`.dataset` (manifests), :mod:`.variants` (what is compared),
:mod:`.metrics` (PSNR, ROI-PSNR), :mod:`.evaluators` (the evaluator plugin
type; the built-in evaluators are a plugin package), :mod:`.jsonl_store` (the append-only files), :mod:`.bdrate`,
:mod:`.plots` and :mod:`.runner` (the sweep itself).
"""
