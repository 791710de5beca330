"""tokenizer.json built from CLIP's BPE merges gives TinyCLIP's SimpleTokenizer ids."""

from __future__ import annotations

import pytest

pytest.importorskip("ftfy")
pytest.importorskip("torch")

from pgpcodec_scorers.tinyclip.clip_tokenizer import build_clip_tokenizer, check_adds_special_tokens  # noqa: E402

PROMPTS = [
    "a photo of a cat", "", "   ", "\t\n", "Café naïve façade", "“Quoted” ‘text’", "ﬁne ﬂowers", "ＡＢＣ１２３ full width",
    "Tom &amp; Jerry", "&lt;b&gt;bold&lt;/b&gt;", "a\u00a0b", "日本語のテキスト", "emoji 🐱🚀 test", "Ω≈ç√∫", "e\u0301 combining",
    "UPPER lower MiXeD", "it's they're we've I'm you'll he'd", "12345 numbers 3.14", "a" * 300, " ".join(["word"] * 100),
    "hyphen-ated words—dash…", "tab\there", "Ünïcödé", "Привет мир", "مرحبا", "हिन्दी", "中文 测试", "x", "<start_of_text>",
    "a photo of <end_of_text> weird", "multiple   spaces\n\nnewlines", "!!!???...", "a red car on the left, a blue bus on the right.",
    "$100 & 50% off #sale @home", "ß straße", "İstanbul", "ﬀ ﬃ", "\u3000ideographic space", "&amp;amp; double", "&quot;hi&quot;",
    "&#39;single&#39;", "zero\u200bwidth", "control\x07char", "café\u0301", "🇫🇷 flag", "ǅ ǈ", "Ĳssel", "Ⅻ roman", "①②③", "x²+y²",
]


def _open_clip_row(ids: list[int], context_length: int = 77) -> list[int]:
    """open_clip's truncation (last kept id becomes the end token) and zero padding."""
    if len(ids) > context_length:
        ids = ids[:context_length]
        ids[-1] = 49407
    return ids + [0] * (context_length - len(ids))


def test_fifty_varied_prompts_match_simple_tokenizer():
    from pgpcodec_scorers.tinyclip._tinyclip.tokenizer import tokenize

    assert len(PROMPTS) == 50
    tokenizer = build_clip_tokenizer()
    expected = tokenize(PROMPTS).tolist()
    got = [_open_clip_row(tokenizer.encode(prompt).ids) for prompt in PROMPTS]
    mismatches = [(p, g[:10], e[:10]) for p, g, e in zip(PROMPTS, got, expected) if g != e]
    assert mismatches == []


def test_empty_after_cleaning_is_start_and_end_only():
    tokenizer = build_clip_tokenizer()
    for prompt in ("", "   ", "\x07"):
        assert tokenizer.encode(prompt).ids == [49406, 49407]


def test_long_prompt_is_not_truncated_by_the_tokenizer_itself():
    # The spec leaves truncation to the scorer: the tokenizer returns every id.
    assert len(build_clip_tokenizer().encode("a " * 200).ids) == 202


def test_special_token_check_rejects_a_tokenizer_without_them():
    from tokenizers import Tokenizer, models

    check_adds_special_tokens(build_clip_tokenizer())
    with pytest.raises(ValueError, match="start/end"):
        check_adds_special_tokens(Tokenizer(models.WordLevel({"a": 0, "photo": 1, "[UNK]": 2}, unk_token="[UNK]")))
