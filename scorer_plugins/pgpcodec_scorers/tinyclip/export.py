"""Export CLIP checkpoints to the scorer's ONNX model directory.

Three ways in, one way out:

- a TinyCLIP config with random weights (``random_init``), for tests and
  for measuring speed where no weights can be had;
- a TinyCLIP/open_clip ``.pt`` checkpoint (the TinyCLIP model-zoo release
  files), including the ``auto`` variants: their checkpoints hold the
  structurally pruned tensors, which are loaded into the full masked model
  and pruned exactly as TinyCLIP's own ``create_model`` does;
- a Hugging Face ``transformers`` CLIPModel folder (``config.json`` +
  weights + ``tokenizer.json``).

The output is the directory described in the shared spec: ``vision.onnx``
and ``text.onnx`` (fp32), a ``quantize_dynamic`` int8 copy of the vision graph,
``tokenizer.json`` and ``manifest.json``. Every export runs both graphs in
onnxruntime on a fixed random batch and compares them with torch: a fp32
difference above :data:`FP32_TOLERANCE` fails the export, and the measured
differences go into the manifest.

Needs the ``export`` extra (torch, transformers, ftfy, regex, onnx);
imported lazily.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from pgpcodec.errors import InputError, MissingResourceError, PgpcodecError, UsageError
from .cache import MANIFEST_FORMAT, MANIFEST_FORMAT_VERSION, MANIFEST_NAME
from .verify import sha256_file

FP32_TOLERANCE = 1e-4
ONNX_OPSET = 17
EOT_ID = 49407
FILES = {
    "vision": "vision.onnx",
    "text": "text.onnx",
    "vision_int8": "vision.int8.onnx",
    "text_int8": "text.int8.onnx",
    "tokenizer": "tokenizer.json",
}
# The full (unpruned) transformer sizes of the auto variants' configs give
# about 12·width² parameters per layer (attention 4·w², MLP 8·w²).
_NAMED_SIZE = re.compile(r"ViT-(\d+)M-\d+-Text-(\d+)M")


class ExportError(PgpcodecError):
    """A checkpoint cannot be exported, or its ONNX graphs disagree with torch."""


@dataclass
class Towers:
    """The two towers as torch modules, plus what the manifest needs to say about them."""

    vision: object
    text: object
    architecture: str
    image_size: int
    context_length: int
    embed_dim: int
    logit_scale: float
    tokenizer: object  # tokenizers.Tokenizer
    notes: dict = field(default_factory=dict)


def _require_export_extra():
    try:
        import onnx  # noqa: F401
        import torch  # noqa: F401
    except ImportError as exc:
        raise MissingResourceError(
            f"exporting needs the export extra ({exc.name} is not installed)",
            "pip install 'pgpcodec[export]'",
        ) from None


# ---- TinyCLIP / open_clip checkpoints -------------------------------------------------------


def tinyclip_configs() -> list[str]:
    """Names of the TinyCLIP architectures this package has configs for."""
    from ._tinyclip import CONFIG_DIR

    return sorted(p.stem for p in CONFIG_DIR.glob("TinyCLIP-*.json"))


def _tinyclip_config(name: str) -> dict:
    from ._tinyclip import CONFIG_DIR

    path = CONFIG_DIR / f"{name}.json"
    if not path.is_file():
        raise UsageError(f"unknown TinyCLIP config {name!r}", f"choose one of: {', '.join(tinyclip_configs())}")
    config = json.loads(path.read_text())
    if isinstance(config["vision_cfg"]["layers"], list):
        raise UsageError(f"{name} has a ResNet image tower; only the ViT TinyCLIP variants are supported")
    return config


def _load_checkpoint_state(path: Path) -> dict:
    import torch

    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # a truncated or foreign file: say which
        raise InputError(f"{path}: cannot be read as a torch checkpoint ({type(exc).__name__}: {exc})") from None
    if isinstance(state, dict) and "state_dict" in state:
        state = state["state_dict"]
    if not isinstance(state, dict) or not state:
        raise InputError(f"{path}: no state dict in the checkpoint")
    return {k.removeprefix("module."): v for k, v in state.items()}


def _auto_keep_fractions(architecture: str, config: dict) -> tuple[float, float]:
    """How much of each tower a random ``auto`` model keeps so it has about the named size."""
    match = _NAMED_SIZE.search(architecture)
    if not match:
        return 1.0, 1.0
    fractions = []
    for named, cfg in zip(match.groups(), (config["vision_cfg"], config["text_cfg"])):
        full = 12 * cfg["width"] ** 2 * cfg["layers"]
        fractions.append(min(1.0, math.sqrt(int(named) * 1e6 / full)))
    return fractions[0], fractions[1]


def _random_prune_structure(model, architecture: str, config: dict, generator) -> None:
    """Give each L0 mask of a random ``auto`` model a random keep/drop pattern.

    The masks are set the way ``load_pruned_model`` sets them for a real
    checkpoint (log-alpha ±10), but at random positions, so that pruning of
    hidden channels, heads and MLP neurons at arbitrary indices is exercised.
    """
    import torch

    fractions = _auto_keep_fractions(architecture, config)
    encoders = (model._image_encoder, model._text_encoder)
    for encoder, keep in zip(encoders, fractions):
        l0 = encoder.l0_module

        def pattern(size: int, minimum: int = 1) -> torch.Tensor:
            kept = max(minimum, round(keep * size))
            values = torch.full((size,), -10.0)
            values[torch.randperm(size, generator=generator)[:kept]] = 10.0
            return values

        with torch.no_grad():
            l0.hidden_loga.copy_(pattern(l0.hidden_loga.shape[0]))
            for layer in range(l0.heads_loga.shape[0]):
                l0.heads_loga[layer].copy_(pattern(l0.heads_loga.shape[1]))
                l0.intermediate_loga[layer].copy_(pattern(l0.intermediate_loga.shape[1]))


def tinyclip_towers(architecture: str, checkpoint: Path | None = None, seed: int = 0) -> Towers:
    """TinyCLIP towers from a config name, with weights from ``checkpoint`` or random (seeded)."""
    _require_export_extra()
    import torch

    from ._tinyclip.model import CLIP, load_pruned_model, prune_model
    from .clip_tokenizer import build_clip_tokenizer

    config = _tinyclip_config(architecture)
    torch.manual_seed(seed)
    model = CLIP(**json.loads(json.dumps(config))).eval()
    pruned = bool(config.get("mask_image") or config.get("mask_text"))
    notes = {}
    if checkpoint is not None:
        state = _load_checkpoint_state(checkpoint)
        try:
            if pruned:
                load_pruned_model(model, state)
            else:
                model.load_state_dict(state)
        except (RuntimeError, KeyError, AssertionError) as exc:
            raise ExportError(
                f"{checkpoint} does not fit the {architecture} architecture ({type(exc).__name__}: {str(exc)[:300]})",
                "check the config name matches the checkpoint",
                parameter="config",
            ) from None
    elif pruned:
        generator = torch.Generator().manual_seed(seed)
        _random_prune_structure(model, architecture, config, generator)
        notes["pruning"] = "random keep/drop pattern at about the named size (the real shapes come from the checkpoint)"
    if pruned:
        model = prune_model(model).eval()
    return Towers(
        vision=_tower(model._image_encoder, lambda encoder, pixel_values: encoder(pixel_values)),
        text=_tower(model._text_encoder, lambda encoder, input_ids: encoder(input_ids)),
        architecture=architecture,
        image_size=config["vision_cfg"]["image_size"],
        context_length=config["text_cfg"]["context_length"],
        embed_dim=config["embed_dim"],
        logit_scale=float(model.logit_scale.detach().exp()),
        tokenizer=build_clip_tokenizer(),
        notes=notes,
    )


# ---- Hugging Face transformers checkpoints --------------------------------------------------


def hf_towers(directory: Path) -> Towers:
    """Towers of a ``transformers`` CLIPModel saved in ``directory``."""
    _require_export_extra()
    try:
        from transformers import CLIPModel
    except ImportError:
        raise MissingResourceError("exporting a Hugging Face checkpoint needs transformers", "pip install 'pgpcodec[export]'") from None
    from tokenizers import Tokenizer

    from .clip_tokenizer import build_clip_tokenizer, check_adds_special_tokens

    if not (directory / "config.json").is_file():
        raise InputError(f"{directory}: no config.json, so not a transformers checkpoint")
    try:
        model = CLIPModel.from_pretrained(directory).eval()
    except Exception as exc:
        raise ExportError(f"{directory}: transformers cannot load it as a CLIPModel ({type(exc).__name__}: {str(exc)[:300]})") from None
    notes = {}
    if (directory / "tokenizer.json").is_file():
        tokenizer = Tokenizer.from_file(str(directory / "tokenizer.json"))
        try:
            check_adds_special_tokens(tokenizer)
        except ValueError as exc:
            raise ExportError(f"{directory}/tokenizer.json: {exc}") from None
    else:
        tokenizer = build_clip_tokenizer()
        notes["tokenizer"] = "the checkpoint has no tokenizer.json; built from CLIP's BPE merges"
    text_config, vision_config = model.config.text_config, model.config.vision_config
    return Towers(
        vision=_tower(model, lambda clip, pixel_values: clip.visual_projection(clip.vision_model(pixel_values=pixel_values).pooler_output)),
        text=_tower(model, lambda clip, input_ids: clip.text_projection(clip.text_model(input_ids=input_ids).pooler_output)),
        architecture=(model.config.name_or_path or directory.name) + " (transformers CLIPModel)",
        image_size=vision_config.image_size,
        context_length=text_config.max_position_embeddings,
        embed_dim=model.config.projection_dim,
        logit_scale=float(model.logit_scale.detach().exp()),
        tokenizer=tokenizer,
        notes=notes,
    )


def _tower(inner, function):
    """A torch module computing ``function(inner, x)``, with ``inner``'s weights registered and frozen."""
    import torch

    class Tower(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = inner.requires_grad_(False)

        def forward(self, x):
            return function(self.inner, x)

    return Tower().eval()


# ---- ONNX ----------------------------------------------------------------------------------


def _example_inputs(towers: Towers, batch: int = 2):
    """A fixed random image batch and token rows (with EOT and zero padding)."""
    import torch

    generator = torch.Generator().manual_seed(1234)
    pixels = torch.randn(batch, 3, towers.image_size, towers.image_size, generator=generator)
    ids = torch.zeros(batch, towers.context_length, dtype=torch.int64)
    for row in range(batch):
        length = 3 + 5 * row
        ids[row, 0] = EOT_ID - 1
        ids[row, 1 : length - 1] = torch.randint(1, 49000, (length - 2,), generator=generator)
        ids[row, length - 1] = EOT_ID
    return pixels, ids


def _export_graph(module, example, path: Path, input_name: str, output_name: str) -> None:
    import warnings

    import torch

    # The TorchScript exporter: the dynamo one needs onnxscript, takes three
    # times as long here and writes the weights to a separate .data file.
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            module,
            (example,),
            str(path),
            input_names=[input_name],
            output_names=[output_name],
            dynamic_axes={input_name: {0: "batch"}, output_name: {0: "batch"}},
            opset_version=ONNX_OPSET,
            dynamo=False,
        )


def quantize_int8(source: Path, target: Path, op_types: tuple[str, ...] | None = ("MatMul",)) -> None:
    """Dynamic int8 quantisation of an ONNX graph (onnxruntime), without its root-logger advice.

    Matrix products only by default. Quantised, the ViT's patch-embedding Conv becomes a
    ConvInteger that onnxruntime runs slower than the fp32 Conv: 43 % of the int8 vision graph's
    time, which held int8 to 1.1x fp32; without it int8 runs 2.4x fp32
    (benchmarks/bench_scorer.py, tinyclip57). ``None`` quantises every supported op.
    """
    import logging

    from onnxruntime.quantization import QuantType, quantize_dynamic

    root = logging.getLogger()
    level = root.level
    # quantize_dynamic logs "consider pre-processing" through the root logger on every call.
    root.setLevel(logging.ERROR)
    try:
        ops = list(op_types) if op_types is not None else None
        quantize_dynamic(str(source), str(target), weight_type=QuantType.QInt8, op_types_to_quantize=ops)
    finally:
        root.setLevel(level)


def _run(path: Path, name: str, array):
    import onnxruntime

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {name: array})[0]


def _cosine(a, b) -> float:
    import numpy as np

    a, b = a.reshape(len(a), -1), b.reshape(len(b), -1)
    return float(np.min((a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))))


def check_parity(directory: Path, towers: Towers) -> dict:
    """Compare the exported graphs with torch on a fixed random batch; raise if fp32 differs."""
    import numpy as np
    import torch

    pixels, ids = _example_inputs(towers)
    with torch.no_grad():
        reference = {"vision": towers.vision(pixels).numpy(), "text": towers.text(ids).numpy()}
    inputs = {"vision": ("pixel_values", pixels.numpy()), "text": ("input_ids", ids.numpy())}
    report = {}
    for tower, (name, array) in inputs.items():
        fp32 = _run(directory / FILES[tower], name, array)
        report[f"{tower}_max_abs_diff"] = float(np.abs(fp32 - reference[tower]).max())
        if (directory / FILES[f"{tower}_int8"]).is_file():
            report[f"{tower}_int8_min_cosine"] = _cosine(_run(directory / FILES[f"{tower}_int8"], name, array), reference[tower])
    worst = max(report["vision_max_abs_diff"], report["text_max_abs_diff"])
    if not worst < FP32_TOLERANCE:
        raise ExportError(f"the exported fp32 graphs differ from torch by {worst:.3g} (tolerance {FP32_TOLERANCE})")
    return report


def write_model_dir(
    out: Path,
    towers: Towers,
    *,
    name: str,
    weights: str,
    source: dict,
    int8: bool = True,
    force: bool = False,
    progress=None,
) -> Path:
    """Export ``towers`` into the model directory ``out``, atomically (built beside it, then renamed).

    ``progress("models export", done, total)`` (a :data:`pgpcodec.interfaces.Progress`) hears of each step:
    the two graph exports, the int8 quantisation, the parity check and the checksums.
    """
    out = Path(out)
    if out.exists() and not force:
        raise InputError(f"{out}: already exists", "ask for it to be replaced", parameter="force")
    out.parent.mkdir(parents=True, exist_ok=True)
    pixels, ids = _example_inputs(towers)
    total, step = (5 if int8 else 4), [0]

    def advance() -> None:
        step[0] += 1
        if progress:
            progress("models export", step[0], total)

    if progress:
        progress("models export", 0, total)
    with tempfile.TemporaryDirectory(prefix=".export-", dir=out.parent) as scratch:
        staged = Path(scratch) / "model"
        staged.mkdir()
        _export_graph(towers.vision, pixels, staged / FILES["vision"], "pixel_values", "image_embeds")
        advance()
        _export_graph(towers.text, ids, staged / FILES["text"], "input_ids", "text_embeds")
        advance()
        files = {role: FILES[role] for role in ("vision", "text", "tokenizer")}
        if int8:
            # The vision graph only: the scorer's int8 precision runs the fp32 text graph (its
            # embedding is cached per prompt), so an int8 text graph (53 MB for tinyclip23) went unused.
            quantize_int8(staged / FILES["vision"], staged / FILES["vision_int8"])
            files["vision_int8"] = FILES["vision_int8"]
            advance()
        towers.tokenizer.save(str(staged / FILES["tokenizer"]))
        parity = check_parity(staged, towers)
        advance()
        manifest = {
            "format": MANIFEST_FORMAT,
            "format_version": MANIFEST_FORMAT_VERSION,
            "name": name,
            "architecture": towers.architecture,
            "image_size": towers.image_size,
            "context_length": towers.context_length,
            "embed_dim": towers.embed_dim,
            "logit_scale": towers.logit_scale,
            "weights": weights,
            "source": {**source, **({"notes": towers.notes} if towers.notes else {}), "parity_random_batch": parity},
            "files": files,
            "sha256": {file: sha256_file(staged / file) for file in files.values()},
        }
        (staged / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2) + "\n")
        replace_dir(staged, out)
    advance()
    return out


def replace_dir(staged: Path, out: Path) -> None:
    """Move ``staged`` to ``out``; an existing ``out`` is swapped out first and then deleted."""
    if out.exists():
        old = out.with_name(f".{out.name}.old-{os.getpid()}")
        os.replace(out, old)
        os.replace(staged, out)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(staged, out)
