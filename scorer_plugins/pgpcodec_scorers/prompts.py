"""Prompt processors: ``nltk`` (the paper's preprocessing) and ``none``."""

from __future__ import annotations

import threading
from collections.abc import Callable

from pgpcodec import hookimpl
from pgpcodec.interfaces import PromptProcessor

INSTRUCTION_PHRASES = (
    " Please answer yes or no.",
    " Answer the question using a single word or phrase.",
    "\nAnswer with the option's letter from the given choices directly.",
    "Please select the correct answer from the options above. \n",
    "Options:\n",
    "Question: ",
    "Hint: ",
    "\nAnswer the question directly.",
)
STRIPPED_CHARACTERS = ".?,"


def strip_instructions(prompt: str) -> str:
    """Remove the benchmark instruction phrases and the characters . ? ,"""
    for phrase in INSTRUCTION_PHRASES:
        prompt = prompt.replace(phrase, " ")
    for char in STRIPPED_CHARACTERS:
        prompt = prompt.replace(char, " ")
    return " ".join(prompt.split())


def pos_priority(tag: str) -> int:
    """Lower is kept longer: nouns, then adjectives, then verbs, then the rest."""
    for rank, prefix in enumerate(("NN", "JJ", "VB")):
        if tag.startswith(prefix):
            return rank
    return 3


def prune_to_fit(words: list[str], tags: list[str], fits: Callable[[str], bool]) -> list[str]:
    """Drop the fewest words, lowest POS priority first (later words first within a rank), so the text fits.

    Keeps the original order. Binary search on how many to drop: fewer
    words never need more tokens.
    """
    if fits(" ".join(words)):
        return words
    order = sorted(range(len(words)), key=lambda i: (-pos_priority(tags[i]), -i))

    def kept(n_drop: int) -> list[str]:
        dropped = set(order[:n_drop])
        return [w for i, w in enumerate(words) if i not in dropped]

    low, high = 1, len(words)
    while low < high:
        mid = (low + high) // 2
        if fits(" ".join(kept(mid))):
            high = mid
        else:
            low = mid + 1
    return kept(low)


def _wordnet_pos(tag: str) -> str:
    return {"J": "a", "V": "v", "R": "r"}.get(tag[:1], "n")


def english_wordnet():
    """NLTK's WordNet reader for lemmatisation, loaded without its multilingual sense map.

    On every load NLTK maps WordNet senses for the Open Multilingual Wordnet
    (two passes over index.sense): about 4 s of a 5 s load here, for data
    that lemmatisation never touches.
    """
    import warnings

    import nltk
    from nltk.corpus.reader.wordnet import WordNetCorpusReader

    class EnglishWordNet(WordNetCorpusReader):
        def map_wn(self, version="wordnet"):
            return None

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "multilingual functions are not available": not used here
        return EnglishWordNet(nltk.data.find("corpora/wordnet"), None)


class NltkPromptProcessor(PromptProcessor):
    """Instruction phrases removed, stop words dropped, WordNet lemmas, pruned by POS to fit.

    NLTK data is loaded once, eagerly and under a lock, because NLTK's lazy
    corpus loaders are not thread-safe.
    """

    name = "nltk"
    _lock = threading.Lock()

    def __init__(self):
        from pgpcodec import nltk_resources

        nltk_resources.require()
        from nltk.corpus import stopwords
        from nltk.tag import PerceptronTagger

        with self._lock:
            self.wordnet = english_wordnet()
            self.stop_words = frozenset(stopwords.words("english"))
            self.tagger = PerceptronTagger()

    def lemmatize(self, word: str, tag: str) -> str:
        """The shortest WordNet lemma for the word's part of speech, as NLTK's WordNetLemmatizer gives."""
        lemmas = self.wordnet._morphy(word, _wordnet_pos(tag))
        return min(lemmas, key=len) if lemmas else word

    def process(self, prompt: str, fits: Callable[[str], bool] | None = None) -> str:
        from nltk.tokenize import word_tokenize

        text = strip_instructions(prompt)
        # Tag the whole sentence first: the tagger needs the stop words as context.
        tagged = [(w, t) for w, t in self.tagger.tag(word_tokenize(text, preserve_line=True)) if w.lower() not in self.stop_words]
        if not tagged and text:
            # Nothing but stop words ("What is this?"): embed the cleaned prompt rather than nothing.
            tagged = self.tagger.tag(text.split())
        lemmas = [self.lemmatize(w, t) for w, t in tagged]
        if fits is not None:
            lemmas = prune_to_fit(lemmas, [t for _, t in tagged], fits)
        return " ".join(lemmas)


class NoPromptProcessor(PromptProcessor):
    """The prompt passes through unchanged (the paper's "no preprocessing" ablation)."""

    name = "none"

    def process(self, prompt: str, fits: Callable[[str], bool] | None = None) -> str:
        return prompt


@hookimpl
def register_prompt_processors(register):
    register("nltk", NltkPromptProcessor)
    register("none", NoPromptProcessor)
