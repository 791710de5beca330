"""``pgpcodec bench``: rate–accuracy sweeps, BD-rates, ablations and plots (docs/bench.md).

Modules: :mod:`.dataset` (manifests), :mod:`.variants` (what is compared),
:mod:`.metrics` (PSNR, ROI-PSNR), :mod:`.evaluators` (the evaluator plugin
type), :mod:`.matching` (VLM reply scoring), :mod:`.bdrate`, :mod:`.plots`
and :mod:`.runner` (the sweep itself).
"""
