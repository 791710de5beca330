"""The built-in model-free scorers pass the same contract as third-party ones."""

from pgpcodec.testing.scorer_contract import ScorerContract


class TestUniformScorer(ScorerContract):
    scorer_name = "uniform"


class TestRegionsScorer(ScorerContract):
    scorer_name = "regions"
    huge_size = (2000, 1500)  # per-pixel float maps; 3 MP is plenty to show it copes

    def regions_for(self, width, height):
        return ((0, 0, max(1, width // 2), max(1, height // 2)),)
