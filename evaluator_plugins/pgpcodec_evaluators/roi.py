"""The ``roi`` evaluator: the fidelity of the regions needed to answer (ROI-PSNR, dB).

No VLM needed; every row needs regions.
"""

from __future__ import annotations

from pgpcodec.bench.dataset import Row
from pgpcodec.bench.evaluators import Evaluator, Sample
from pgpcodec.errors import UsageError


class RoiEvaluator(Evaluator):
    """Scores a sample by the PSNR of the union of its regions."""

    name = "roi"
    metric = "ROI-PSNR (dB)"

    def check(self, row: Row) -> None:
        if not row.regions:
            raise UsageError(
                "has no regions, which the roi evaluator needs (it scores the PSNR of the regions needed to answer)",
                "use the openai evaluator (a VLM server) for a dataset without regions, such as a VLMEvalKit TSV",
                parameter="evaluator",
            )

    def evaluate(self, sample: Sample) -> dict:
        return {"score": sample.metrics["roi_psnr"]}
