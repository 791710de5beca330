"""Finding and installing the NLTK data the ``nltk`` prompt processor needs.

Nothing here touches the network unless :func:`install` is called without a
local source: then it runs ``nltk.download``, an explicit user action.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from pgpcodec import extras
from pgpcodec.errors import MissingResourceError

RESOURCES = {
    # nltk.data.find path -> nltk.download package id
    "corpora/stopwords": "stopwords",
    "corpora/wordnet": "wordnet",
    "taggers/averaged_perceptron_tagger_eng": "averaged_perceptron_tagger_eng",
}
FIX = "run 'pgpcodec setup-nltk' (online) or 'pgpcodec setup-nltk --from DIR' with a copied nltk_data folder"


def default_target() -> Path:
    """``<environment>/share/nltk_data``: on NLTK's search path, private to this environment."""
    return Path(sys.prefix) / "share" / "nltk_data"


def missing() -> list[str]:
    """The resources NLTK cannot find."""
    import nltk

    absent = []
    for path in RESOURCES:
        try:
            nltk.data.find(path)
        except LookupError:
            absent.append(path)
    return absent


def require_nltk() -> None:
    """NLTK itself, the ``nltk`` extra: setting up its data, tagging a long prompt and a missing table import it."""
    extras.require({"nltk": "nltk"}, "nltk", "the nltk prompt processor")


def require() -> None:
    absent = missing()
    if absent:
        raise MissingResourceError(f"NLTK data missing: {', '.join(absent)}", FIX)


def install(source: Path | None = None, target: Path | None = None) -> Path:
    """Copy the resources from ``source`` (an nltk_data folder), or download them when no source is given;
    then write the compact prompt table (:func:`write_table`) next to them."""
    target = target or default_target()
    target.mkdir(parents=True, exist_ok=True)
    if source is not None:
        source = Path(source)
        for path in RESOURCES:
            origin = source / path
            if not origin.is_dir():
                raise MissingResourceError(f"{origin} does not exist", f"{source} is not a complete nltk_data folder")
            # Copy, never symlink: nltk >= 3.10 refuses links that leave its data root.
            shutil.copytree(origin, target / path, dirs_exist_ok=True)
        write_table(target)
        return target
    import nltk

    for package in RESOURCES.values():
        if not nltk.download(package, download_dir=str(target), quiet=True, raise_on_error=True):
            raise MissingResourceError(f"nltk.download({package!r}) failed", "check the network, or copy a local nltk_data folder: pgpcodec setup-nltk --from DIR")
    write_table(target)
    return target


# -- the compact prompt table ----------------------------------------------------------
#
# Loading NLTK for a prompt costs seconds (``import nltk`` pulls in scipy.stats,
# the WordNet reader parses every index file). What the ``nltk`` prompt
# processor needs from it, the English stop words and what WordNet's morphy
# consults (the lemma names of each part of speech, the exception lists, the
# suffix rules for nouns), is written once, by ``setup-nltk``, into one gzipped JSON
# JSON file next to the NLTK data (1.5 MB); loading it takes tens of milliseconds.

TABLE_PATH = "pgpcodec/prompt-table.json"
"""Where the table lives inside an nltk_data folder."""
TABLE_FORMAT = 1
WORDNET_POS = "n"
"""Lemmas are nouns', as NLTK's ``WordNetLemmatizer().lemmatize(word)`` gives by default: no POS tagger needed."""


class PromptTable:
    """English stop words and WordNet's noun morphology, with NLTK's ``_morphy`` on top of them."""

    def __init__(self, stopwords, lemmas, exceptions: dict, substitutions):
        self.stopwords = frozenset(stopwords)
        self.lemmas = frozenset(lemmas)
        self.exceptions = exceptions
        self.substitutions = [tuple(pair) for pair in substitutions]

    def morphy(self, form: str) -> list[str]:
        """The WordNet noun lemmas of ``form``, as ``WordNetCorpusReader._morphy(form, "n")`` finds them."""
        if form in self.exceptions:
            forms = self.exceptions[form]
        else:
            forms = [form[: -len(old)] + new for old, new in self.substitutions if form.endswith(old)]
        result = []
        for candidate in [form, *forms]:
            if candidate in self.lemmas and candidate not in result:
                result.append(candidate)
        return result

    def lemma(self, word: str) -> str:
        """The shortest WordNet noun lemma of ``word``, or the word: NLTK's ``WordNetLemmatizer().lemmatize(word)``."""
        forms = self.morphy(word)
        return min(forms, key=len) if forms else word

    def to_json(self) -> dict:
        return {
            "format": TABLE_FORMAT,
            "stopwords": sorted(self.stopwords),
            "lemmas": "\n".join(sorted(self.lemmas)),
            "exceptions": self.exceptions,
            "substitutions": [list(pair) for pair in self.substitutions],
        }

    @classmethod
    def from_json(cls, data: dict) -> "PromptTable":
        if data.get("format") != TABLE_FORMAT:
            raise ValueError(f"prompt table format {data.get('format')!r}, expected {TABLE_FORMAT}")
        return cls(data["stopwords"], data["lemmas"].split("\n"), data["exceptions"], data["substitutions"])


def english_wordnet(root: Path | None = None):
    """NLTK's WordNet reader (of ``root``, an nltk_data folder, else the one NLTK finds), without its multilingual sense map.

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
        return EnglishWordNet(str(root / "corpora/wordnet") if root else nltk.data.find("corpora/wordnet"), None)


def table_from_nltk(root: Path | None = None) -> PromptTable:
    """The table read by NLTK from its stop-word and WordNet data (seconds: NLTK loads everything).

    ``root`` is an nltk_data folder; None: the data NLTK finds on its path.
    """
    import nltk
    from nltk.corpus.reader import WordListCorpusReader

    if root is None:
        require_data("corpora/stopwords", "corpora/wordnet")
        stopwords_dir = nltk.data.find("corpora/stopwords")
    else:
        stopwords_dir = Path(root) / "corpora/stopwords"
        nltk.data.path.insert(0, str(root))  # NLTK reads only folders on its data path
    try:
        stopwords = WordListCorpusReader(str(stopwords_dir), ["english"]).words("english")
        wordnet = english_wordnet(root)
    finally:
        if root is not None:
            nltk.data.path.remove(str(root))
    lemmas = [name for name, offsets in wordnet._lemma_pos_offset_map.items() if WORDNET_POS in offsets]
    exceptions = {form: list(bases) for form, bases in wordnet._exception_map[WORDNET_POS].items()}
    return PromptTable(stopwords, lemmas, exceptions, wordnet.MORPHOLOGICAL_SUBSTITUTIONS[WORDNET_POS])


def write_table(root: Path) -> Path:
    """Build the table from the NLTK data in the nltk_data folder ``root`` and write it there."""
    import json
    import os
    import tempfile

    path = Path(root) / TABLE_PATH
    path.parent.mkdir(parents=True, exist_ok=True)
    data = json.dumps(table_from_nltk(root).to_json(), separators=(",", ":")).encode()
    handle, staged = tempfile.mkstemp(dir=path.parent, prefix=".prompt-table.")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.chmod(staged, 0o644)
        os.replace(staged, path)
    except BaseException:
        Path(staged).unlink(missing_ok=True)
        raise
    return path


def data_roots() -> list[Path]:
    """NLTK's search path for its data, worked out without importing NLTK (``nltk.data.path``)."""
    import os

    roots = [Path(p) for p in os.environ.get("NLTK_DATA", "").split(os.pathsep) if p]
    roots.append(Path.home() / "nltk_data")
    for prefix in dict.fromkeys((sys.prefix, sys.exec_prefix)):
        roots += [Path(prefix) / "nltk_data", Path(prefix) / "share" / "nltk_data", Path(prefix) / "lib" / "nltk_data"]
    roots += [Path(p) for p in ("/usr/share/nltk_data", "/usr/local/share/nltk_data", "/usr/lib/nltk_data", "/usr/local/lib/nltk_data")]
    return roots


def find_table() -> Path | None:
    for root in data_roots():
        path = root / TABLE_PATH
        if path.is_file():
            return path
    return None


def load_table() -> PromptTable:
    """The compact table written by ``setup-nltk``; when it is missing or unreadable, the same table built from NLTK (slower)."""
    import json

    path = find_table()
    if path is not None:
        try:
            return PromptTable.from_json(json.loads(path.read_bytes()))
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            pass  # a damaged or older table: NLTK's own data gives the same answers
    return table_from_nltk()


def require_data(*paths: str) -> None:
    """Like :func:`require`, for some of the resources only."""
    absent = [path for path in missing() if path in paths]
    if absent:
        raise MissingResourceError(f"NLTK data missing: {', '.join(absent)}", FIX)
