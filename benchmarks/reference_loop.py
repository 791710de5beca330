"""The baseline filter: the reference implementation's per-block loop, rebuilt without OpenCV.

The paper's code resizes the image to its working grid, then walks the
stride × stride blocks in a Python loop and calls ``cv2.GaussianBlur(block,
(k, k), sigma)`` on each (k = 11, OpenCV's default reflect-101 border at the
block's own edges, blocks with σ ≤ 1e-6 copied). Here each block blur is two
``scipy.ndimage.correlate1d`` passes with the same taps and border
(scipy's ``mirror`` is reflect-101), in float32, rounded to uint8.

It is a baseline for speed only, and a fair one: per block it is a C loop
over an 11-tap kernel, as OpenCV's is, so the Python loop costs little
when blocks are few (24 blocks for a 1 MP photo at the paper's N = 24).
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import correlate1d

from pgpcodec.maths.filters import UNTOUCHED_SIGMA, gaussian_kernel


def block_loop(image: np.ndarray, block_sigma: np.ndarray, stride: int, kernel_size: int | None = 11) -> np.ndarray:
    """Blur each stride × stride block of ``image`` with its own σ, one block at a time.

    ``kernel_size=None`` sizes each block's kernel to its σ (2·round(3σ) + 1
    taps, as the native filter does) instead of the paper's fixed 11.
    """
    out = np.empty_like(image)
    rows, cols = block_sigma.shape
    for by in range(rows):
        for bx in range(cols):
            y0, x0 = by * stride, bx * stride
            block = image[y0 : y0 + stride, x0 : x0 + stride]
            sigma = float(block_sigma[by, bx])
            if sigma <= UNTOUCHED_SIGMA:
                out[y0 : y0 + stride, x0 : x0 + stride] = block
                continue
            size = kernel_size or 2 * int(3 * sigma + 0.5) + 1
            taps = gaussian_kernel(sigma, size).astype(np.float32)
            blurred = correlate1d(block.astype(np.float32), taps, axis=0, mode="mirror")
            blurred = correlate1d(blurred, taps, axis=1, mode="mirror")
            out[y0 : y0 + stride, x0 : x0 + stride] = np.clip(np.rint(blurred), 0, 255)
    return out
