import pytest

from pgpcodec import nltk_resources
from pgpcodec.errors import MissingResourceError
from pgpcodec_scorers.prompts import NltkPromptProcessor, NoPromptProcessor, prune_to_fit, strip_instructions


@pytest.fixture(scope="module")
def nltk_processor():
    return NltkPromptProcessor()


def test_strip_instructions():
    prompt = "Question: What is on the stand?\nOptions:\nA. A globe\nB. A lamp\nAnswer with the option's letter from the given choices directly."
    assert strip_instructions(prompt) == "What is on the stand A A globe B A lamp"
    assert strip_instructions("Is it red? Please answer yes or no.") == "Is it red"


def test_stop_words_dropped_and_lemmatized(nltk_processor):
    assert nltk_processor.process("What are the dogs in the pictures eating?") == "dog picture eat"
    assert nltk_processor.process("How many boats are there on the lakes?") == "many boat lake"


def test_only_stop_words_keeps_the_cleaned_prompt(nltk_processor):
    assert nltk_processor.process("What is this?") == "What be this"


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
    monkeypatch.setattr(nltk_resources, "missing", lambda: ["corpora/wordnet"])
    with pytest.raises(MissingResourceError, match="corpora/wordnet") as info:
        NltkPromptProcessor()
    assert "pgpcodec setup-nltk" in info.value.hint


def test_setup_nltk_copies_from_a_local_folder(tmp_path):
    source = tmp_path / "src"
    for path in nltk_resources.RESOURCES:
        (source / path).mkdir(parents=True)
        (source / path / "marker").write_text(path)
    target = nltk_resources.install(source, tmp_path / "dst")
    for path in nltk_resources.RESOURCES:
        assert (target / path / "marker").read_text() == path
        assert not (target / path).is_symlink()
    with pytest.raises(MissingResourceError, match="does not exist"):
        nltk_resources.install(tmp_path / "empty", tmp_path / "dst2")


def test_lemmas_match_nltks_wordnet_lemmatizer(nltk_processor):
    from nltk.stem import WordNetLemmatizer

    stock = WordNetLemmatizer()
    cases = [("running", "VBG"), ("houses", "NNS"), ("better", "JJR"), ("geese", "NNS"), ("was", "VBD"),
             ("quickly", "RB"), ("mice", "NNS"), ("drove", "VBD"), ("zzyzx", "NN"), ("patches", "NNS")]
    for word, tag in cases:
        pos = {"J": "a", "V": "v", "R": "r"}.get(tag[0], "n")
        assert nltk_processor.lemmatize(word, tag) == stock.lemmatize(word, pos), word
