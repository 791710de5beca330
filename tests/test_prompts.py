import json
import subprocess
import sys
from pathlib import Path

import pytest

from pgpcodec_scorers import nltk_resources
from pgpcodec.errors import MissingResourceError
from pgpcodec_scorers.prompts import NltkPromptProcessor, NoPromptProcessor, prune_to_fit, strip_instructions, tokenize


@pytest.fixture(scope="module")
def nltk_processor():
    return NltkPromptProcessor()


def test_strip_instructions():
    prompt = "Question: What is on the stand?\nOptions:\nA. A globe\nB. A lamp\nAnswer with the option's letter from the given choices directly."
    assert strip_instructions(prompt) == "What is on the stand A A globe B A lamp"
    assert strip_instructions("Is it red? Please answer yes or no.") == "Is it red"


def test_stop_words_dropped_and_lemmatized(nltk_processor):
    # Lemmas are nouns' (WordNetLemmatizer's default): no POS tagger runs unless a prompt must be pruned.
    assert nltk_processor.process("What are the dogs in the pictures eating?") == "dog picture eating"
    assert nltk_processor.process("How many boats are there on the lakes?") == "many boat lake"


def test_only_stop_words_keeps_the_cleaned_prompt(nltk_processor):
    assert nltk_processor.process("What is this?") == "What is this"


def test_pruning_keeps_nouns_then_adjectives_then_verbs_in_order():
    words = ["red", "car", "quickly", "drive", "road", "old"]
    tags = ["JJ", "NN", "RB", "VB", "NN", "JJ"]
    fits_three = lambda text: len(text.split()) <= 3
    assert prune_to_fit(words, tags, fits_three) == ["red", "car", "road"]
    fits_two = lambda text: len(text.split()) <= 2
    assert prune_to_fit(words, tags, fits_two) == ["car", "road"]
    assert prune_to_fit(words, tags, lambda text: True) == words


def test_prompt_is_pruned_to_the_scorer_context(nltk_processor):
    prompt = "A red car drives slowly past three old houses near the river bank"
    # Tagged: red/JJ car/NN drives/NNS slowly/RB past/IN three/CD old/JJ houses/NNS near/IN river/NN bank/NN.
    # Six words: the four "other" words go first, then the later adjective.
    out = nltk_processor.process(prompt, fits=lambda text: len(text.split()) <= 6)
    assert out == "red car drive house river bank"
    # Four: every adjective goes, then the last noun.
    out = nltk_processor.process(prompt, fits=lambda text: len(text.split()) <= 4)
    assert out == "car drive house river"


def test_none_passes_through():
    assert NoPromptProcessor().process("  What? ") == "  What? "


def test_missing_nltk_data_names_the_fix(monkeypatch):
    # Without the compact table the processor falls back to NLTK's own data, and names the fix when that is missing too.
    monkeypatch.setattr(nltk_resources, "find_table", lambda: None)
    monkeypatch.setattr(nltk_resources, "missing", lambda: ["corpora/wordnet"])
    with pytest.raises(MissingResourceError, match="corpora/wordnet") as info:
        NltkPromptProcessor()
    assert "pgpcodec setup-nltk" in info.value.hint


def test_missing_tagger_is_reported_only_when_a_prompt_needs_pruning(monkeypatch):
    monkeypatch.setattr(nltk_resources, "missing", lambda: ["taggers/averaged_perceptron_tagger_eng"])
    processor = NltkPromptProcessor()
    assert processor.process("A red car drives past old houses", fits=lambda text: True) == "red car drive past old house"
    with pytest.raises(MissingResourceError, match="averaged_perceptron_tagger_eng"):
        processor.process("A red car drives past old houses", fits=lambda text: len(text.split()) <= 2)


def test_without_the_table_the_processor_falls_back_to_nltk_with_the_same_output(monkeypatch, nltk_processor):
    monkeypatch.setattr(nltk_resources, "find_table", lambda: None)
    fallback = NltkPromptProcessor()
    for prompt in ("What are the dogs in the pictures eating?", "Is the man's cup half-full or empty?"):
        assert fallback.process(prompt) == nltk_processor.process(prompt)


def test_a_damaged_table_falls_back_to_nltk(monkeypatch, tmp_path, nltk_processor):
    bad = tmp_path / "table.json"
    bad.write_text('{"format": 1, "lemmas": ')
    monkeypatch.setattr(nltk_resources, "find_table", lambda: bad)
    assert NltkPromptProcessor().process("How many boats are there on the lakes?") == "many boat lake"


def test_setup_nltk_copies_from_a_local_folder_and_writes_the_prompt_table(tmp_path):
    import nltk

    # The environment's own NLTK data (make install puts it there) stands in for a copied nltk_data folder.
    source = next(Path(p) for p in nltk.data.path if all((Path(p) / r).is_dir() for r in nltk_resources.RESOURCES))
    target = nltk_resources.install(source, tmp_path / "dst")
    for path in nltk_resources.RESOURCES:
        assert (target / path).is_dir() and not (target / path).is_symlink()
    table = json.loads((target / nltk_resources.TABLE_PATH).read_text())
    assert table == nltk_resources.table_from_nltk(target).to_json()
    assert "the" in table["stopwords"] and "dog" in table["lemmas"].split("\n")
    with pytest.raises(MissingResourceError, match="does not exist"):
        nltk_resources.install(tmp_path / "empty", tmp_path / "dst2")


def test_the_installed_table_is_found_without_importing_nltk():
    code = (
        "import sys; from pgpcodec_scorers.prompts import NltkPromptProcessor as P; "
        "out = P().process('What are the dogs in the pictures eating?', fits=lambda t: True); "
        "print(out, 'nltk' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["dog", "picture", "eating", "False"]


def _word_sample() -> list[str]:
    """Prompt words, every WordNet exception form, and inflections of a spread of WordNet lemmas."""
    table = nltk_resources.load_table()
    words = {w for record in _dev_prompts() for w in tokenize(strip_instructions(record))}
    words |= set(table.exceptions)
    for lemma in sorted(table.lemmas)[::29]:
        words |= {lemma, lemma + "s", lemma + "es", lemma[:-1] + "ies", lemma[:-1] + "ves", lemma + "men", lemma.capitalize()}
    return sorted(words)


def _dev_prompts() -> list[str]:
    from importlib.resources import files

    text = (files("pgpcodec") / "data" / "dev" / "dev.jsonl").read_text()
    return [json.loads(line)["prompt"] for line in text.splitlines() if line.strip()]


def test_table_lemmas_match_nltks_wordnet_lemmatizer():
    from nltk.stem import WordNetLemmatizer

    wordnet = nltk_resources.english_wordnet()
    stock = WordNetLemmatizer()
    table = nltk_resources.load_table()
    words = _word_sample()
    assert len(words) > 10000
    for word in words:
        assert table.morphy(word) == wordnet._morphy(word, "n"), word
        assert table.lemma(word) == stock.lemmatize(word), word


def test_lemmas_by_hand():
    table = nltk_resources.load_table()
    cases = {"houses": "house", "geese": "goose", "mice": "mouse", "patches": "patch", "boxes": "box", "wolves": "wolf",
             "women": "woman", "babies": "baby", "zzyzx": "zzyzx", "Dogs": "Dogs", "eating": "eating", "glass": "glass"}
    assert {word: table.lemma(word) for word in cases} == cases


def test_stop_words_are_nltks():
    from nltk.corpus import stopwords

    assert nltk_resources.load_table().stopwords == frozenset(stopwords.words("english"))


PROMPTS = [
    "What's the astronaut's suit colour", "Isn't it red", "Is the man's cup half-full or empty",
    "How many (visible) dogs: 3 or 4", "They're here and we'll see; you've been I'm sure he'd go",
    "A red car drives past old houses!", "Is there a 10-year-old boy", "Count the cats & dogs",
]


def test_tokenizer_matches_nltks_word_tokenize_on_prompts():
    from nltk.tokenize import word_tokenize

    for prompt in PROMPTS + [strip_instructions(p) for p in _dev_prompts()]:
        assert tokenize(prompt) == word_tokenize(prompt, preserve_line=True), prompt
