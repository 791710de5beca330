import pytest

from pgpcodec_evaluators.matching import (
    extract_option,
    extract_yes_no,
    infer_kind,
    match_reply,
    normalise_answer,
    options_from_prompt,
)

MCQ = "What is it?\nOptions:\nA. A globe\nB. A space shuttle model\nC. A trophy\nAnswer with the option's letter from the given choices directly."


@pytest.mark.parametrize(
    "reply, expected",
    [("Yes", "Yes"), ("yes.", "Yes"), ("No, she is not.", "No"), ("Yes and no", None), ("Maybe", None), ("Nobody knows", None)],
)
def test_extract_yes_no(reply, expected):
    assert extract_yes_no(reply) == expected


def test_options_from_prompt():
    assert options_from_prompt(MCQ) == {"A": "A globe", "B": "A space shuttle model", "C": "A trophy"}


@pytest.mark.parametrize(
    "reply, expected",
    [
        ("B", "B"),
        ("(B)", "B"),
        ("The answer is B.", "B"),
        ("B. A space shuttle model", "B"),
        ("It is a space shuttle model on a stand", "B"),  # no letter: the option text decides
        ("A", "A"),
        ("A trophy, I think it is", "C"),  # the lone "A" is an article here
        ("B or C", None),
        ("I cannot tell", None),
    ],
)
def test_extract_option(reply, expected):
    assert extract_option(reply, options_from_prompt(MCQ)) == expected


def test_short_answers_normalise_case_punctuation_and_articles():
    assert normalise_answer("The Tripod.") == "tripod"
    assert match_reply("A tripod", "Tripod", "short", "").correct
    assert match_reply("It is mounted on a tripod.", "Tripod", "short", "").correct
    assert not match_reply("tripods", "Tripod", "short", "").correct
    assert not match_reply("", "Tripod", "short", "").correct


def test_match_reply_by_kind_and_inferred_kind():
    assert match_reply("Yes, she is smiling", "Yes", "yesno", "").correct
    assert not match_reply("No", "Yes", None, "Is she smiling?").correct
    assert match_reply("B", "B", None, MCQ).correct
    assert not match_reply("C", "B", "mcq", MCQ).correct
    assert infer_kind(MCQ, "B") == "mcq"
    assert infer_kind("Is it?", "no") == "yesno"
    assert infer_kind("Which word?", "COLLINS") == "short"
