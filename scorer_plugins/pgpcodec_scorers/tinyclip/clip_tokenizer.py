"""Build the CLIP BPE tokenizer as a Hugging Face ``tokenizers`` JSON.

TinyCLIP/open_clip checkpoints ship no tokenizer file: their tokenizer is
the ``SimpleTokenizer`` class plus the BPE merges file
``bpe_simple_vocab_16e6.txt.gz``. The model directory format wants a
``tokenizer.json`` that the scorer can load with ``tokenizers`` alone, so
this module rebuilds the same vocabulary, merges, pre-tokenisation regex and
start/end tokens in that format (the same construction as transformers'
CLIP converter).

SimpleTokenizer cleans text with ``ftfy.fix_text`` and ``html.unescape``
first; ``tokenizers`` has no ftfy, so the normaliser below reproduces the
parts of it that ordinary prompts hit: control characters, curly quotes,
Latin ligatures, full-width ASCII, the common HTML entities and NFC. Mojibake repair (text
that was decoded with the wrong charset) is not reproduced: such prompts
may tokenise differently. The parity test checks 50 varied prompts against
SimpleTokenizer.
"""

from __future__ import annotations

import gzip
from pathlib import Path

START_TOKEN = "<start_of_text>"
END_TOKEN = "<end_of_text>"
# open_clip's pattern (SimpleTokenizer.pat without the special tokens; the
# text is lower-cased before it is applied).
SPLIT_PATTERN = r"""'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+"""
# The merges file holds more merges than CLIP uses: CLIP keeps 49152 - 256 - 2.
MERGE_COUNT = 49152 - 256 - 2

# ftfy.fix_text's uncurl_quotes and fix_latin_ligatures tables, and html.unescape of
# the entities prompts contain (applied twice, as SimpleTokenizer does).
_QUOTES = {"\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"'}
_LIGATURES = {
    "\u0132": "IJ", "\u0133": "ij", "\u0149": "\u02bcn", "\u01f1": "DZ", "\u01f2": "Dz", "\u01f3": "dz",
    "\u01c4": "D\u017d", "\u01c5": "D\u017e", "\u01c6": "d\u017e", "\u01c7": "LJ", "\u01c8": "Lj", "\u01c9": "lj",
    "\u01ca": "NJ", "\u01cb": "Nj", "\u01cc": "nj", "\ufb00": "ff", "\ufb01": "fi", "\ufb02": "fl", "\ufb03": "ffi",
    "\ufb04": "ffl", "\ufb05": "\u017ft", "\ufb06": "st",
}
# ftfy.chardata.CONTROL_CHARS: removed (tab, line feed, carriage return and form feed stay).
_CONTROL_CHARS = "[\x00-\x08\x0b\x0e-\x1f\x7f\u206a-\u206f\ufeff\ufff9-\ufffc]"
_ENTITIES = {"&quot;": '"', "&#39;": "'", "&apos;": "'", "&lt;": "<", "&gt;": ">", "&nbsp;": "\u00a0"}


def bytes_to_unicode() -> dict[int, str]:
    """CLIP's reversible byte → printable character table (GPT-2's)."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    codes = printable[:]
    extra = 0
    for byte in range(256):
        if byte not in printable:
            printable.append(byte)
            codes.append(256 + extra)
            extra += 1
    return dict(zip(printable, (chr(c) for c in codes)))


def _vocab_and_merges(bpe_merges: Path) -> tuple[dict[str, int], list[tuple[str, str]]]:
    lines = gzip.open(bpe_merges).read().decode("utf-8").split("\n")
    merges = [tuple(line.split()) for line in lines[1 : MERGE_COUNT + 1]]
    symbols = list(bytes_to_unicode().values())
    symbols += [s + "</w>" for s in symbols]
    symbols += ["".join(m) for m in merges]
    symbols += [START_TOKEN, END_TOKEN]
    return {s: i for i, s in enumerate(symbols)}, merges


def _normalizer():
    from tokenizers import Regex, normalizers

    def replace_all(table: dict[str, str]):
        return [normalizers.Replace(src, dst) for src, dst in table.items()]

    width = {chr(c): chr(c - 0xFEE0) for c in range(0xFF01, 0xFF5F)} | {"\u3000": " "}
    ampersand = [normalizers.Replace("&amp;", "&")] * 2
    return normalizers.Sequence(
        [
            normalizers.Replace(Regex(_CONTROL_CHARS), ""),
            *ampersand,
            *replace_all(_ENTITIES),
            *replace_all(_QUOTES),
            *replace_all(_LIGATURES),
            *replace_all(width),
            normalizers.NFC(),
            normalizers.Replace(Regex(r"\s+"), " "),
            normalizers.Strip(),
            normalizers.Lowercase(),
        ]
    )


def build_clip_tokenizer(bpe_merges: str | Path | None = None):
    """A ``tokenizers.Tokenizer`` equal to CLIP's SimpleTokenizer, adding start and end tokens itself."""
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, processors

    if bpe_merges is None:
        from ._tinyclip import BPE_VOCAB

        bpe_merges = BPE_VOCAB
    vocab, merges = _vocab_and_merges(Path(bpe_merges))
    tokenizer = Tokenizer(models.BPE(vocab=vocab, merges=merges, end_of_word_suffix="</w>", fuse_unk=False))
    tokenizer.normalizer = _normalizer()
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(SPLIT_PATTERN), behavior="removed", invert=True),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    tokenizer.decoder = decoders.ByteLevel()
    tokenizer.add_special_tokens([START_TOKEN, END_TOKEN])
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{START_TOKEN} $A {END_TOKEN}",
        special_tokens=[(START_TOKEN, vocab[START_TOKEN]), (END_TOKEN, vocab[END_TOKEN])],
    )
    return tokenizer


def check_adds_special_tokens(tokenizer) -> None:
    """Raise ValueError unless encoding wraps the text in CLIP's start (49406) and end (49407) ids."""
    ids = tokenizer.encode("a photo").ids
    if len(ids) < 3 or ids[0] != 49406 or ids[-1] != 49407:
        raise ValueError(f"the tokenizer does not add CLIP's start/end tokens itself (got ids {ids})")
