"""Pure maths of the prompt-guided filter, numpy in and numpy out: no plugins, no files.

:mod:`.grid` (tiling and block-grid geometry, resizing), :mod:`.scores`
(tile scores onto blocks), :mod:`.sigma` (score → σ maps), :mod:`.filters`
and :mod:`.blur` (the spatially varying Gaussian of both profiles).
"""
