"""The ``tinyclip`` ONNX scorer, on a tiny random-init CLIP built at test time."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from pgpcodec.errors import InvalidModelError, ModelNotFoundError, UsageError
from pgpcodec_scorers.tinyclip.cache import MODELS_DIR_ENV
from pgpcodec.plugins import get_registry
from pgpcodec_scorers.tinyclip.testing import build_tiny_clip, reference_embeddings
from pgpcodec_scorers.tinyclip.scorer import TinyClipScorer

CLIP_MEAN = np.array([0.48145466, 0.4578275, 0.40821073])
CLIP_STD = np.array([0.26862954, 0.26130258, 0.27577711])
LONG_TEXT = " ".join(["the red bicycle leaning on a yellow wall near the old bakery"] * 12)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    return build_tiny_clip(tmp_path_factory.mktemp("tiny") / "model", seed=3)


@pytest.fixture(scope="module")
def scorer(model_dir) -> TinyClipScorer:
    return TinyClipScorer(model=model_dir, threads=1, batch_size=4)


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    """300 × 500 test picture: colour gradients with a red block and a dark disc."""
    y, x = np.mgrid[0:300, 0:500]
    image = np.stack([x * 255 // 499, y * 255 // 299, (x + 2 * y) % 256], axis=-1).astype(np.uint8)
    image[40:140, 320:460] = (230, 30, 30)
    image[(x - 100) ** 2 + (y - 200) ** 2 < 60**2] = (20, 20, 60)
    return image


def copy_model(source: Path, target: Path, **manifest_changes) -> Path:
    shutil.copytree(source, target)
    manifest = json.loads((target / "manifest.json").read_text())
    manifest.update(manifest_changes)
    (target / "manifest.json").write_text(json.dumps(manifest))
    return target


def test_graphs_compute_the_numpy_reference(scorer, model_dir):
    """The ONNX graphs are what the builder says: pooled pixels for images, argmax pooling for text."""
    pixels = np.random.default_rng(0).normal(size=(5, 3, 224, 224)).astype(np.float32)
    texts = ["what colour is the cup", "dog", LONG_TEXT]
    ids = np.stack([scorer.token_ids(t) for t in texts])
    image_ref, text_ref = reference_embeddings(model_dir, pixels, ids)
    np.testing.assert_allclose(scorer.embed_tiles(pixels), image_ref, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(np.stack([scorer.embed_text(t) for t in texts]), text_ref, rtol=1e-4, atol=1e-5)
    assert not np.allclose(text_ref[0], text_ref[1])  # different texts, different embeddings


def test_score_map_equals_numpy_computation(scorer, model_dir, photo):
    prompt = "red cup table"
    result = scorer.score(photo, prompt)

    # Paper steps 1-3 by hand. 500x300 is resized to 672x448; estimated tile counts for the
    # strides 56/112/224 are 9*5=45, 5*3=15, 3*2=6, and 15 is closest to 24: stride 112.
    stride, tile = 112, 224
    resized = np.asarray(Image.fromarray(photo).resize((672, 448), Image.Resampling.BICUBIC), dtype=np.float64)
    positions = [(x, y) for y in range(0, 448 - tile + 1, stride) for x in range(0, 672 - tile + 1, stride)]
    tiles = np.stack([((resized[y : y + tile, x : x + tile] / 255 - CLIP_MEAN) / CLIP_STD).transpose(2, 0, 1) for x, y in positions])
    ids = np.zeros((1, 77), dtype=np.int64)
    encoded = scorer._tokenizer.encode(prompt).ids
    ids[0, : len(encoded)] = encoded
    tile_embeds, text_embeds = reference_embeddings(model_dir, tiles.astype(np.float32), ids)

    # Step 5: cosine similarity, softmax(20 * sim) * n (the paper's α, the default).
    cosine = (tile_embeds @ text_embeds[0]) / (np.linalg.norm(tile_embeds, axis=1) * np.linalg.norm(text_embeds[0]))
    weights = np.exp(20 * cosine)
    tile_scores = weights / weights.sum() * len(positions)
    # Step 6: each 112-px block takes the mean over the tiles covering it.
    expected = np.zeros((448 // stride, 672 // stride))
    for row in range(expected.shape[0]):
        for col in range(expected.shape[1]):
            covering = [
                s for (x, y), s in zip(positions, tile_scores)
                if x <= col * stride < x + tile and y <= row * stride < y + tile
            ]
            expected[row, col] = np.mean(covering)

    assert result.grid.block == stride and result.grid.grid_size == (672, 448) and result.grid.image_size == (500, 300)
    np.testing.assert_array_equal(result.tile_positions, positions)
    np.testing.assert_allclose(result.tile_scores, tile_scores, rtol=1e-4)
    np.testing.assert_allclose(result.scores, expected, rtol=1e-4)
    assert result.tile_scores.sum() == pytest.approx(len(positions))
    assert result.tile_scores.std() > 1e-3  # the tiles really differ
    assert result.prompt_used == prompt


def test_scores_follow_the_prompt(scorer, photo):
    first = scorer.score(photo, "red cup").tile_scores
    second = scorer.score(photo, "dark sky over the sea").tile_scores
    assert first.sum() == pytest.approx(len(first)) and second.sum() == pytest.approx(len(second))
    assert not np.allclose(first, second)


def test_batching_does_not_change_the_embeddings(model_dir, scorer):
    tiles = np.random.default_rng(1).normal(size=(7, 3, 224, 224)).astype(np.float32)
    one_batch = TinyClipScorer(model=model_dir, threads=1, batch_size=64).embed_tiles(tiles)
    np.testing.assert_allclose(scorer.embed_tiles(tiles), one_batch, rtol=1e-5, atol=1e-6)


def test_text_embeddings_are_cached(model_dir):
    scorer = TinyClipScorer(model=model_dir, threads=1)
    first = scorer.embed_text("a red cup")
    before = scorer.text_cache_info()
    again = scorer.embed_text("a red cup")
    after = scorer.text_cache_info()
    assert again is first
    assert (after.hits, after.misses) == (before.hits + 1, before.misses)
    with pytest.raises(ValueError):
        first[0] = 1.0  # shared through the cache, so read-only
    scorer.embed_text("a blue cup")
    assert scorer.text_cache_info().misses == before.misses + 1


def test_token_ids_pad_and_truncate_like_open_clip(scorer):
    tokenizer = scorer._tokenizer
    start, end = tokenizer.token_to_id("<start_of_text>"), tokenizer.token_to_id("<end_of_text>")
    short = scorer.token_ids("red cup")
    encoded = tokenizer.encode("red cup").ids
    assert encoded[0] == start and encoded[-1] == end
    assert short.dtype == np.int64 and short.shape == (77,)
    assert list(short[: len(encoded)]) == encoded and not short[len(encoded) :].any()

    full = tokenizer.encode(LONG_TEXT).ids
    assert len(full) > 77
    truncated = scorer.token_ids(LONG_TEXT)
    assert list(truncated) == full[:76] + [end]
    assert truncated.argmax() == 76  # the text graph pools at the last position


def test_fits_context_counts_tokenizer_tokens(scorer):
    words = LONG_TEXT.split()
    counts = [len(scorer._tokenizer.encode(" ".join(words[:k])).ids) for k in range(len(words) + 1)]
    assert counts[0] == 2  # start and end tokens alone
    last_fitting = max(k for k, count in enumerate(counts) if count <= 77)
    assert scorer.fits_context(" ".join(words[:last_fitting]))
    assert not scorer.fits_context(" ".join(words[: last_fitting + 1]))
    assert counts[last_fitting + 1] > 77
    # Words are not tokens: this text has fewer than 70 words but more than 77 tokens.
    odd = " ".join(["xylophonic"] * 30)
    assert len(odd.split()) < 70 and not scorer.fits_context(odd)


def test_pipeline_prunes_long_prompts_to_fit(model_dir, photo):
    from pgpcodec.pipeline import Pipeline

    pipeline = Pipeline(scorer=str(model_dir), codec="jpeg", prompt_processor="nltk", scorer_options={"threads": 1})
    assert isinstance(pipeline.scorer, TinyClipScorer) and pipeline.scorer.name == "tinyclip"
    result = pipeline.prefilter(photo, "Question: " + LONG_TEXT + "? Please answer yes or no.")
    assert pipeline.scorer.fits_context(result.prompt_used)
    assert 2 < len(pipeline.scorer._tokenizer.encode(result.prompt_used).ids) <= 77
    assert result.image.shape == photo.shape and not np.array_equal(result.image, photo)


def test_int8_scores_are_close_to_fp32(model_dir, scorer, photo):
    quantised = TinyClipScorer(model=model_dir, precision="int8", threads=1)
    tiles = np.random.default_rng(2).normal(size=(4, 3, 224, 224)).astype(np.float32)
    fp32, int8 = scorer.embed_tiles(tiles), quantised.embed_tiles(tiles)
    assert not np.array_equal(fp32, int8)  # really the quantised graph
    np.testing.assert_allclose(int8, fp32, atol=0.05 * np.abs(fp32).max())
    # The text graph stays fp32 under int8 (run once per prompt, cached: int8 would only add error).
    np.testing.assert_array_equal(quantised.embed_text("red cup"), scorer.embed_text("red cup"))
    result = quantised.score(photo, "red cup")
    assert result.tile_scores.sum() == pytest.approx(len(result.tile_scores))


def test_int8_needs_the_int8_files(tmp_path):
    model = build_tiny_clip(tmp_path / "fp32-only", int8=False)
    with pytest.raises(UsageError, match="has no int8 files") as caught:
        TinyClipScorer(model=model, precision="int8")
    assert "precision fp32" in caught.value.hint


@pytest.mark.parametrize(
    "options, message",
    [
        ({"precision": "fp16"}, "unknown precision 'fp16'"),
        ({"threads": 0}, "threads must be a whole number >= 1"),
        ({"threads": 1.5}, "threads must be a whole number >= 1"),
        ({"batch_size": 0}, "batch_size must be a whole number >= 1"),
    ],
)
def test_bad_options(model_dir, options, message):
    with pytest.raises(UsageError, match=message):
        TinyClipScorer(model=model_dir, **options)


def test_manifest_that_disagrees_with_the_graphs(model_dir, tmp_path):
    model = copy_model(model_dir, tmp_path / "m", embed_dim=64)
    with pytest.raises(InvalidModelError, match="do not match the manifest"):
        TinyClipScorer(model=model)


def test_graph_that_is_not_onnx(model_dir, tmp_path):
    model = copy_model(model_dir, tmp_path / "m")
    (model / "vision.onnx").write_bytes(b"not a protobuf")
    with pytest.raises(InvalidModelError, match="cannot be loaded by onnxruntime"):
        TinyClipScorer(model=model)


def test_tokenizer_that_is_not_json(model_dir, tmp_path):
    model = copy_model(model_dir, tmp_path / "m")
    (model / "tokenizer.json").write_text("{ not json")
    with pytest.raises(InvalidModelError, match="is not a tokenizers JSON file"):
        TinyClipScorer(model=model)


def test_graphs_swapped(model_dir, tmp_path):
    model = copy_model(model_dir, tmp_path / "m", files={**json.loads((model_dir / "manifest.json").read_text())["files"], "vision": "text.onnx"})
    with pytest.raises(InvalidModelError, match="has inputs \\['input_ids'\\]"):
        TinyClipScorer(model=model)


def test_tokenizer_without_end_token(model_dir, tmp_path):
    model = copy_model(model_dir, tmp_path / "m")
    tokenizer = json.loads((model / "tokenizer.json").read_text())
    tokenizer["post_processor"] = None
    (model / "tokenizer.json").write_text(json.dumps(tokenizer))
    with pytest.raises(InvalidModelError, match="end-of-text token that has the largest id"):
        TinyClipScorer(model=model)


def test_missing_model_error(tmp_path, monkeypatch):
    monkeypatch.setenv(MODELS_DIR_ENV, str(tmp_path / "empty"))
    with pytest.raises(ModelNotFoundError) as caught:
        get_registry().create("scorer", "tinyclip57")
    assert caught.value.model_name == "tinyclip57"
    assert "pgpcodec models pull tinyclip57" in str(caught.value)
    assert "pgpcodec models import tinyclip57 PATH" in str(caught.value)


def test_bad_codec_is_reported_before_the_model_is_looked_up(tmp_path, monkeypatch):
    from pgpcodec.errors import UnknownPluginError
    from pgpcodec.pipeline import Pipeline

    monkeypatch.setenv(MODELS_DIR_ENV, str(tmp_path / "empty"))
    with pytest.raises(UnknownPluginError, match="unknown codec 'nope'"):
        Pipeline(scorer="tinyclip57", codec="nope")


def test_registered_names(tmp_path, monkeypatch, model_dir):
    registry = get_registry()
    assert {"tinyclip", "tinyclip23", "tinyclip57", "tinyclip61", "tinyclip120"} <= set(registry.names("scorer"))
    monkeypatch.setenv(MODELS_DIR_ENV, str(tmp_path / "models"))
    shutil.copytree(model_dir, tmp_path / "models" / "tinyclip23")
    bound = registry.create("scorer", "tinyclip23", threads=1)
    assert bound.name == "tinyclip23" and bound.manifest.directory == tmp_path / "models" / "tinyclip23"
    assert registry.create("scorer", "tinyclip", model="tinyclip23", threads=1).name == "tinyclip23"
    with pytest.raises(UsageError, match="always uses model 'tinyclip23'"):
        registry.create("scorer", "tinyclip23", model=str(model_dir))


def test_registering_does_not_load_onnxruntime():
    code = (
        "import sys\n"
        "from pgpcodec.plugins import get_registry\n"
        "assert 'tinyclip57' in get_registry().names('scorer')\n"
        "print(sorted(m for m in ('onnxruntime', 'tokenizers') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_concurrent_scoring_matches_sequential(scorer, photo):
    prompts = ["red cup", "dark disc", "green gradient", "red cup"]
    expected = [scorer.score(photo, p).scores for p in prompts]
    results: dict[int, np.ndarray] = {}

    def work(index: int) -> None:
        results[index] = scorer.score(photo, prompts[index]).scores

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(prompts))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for index, scores in enumerate(expected):
        np.testing.assert_allclose(results[index], scores, rtol=1e-6)


# -- command line ----------------------------------------------------------


def run_cli(args: list[str]) -> int:
    from pgpcodec.cli import main

    with pytest.raises(SystemExit) as caught:
        main(args)
    return caught.value.code


@pytest.fixture
def photo_file(tmp_path, photo) -> Path:
    path = tmp_path / "photo.png"
    Image.fromarray(photo).save(path)
    return path


def test_cli_encode_with_a_model_directory(model_dir, photo_file, tmp_path):
    out = tmp_path / "out.jpg"
    code = run_cli(["encode", str(photo_file), "--prompt", "What colour is the cup?", "--scorer", str(model_dir),
                    "--codec", "jpeg", "-q", "50", "-o", str(out)])
    assert code == 0
    with Image.open(out) as decoded:
        assert decoded.format == "JPEG" and decoded.size == (500, 300)


def test_cli_encode_with_an_installed_model(model_dir, photo_file, tmp_path, monkeypatch):
    monkeypatch.setenv(MODELS_DIR_ENV, str(tmp_path / "models"))
    shutil.copytree(model_dir, tmp_path / "models" / "tinyclip57")
    out = tmp_path / "out.jpg"
    assert run_cli(["encode", str(photo_file), "--prompt", "What colour is the cup?", "--scorer", "tinyclip57", "-o", str(out)]) == 0
    with Image.open(out) as decoded:
        assert decoded.format == "JPEG"


def test_cli_missing_model_prints_one_line(photo_file, tmp_path):
    import os

    env = {**os.environ, MODELS_DIR_ENV: str(tmp_path / "empty")}
    env.pop("PGPCODEC_DEBUG", None)
    done = subprocess.run(
        [sys.executable, "-m", "pgpcodec", "encode", str(photo_file), "--prompt", "cup", "--scorer", "tinyclip57", "-o", str(tmp_path / "o.jpg")],
        capture_output=True, text=True, env=env,
    )
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr
    assert lines[0].startswith("pgpcodec: error: model 'tinyclip57' is not installed")
    assert "pgpcodec models pull tinyclip57" in lines[0]
    assert not (tmp_path / "o.jpg").exists()


@pytest.mark.parametrize("prompt", ["", "   \t\n"])
def test_cli_empty_prompt_with_a_prompt_guided_scorer(model_dir, photo_file, tmp_path, capsys, prompt):
    code = run_cli(["encode", str(photo_file), "--prompt", prompt, "--scorer", str(model_dir), "-o", str(tmp_path / "o.jpg")])
    err = capsys.readouterr().err
    assert code != 0 and len(err.strip().splitlines()) == 1
    assert "the prompt is empty" in err and "Traceback" not in err


def test_cli_scorer_options_reach_the_scorer(model_dir, photo_file, tmp_path, capsys):
    args = ["encode", str(photo_file), "--prompt", "cup", "--scorer", str(model_dir), "-o", str(tmp_path / "o.jpg")]
    assert run_cli([*args, "--scorer-option", "precision=int8", "--scorer-option", "batch-size=4"]) == 0
    capsys.readouterr()
    assert run_cli([*args, "--scorer-option", "precision=fp16", "--force"]) != 0
    assert "fp16" in capsys.readouterr().err
    assert run_cli([*args, "--scorer-option", "precision", "--force"]) != 0
    assert "is not KEY=VALUE" in capsys.readouterr().err


def test_random_weights_are_labelled(model_dir, photo_file, tmp_path, capsys):
    import json

    from pgpcodec.pipeline import Pipeline

    result = Pipeline(scorer=str(model_dir), codec="jpeg", prompt_processor="none").prefilter(photo_file, "cup")
    assert "RANDOM-INIT" in result.scorer
    assert any("RANDOM-INIT" in note for note in result.notes)
    assert run_cli(["encode", str(photo_file), "-p", "cup", "--scorer", str(model_dir), "-o", str(tmp_path / "o.jpg"), "--json"]) == 0
    assert any("RANDOM-INIT" in note for note in json.loads(capsys.readouterr().out)["notes"])
