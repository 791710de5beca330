"""Scoring a VLM's reply against the expected answer, in the style of VLMEvalKit.

Pure functions, one per question kind:

- ``yesno`` (MME): the reply counts as "yes" or "no" when exactly one of the
  two words appears in it.
- ``mcq`` (MMBench, SEEDBench): the option letter standing alone in the
  reply; if no single letter is found (or only a lone "A" inside a longer
  sentence, where it is likely the article), the option whose text appears
  in the reply.
- ``short`` (VQA-style): reply and answer normalised (lower case, no
  punctuation or articles); correct on an exact match, or when the answer's
  words appear in sequence inside the reply.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass

OPTION_LINE = re.compile(r"^\s*([A-Z])[.)]\s+(.+?)\s*$", re.MULTILINE)
LETTER_PUNCTUATION = ".()[],:;!*#{}"
ARTICLES = {"a", "an", "the"}


@dataclass(frozen=True)
class Match:
    prediction: str | None
    """What was read from the reply (Yes/No, an option letter, normalised text); None if nothing."""
    correct: bool


def options_from_prompt(prompt: str) -> dict[str, str]:
    """The ``A. text`` option lines of a multiple-choice prompt, letter → text."""
    return {letter: text for letter, text in OPTION_LINE.findall(prompt)}


def infer_kind(prompt: str, answer: str) -> str:
    """``yesno``, ``mcq`` or ``short`` for rows whose manifest gives no kind."""
    normalised = answer.strip().lower()
    if normalised in ("yes", "no"):
        return "yesno"
    if re.fullmatch(r"[A-Z]", answer.strip()) and answer.strip() in options_from_prompt(prompt):
        return "mcq"
    return "short"


def _words(text: str, punctuation: str = string.punctuation) -> list[str]:
    return text.translate(str.maketrans(punctuation, " " * len(punctuation))).split()


def extract_yes_no(reply: str) -> str | None:
    words = set(_words(reply.lower()))
    if ("yes" in words) != ("no" in words):
        return "Yes" if "yes" in words else "No"
    return None


def extract_option(reply: str, options: dict[str, str]) -> str | None:
    """The option letter the reply chooses, or None when it is absent or ambiguous."""
    tokens = _words(reply, LETTER_PUNCTUATION)
    letters = [letter for letter in options if letter in tokens]
    if len(letters) == 1 and not (letters == ["A"] and len(tokens) > 3):
        return letters[0]
    lowered = reply.lower()
    by_text = [letter for letter, text in options.items() if text.lower() in lowered]
    return by_text[0] if len(by_text) == 1 else None


def normalise_answer(text: str) -> str:
    return " ".join(word for word in _words(text.lower()) if word not in ARTICLES)


def match_short(reply: str, answer: str) -> Match:
    got, want = normalise_answer(reply), normalise_answer(answer)
    if not want:
        return Match(got or None, False)
    correct = got == want or f" {want} " in f" {got} "
    return Match(got or None, correct)


def match_reply(reply: str, answer: str, kind: str | None, prompt: str) -> Match:
    """Score ``reply`` against ``answer`` for a question of ``kind`` (inferred when None)."""
    kind = kind or infer_kind(prompt, answer)
    if kind == "yesno":
        got = extract_yes_no(reply)
        return Match(got, got is not None and got.lower() == answer.strip().lower())
    if kind == "mcq":
        got = extract_option(reply, options_from_prompt(prompt))
        return Match(got, got is not None and got == answer.strip().upper())
    return match_short(reply, answer)
