"""ONNX export of randomly initialised TinyCLIP models of the real configs, against torch.

Random weights: these check that the graphs compute what the torch model
computes (and that pruning is applied correctly), not semantic quality.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")
onnxruntime = pytest.importorskip("onnxruntime")

from pgpcodec.cli import main  # noqa: E402
from pgpcodec_scorers.tinyclip.export import tinyclip_towers  # noqa: E402
from pgpcodec_scorers.tinyclip.install import import_model  # noqa: E402
from pgpcodec_scorers.tinyclip.verify import sha256_file  # noqa: E402
from pgpcodec_scorers.tinyclip.verify import verify_dir  # noqa: E402

SMALL = "TinyCLIP-ViT-8M-16-Text-3M"
AUTO = "TinyCLIP-auto-ViT-22M-32-Text-10M"


def _inputs(seed: int, batch: int):
    generator = torch.Generator().manual_seed(seed)
    pixels = torch.randn(batch, 3, 224, 224, generator=generator)
    ids = torch.zeros(batch, 77, dtype=torch.int64)
    for row in range(batch):
        length = 2 + 11 * row
        ids[row, 0] = 49406
        ids[row, 1 : length - 1] = torch.randint(1, 49406, (length - 2,), generator=generator)
        ids[row, length - 1] = 49407
    ids[-1, 1:] = torch.randint(1, 49406, (76,), generator=generator)  # a full row ending at position 76
    ids[-1, 76] = 49407
    return pixels, ids


def _onnx(path, name, array):
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {name: array})[0]


def _cosines(a, b):
    return (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def _assert_parity(directory, vision, text, seed):
    for batch in (1, 3):  # the batch axis is dynamic
        pixels, ids = _inputs(seed + batch, batch)
        with torch.no_grad():
            image_ref, text_ref = vision(pixels).numpy(), text(ids).numpy()
        image_fp32 = _onnx(directory / "vision.onnx", "pixel_values", pixels.numpy())
        text_fp32 = _onnx(directory / "text.onnx", "input_ids", ids.numpy())
        assert image_fp32.shape == image_ref.shape == (batch, 512)
        assert np.abs(image_fp32 - image_ref).max() < 1e-4
        assert np.abs(text_fp32 - text_ref).max() < 1e-4
        assert _cosines(_onnx(directory / "vision.int8.onnx", "pixel_values", pixels.numpy()), image_ref).min() > 0.99


@pytest.fixture(scope="module")
def small_model(tmp_path_factory):
    """The check's command: ``pgpcodec models export --config … --random-init --out DIR``."""
    out = tmp_path_factory.mktemp("export") / "tiny23"
    with pytest.raises(SystemExit) as exit_:
        main(["models", "export", "--config", SMALL, "--random-init", "--out", str(out)])
    assert exit_.value.code == 0
    return out


def test_small_model_directory_follows_the_spec(small_model):
    manifest = json.loads((small_model / "manifest.json").read_text())
    assert manifest["format"] == "pgpcodec-clip-onnx" and manifest["format_version"] == 1
    assert manifest["weights"] == "random-init"
    assert (manifest["architecture"], manifest["image_size"], manifest["context_length"], manifest["embed_dim"]) == (SMALL, 224, 77, 512)
    assert set(manifest["files"]) == {"vision", "text", "vision_int8", "tokenizer"}  # no unused int8 text graph
    assert not (small_model / "text.int8.onnx").exists()
    assert all(check.ok for check in verify_dir(small_model))
    for graph, (input_name, output_name) in {"vision.onnx": ("pixel_values", "image_embeds"), "text.onnx": ("input_ids", "text_embeds")}.items():
        session = onnxruntime.InferenceSession(str(small_model / graph), providers=["CPUExecutionProvider"])
        (given,), (produced,) = session.get_inputs(), session.get_outputs()
        assert (given.name, produced.name) == (input_name, output_name)
        assert isinstance(given.shape[0], str)  # dynamic batch


def test_small_model_onnx_matches_torch(small_model):
    towers = tinyclip_towers(SMALL, seed=0)  # same seed as the export: the same weights
    _assert_parity(small_model, towers.vision, towers.text, seed=10)


def test_verify_detects_a_changed_file(small_model, tmp_path):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(small_model, copy)
    with open(copy / "vision.int8.onnx", "r+b") as handle:
        handle.seek(100)
        handle.write(b"\xff\xff")
    bad = [c.file for c in verify_dir(copy) if not c.ok]
    assert bad == ["vision.int8.onnx"]


def test_import_list_verify_rm_a_model_directory(small_model, models_dir, capsys):
    def run(*args):
        with pytest.raises(SystemExit) as exit_:
            main(list(args))
        return exit_.value.code, capsys.readouterr()

    assert run("models", "import", "mine", str(small_model))[0] == 0
    code, out = run("models", "list")
    assert code == 0 and "mine" in out.out and "random-init" in out.out
    for name in ("tinyclip23", "tinyclip57", "tinyclip61", "tinyclip120"):
        assert name in out.out
    assert run("models", "verify", "mine")[0] == 0
    (models_dir / "mine" / "tokenizer.json").write_text("{}")
    code, out = run("models", "verify", "mine")
    assert code == 1 and "tokenizer.json: SHA-256 mismatch" in out.out
    assert run("models", "rm", "mine")[0] == 0
    assert not (models_dir / "mine").exists()


@pytest.mark.slow
def test_auto_variant_checkpoint_is_pruned_like_tinyclip_and_exports_exactly(tmp_path, models_dir):
    """A pruned checkpoint of the auto-22M config: load, prune, export; compare with the masked full model."""
    from pgpcodec_scorers.tinyclip._tinyclip.model import CLIP, prune_model
    from pgpcodec_scorers.tinyclip.export import _random_prune_structure, _tinyclip_config

    config = _tinyclip_config(AUTO)
    torch.manual_seed(3)
    masked = CLIP(**json.loads(json.dumps(config))).eval()
    _random_prune_structure(masked, AUTO, config, torch.Generator().manual_seed(4))
    pixels, ids = _inputs(20, 2)
    with torch.no_grad():
        # The full model with its L0 masks applied at run time: what TinyCLIP trains and evaluates.
        image_ref, text_ref = masked.encode_image(pixels).numpy(), masked.encode_text(ids).numpy()
        pruned = prune_model(masked)
    # What the model zoo publishes: the pruned tensors only, saved from a DDP-wrapped model.
    checkpoint = tmp_path / "TinyCLIP-auto-ViT-22M-32-Text-10M-LAION400M.pt"
    torch.save({"state_dict": {"module." + k: v for k, v in pruned.state_dict().items()}}, checkpoint)
    out = import_model("tinyclip57", checkpoint)  # the registry name gives the architecture
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["architecture"] == AUTO
    assert manifest["source"]["files"][checkpoint.name]["sha256"] == sha256_file(checkpoint)
    full_vision_bytes = 4 * 12 * 12 * config["vision_cfg"]["width"] ** 2
    assert (out / "vision.onnx").stat().st_size < full_vision_bytes / 2  # really pruned
    image_fp32 = _onnx(out / "vision.onnx", "pixel_values", pixels.numpy())
    text_fp32 = _onnx(out / "text.onnx", "input_ids", ids.numpy())
    assert np.abs(image_fp32 - image_ref).max() < 1e-4
    assert np.abs(text_fp32 - text_ref).max() < 1e-4
    assert _cosines(_onnx(out / "vision.int8.onnx", "pixel_values", pixels.numpy()), image_ref).min() > 0.99


def test_open_clip_style_checkpoint_loads_into_the_same_towers(tmp_path):
    """Old open_clip key names (visual.*, transformer.*, logit_scale) behind a DDP 'module.' prefix."""
    reference = tinyclip_towers(SMALL, seed=5)
    state = {}
    for key, value in reference.vision.inner.state_dict().items():
        state["module." + key] = value  # visual.*
    for key, value in reference.text.inner.state_dict().items():
        state["module." + key] = value  # token_embedding.*, transformer.*, ...
    state["module.logit_scale"] = torch.tensor(2.0)
    checkpoint = tmp_path / "small.pt"
    torch.save(state, checkpoint)
    loaded = tinyclip_towers(SMALL, checkpoint=checkpoint, seed=6)
    pixels, ids = _inputs(40, 2)
    with torch.no_grad():
        assert torch.equal(loaded.vision(pixels), reference.vision(pixels))
        assert torch.equal(loaded.text(ids), reference.text(ids))
    assert loaded.logit_scale == pytest.approx(float(np.exp(2.0)))


def test_checkpoint_of_another_architecture_is_a_clear_error(tmp_path):
    from pgpcodec_scorers.tinyclip.export import ExportError

    checkpoint = tmp_path / "wrong.pt"
    torch.save({"visual.conv1.weight": torch.zeros(3), "logit_scale": torch.tensor(1.0)}, checkpoint)
    with pytest.raises(ExportError, match="does not fit"):
        tinyclip_towers(SMALL, checkpoint=checkpoint)


def test_export_reports_progress_step_by_step(tmp_path):
    from pgpcodec_scorers.tinyclip.export import write_model_dir

    calls = []
    write_model_dir(tmp_path / "m", tinyclip_towers(SMALL, seed=1), name="m", weights="random-init", source={},
                    progress=lambda *c: calls.append(c))
    assert calls == [("models export", done, 5) for done in range(6)]
