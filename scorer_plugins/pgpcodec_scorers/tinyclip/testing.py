"""A tiny, randomly initialised CLIP-shaped model directory, built in well under a second.

Tests use it to run the ``tinyclip`` scorer end to end without pretrained
weights (none can be downloaded here). It follows the model directory
format of docs/scorers.md exactly: ``vision.onnx`` and ``text.onnx`` with
the format's input and output names, int8 copies made by
``onnxruntime.quantization.quantize_dynamic``, a real byte-level BPE
``tokenizer.json`` trained on a few sentences, and ``manifest.json``
labelled ``"weights": "random-init"``.

The graphs are small but real functions of their inputs:

- vision: ``pixel_values`` → average-pool ``patch``×``patch`` squares →
  flatten → ``tanh(x W1 + b1) W2`` → ``image_embeds``;
- text: ``input_ids`` → token + position embeddings → causal running mean
  (so every earlier token counts) → ``tanh(x W1 + b1)`` → the row at
  ``argmax(input_ids)`` (the end-of-text token, as open_clip pools) →
  ``x W2`` → ``text_embeds``.

:func:`reference_embeddings` computes the same thing in numpy from the
stored weights, so tests can check the graphs as well as the scorer.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

START_TOKEN = "<start_of_text>"
END_TOKEN = "<end_of_text>"
OPSET = 17
IR_VERSION = 9
TRAINING_SENTENCES = (
    "What colour is the cup on the table?",
    "How many people are standing next to the red car?",
    "Is there a dog in the picture? Please answer yes or no.",
    "Read the text on the sign above the door.",
    "Which animal is sitting on the grass near the tree?",
    "What is the man holding in his left hand?",
    "Count the windows of the tall building in the background.",
    "What brand is the logo printed on the white shirt?",
    "Where is the cat sleeping: on the sofa or under the chair?",
    "Describe the weather and the colour of the sky.",
)


def _train_tokenizer(vocab_size: int):
    """A byte-level BPE that ends every text with the end-of-text token, which has the largest id."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

    tokenizer = Tokenizer(models.BPE())
    tokenizer.normalizer = normalizers.Sequence([normalizers.NFC(), normalizers.Lowercase()])
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),  # every byte encodes: no unknown tokens
        show_progress=False,
    )
    tokenizer.train_from_iterator(TRAINING_SENTENCES, trainer)
    # Added after training, so start and end get the two largest ids, as in CLIP.
    tokenizer.add_special_tokens([START_TOKEN, END_TOKEN])
    start, end = tokenizer.token_to_id(START_TOKEN), tokenizer.token_to_id(END_TOKEN)
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{START_TOKEN} $A {END_TOKEN}", special_tokens=[(START_TOKEN, start), (END_TOKEN, end)]
    )
    return tokenizer


def _save_graph(path: Path, nodes, inputs, outputs, weights: dict[str, np.ndarray], name: str) -> None:
    import onnx
    from onnx import helper, numpy_helper

    graph = helper.make_graph(
        nodes, name, inputs, outputs, initializer=[numpy_helper.from_array(v, k) for k, v in weights.items()]
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="pgpcodec.testing")
    model.ir_version = IR_VERSION  # the onnx package's default can be newer than onnxruntime reads
    onnx.checker.check_model(model, full_check=True)
    onnx.save(model, str(path))


def _vision_graph(path: Path, rng: np.random.Generator, image_size: int, patch: int, width: int, embed_dim: int) -> None:
    from onnx import TensorProto, helper

    features = 3 * (image_size // patch) ** 2
    weights = {
        "patch_weight": rng.normal(0, features**-0.5, (features, width)).astype(np.float32),
        "patch_bias": rng.normal(0, 0.1, width).astype(np.float32),
        "projection": rng.normal(0, width**-0.5, (width, embed_dim)).astype(np.float32),
    }
    nodes = [
        helper.make_node("AveragePool", ["pixel_values"], ["pooled"], kernel_shape=[patch, patch], strides=[patch, patch]),
        helper.make_node("Flatten", ["pooled"], ["flat"], axis=1),
        helper.make_node("MatMul", ["flat", "patch_weight"], ["hidden_linear"]),
        helper.make_node("Add", ["hidden_linear", "patch_bias"], ["hidden_biased"]),
        helper.make_node("Tanh", ["hidden_biased"], ["hidden"]),
        helper.make_node("MatMul", ["hidden", "projection"], ["image_embeds"]),
    ]
    inputs = [helper.make_tensor_value_info("pixel_values", TensorProto.FLOAT, ["batch", 3, image_size, image_size])]
    outputs = [helper.make_tensor_value_info("image_embeds", TensorProto.FLOAT, ["batch", embed_dim])]
    _save_graph(path, nodes, inputs, outputs, weights, "tiny_clip_vision")


def _text_graph(path: Path, rng: np.random.Generator, vocab: int, context_length: int, width: int, embed_dim: int) -> None:
    from onnx import TensorProto, helper

    running_mean = np.tril(np.ones((context_length, context_length), dtype=np.float32))
    running_mean /= running_mean.sum(axis=1, keepdims=True)
    weights = {
        "token_embedding": rng.normal(0, 1.0, (vocab, width)).astype(np.float32),
        "position_embedding": rng.normal(0, 0.1, (context_length, width)).astype(np.float32),
        "running_mean": running_mean,
        "mix_weight": rng.normal(0, width**-0.5, (width, width)).astype(np.float32),
        "mix_bias": rng.normal(0, 0.1, width).astype(np.float32),
        "projection": rng.normal(0, width**-0.5, (width, embed_dim)).astype(np.float32),
    }
    nodes = [
        helper.make_node("Gather", ["token_embedding", "input_ids"], ["tokens"]),
        helper.make_node("Add", ["tokens", "position_embedding"], ["positioned"]),
        helper.make_node("MatMul", ["running_mean", "positioned"], ["mixed"]),
        helper.make_node("MatMul", ["mixed", "mix_weight"], ["hidden_linear"]),
        helper.make_node("Add", ["hidden_linear", "mix_bias"], ["hidden_biased"]),
        helper.make_node("Tanh", ["hidden_biased"], ["hidden"]),
        helper.make_node("ArgMax", ["input_ids"], ["end_position"], axis=1, keepdims=1),
        helper.make_node("GatherND", ["hidden", "end_position"], ["pooled"], batch_dims=1),
        helper.make_node("MatMul", ["pooled", "projection"], ["text_embeds"]),
    ]
    inputs = [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", context_length])]
    outputs = [helper.make_tensor_value_info("text_embeds", TensorProto.FLOAT, ["batch", embed_dim])]
    _save_graph(path, nodes, inputs, outputs, weights, "tiny_clip_text")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def build_tiny_clip(
    directory: str | Path,
    *,
    embed_dim: int = 32,
    seed: int = 0,
    name: str = "tiny-random-clip",
    image_size: int = 224,
    patch: int = 32,
    context_length: int = 77,
    width: int = 48,
    vocab_size: int = 320,
    int8: bool = True,
) -> Path:
    """Write a complete random-init model directory to ``directory`` (created) and return it."""
    from .export import quantize_int8

    if image_size % patch:
        raise ValueError(f"image_size {image_size} must be a multiple of patch {patch}")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    tokenizer = _train_tokenizer(vocab_size)
    tokenizer.save(str(directory / "tokenizer.json"))
    files = {"vision": "vision.onnx", "text": "text.onnx", "tokenizer": "tokenizer.json"}
    _vision_graph(directory / files["vision"], rng, image_size, patch, width, embed_dim)
    _text_graph(directory / files["text"], rng, tokenizer.get_vocab_size(with_added_tokens=True), context_length, width, embed_dim)
    if int8:
        for role in ("vision", "text"):
            files[f"{role}_int8"] = f"{role}.int8.onnx"
            quantize_int8(directory / files[role], directory / files[f"{role}_int8"], op_types=None)
    manifest = {
        "format": "pgpcodec-clip-onnx",
        "format_version": 1,
        "name": name,
        "architecture": f"tiny-random-clip (test model: {image_size // patch}x{image_size // patch} mean-pooled patches, width {width})",
        "image_size": image_size,
        "context_length": context_length,
        "embed_dim": embed_dim,
        "logit_scale": 100.0,
        "weights": "random-init",
        "source": {"exported_from": "pgpcodec_scorers.tinyclip.testing.build_tiny_clip", "seed": seed},
        "files": files,
        "sha256": {file: _sha256(directory / file) for file in files.values()},
    }
    (directory / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return directory


def _initializers(path: Path) -> dict[str, np.ndarray]:
    import onnx
    from onnx import numpy_helper

    return {t.name: numpy_helper.to_array(t) for t in onnx.load(str(path)).graph.initializer}


def reference_embeddings(directory: str | Path, pixel_values: np.ndarray, input_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The fp32 graphs of a :func:`build_tiny_clip` directory computed in numpy: (image_embeds, text_embeds)."""
    directory = Path(directory)
    vision = _initializers(directory / "vision.onnx")
    batch, channels, size, _ = pixel_values.shape
    grid = int(round((vision["patch_weight"].shape[0] / channels) ** 0.5))
    patch = size // grid
    pooled = pixel_values.reshape(batch, channels, grid, patch, grid, patch).mean(axis=(3, 5)).reshape(batch, -1)
    image = np.tanh(pooled @ vision["patch_weight"] + vision["patch_bias"]) @ vision["projection"]

    text = _initializers(directory / "text.onnx")
    tokens = text["token_embedding"][input_ids] + text["position_embedding"]
    hidden = np.tanh((text["running_mean"] @ tokens) @ text["mix_weight"] + text["mix_bias"])
    pooled_text = hidden[np.arange(len(input_ids)), input_ids.argmax(axis=1)]
    return image, pooled_text @ text["projection"]
