"""Prompt processors: ``nltk`` (the paper's preprocessing) and ``none``."""

from __future__ import annotations

import re
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


TOKEN = re.compile(r"\w+(?=n't\b)|n't\b|'(?:s|re|ve|ll|d|m)\b|\w+(?:-\w+)*|[^\w\s]", re.IGNORECASE)
"""Words (hyphenated ones whole), the clitics NLTK's ``word_tokenize`` splits off (n't 's 're 've 'll 'd 'm), and punctuation."""


def tokenize(text: str) -> list[str]:
    """Treebank-style word tokens, as NLTK's ``word_tokenize(text, preserve_line=True)`` gives for prompts
    (checked against it in tests/test_prompts.py), without importing NLTK."""
    return TOKEN.findall(text)


class NltkPromptProcessor(PromptProcessor):
    """Instruction phrases removed, stop words dropped, WordNet (noun) lemmas, pruned by POS to fit.

    The stop words and WordNet's morphology come from the compact table that
    ``pgpcodec setup-nltk`` writes (:mod:`pgpcodec_scorers.nltk_resources`; built from
    NLTK's data when the table is missing). NLTK's POS tagger is loaded only
    when a prompt is too long for the scorer and has to be pruned, once,
    under a lock (NLTK's loaders are not thread-safe).
    """

    name = "nltk"
    _lock = threading.Lock()

    def __init__(self):
        from . import nltk_resources

        nltk_resources.require_nltk()
        if nltk_resources.find_table() is None:
            nltk_resources.require_data("corpora/stopwords", "corpora/wordnet")
        with self._lock:
            self.table = nltk_resources.load_table()
        self.stop_words = self.table.stopwords
        self._tagger = None

    @property
    def tagger(self):
        """NLTK's averaged perceptron tagger, loaded on first use."""
        if self._tagger is None:
            from . import nltk_resources

            nltk_resources.require_data("taggers/averaged_perceptron_tagger_eng")
            with self._lock:
                if self._tagger is None:
                    from nltk.tag import PerceptronTagger

                    self._tagger = PerceptronTagger()
        return self._tagger

    def lemmatize(self, word: str) -> str:
        """The word's WordNet lemma as a noun, as NLTK's ``WordNetLemmatizer().lemmatize(word)`` gives."""
        return self.table.lemma(word)

    def process(self, prompt: str, fits: Callable[[str], bool] | None = None) -> str:
        text = strip_instructions(prompt)
        tokens = tokenize(text)
        kept = [i for i, w in enumerate(tokens) if w.lower() not in self.stop_words]
        lemmas = [self.lemmatize(tokens[i]) for i in kept]
        if not lemmas and text:
            # Nothing but stop words ("What is this?"): embed the cleaned prompt rather than nothing.
            tokens = text.split()
            kept, lemmas = list(range(len(tokens))), tokens
        if fits is None or fits(" ".join(lemmas)):
            return " ".join(lemmas)
        # Too long: tag the whole sentence (the tagger needs the stop words as context), drop by POS.
        tags = [tag for _, tag in self.tagger.tag(tokens)]
        return " ".join(prune_to_fit(lemmas, [tags[i] for i in kept], fits))


class NoPromptProcessor(PromptProcessor):
    """The prompt passes through unchanged (the paper's "no preprocessing" ablation)."""

    name = "none"

    def process(self, prompt: str, fits: Callable[[str], bool] | None = None) -> str:
        return prompt


@hookimpl
def register_prompt_processors(register):
    register("nltk", NltkPromptProcessor)
    register("none", NoPromptProcessor)


@hookimpl
def register_commands(cli):
    from .nltk_commands import setup_nltk

    cli.add_command(setup_nltk)
