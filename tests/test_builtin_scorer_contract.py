"""The built-in model-free scorers pass the same contract as third-party ones."""

from pgpcodec.testing.scorer_contract import ScorerContractTests


class TestUniformScorer(ScorerContractTests):
    scorer_name = "uniform"


class TestRegionsScorer(ScorerContractTests):
    scorer_name = "regions"
    huge_size = (2000, 1500)  # builds float distance maps per box and pixel; 3 MP shows it copes

    def regions_for(self, width, height):
        return ((0, 0, max(1, width // 2), max(1, height // 2)),)
