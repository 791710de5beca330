"""Hostile and odd images and prompts: a correct result or a clear pgpcodec error, never a crash."""

from __future__ import annotations

import itertools
import os
import uuid
from pathlib import Path

import numpy as np
import pytest
from hostile_files import HOSTILE, exif_rotated_jpeg, gradient, png_header_only, red_with_swapped_profile, write_hostile

from pgpcodec.errors import InputError, PgpcodecError
from pgpcodec.imaging import as_rgb_array, load_image
from pgpcodec.pipeline import Pipeline
from pgpcodec.prefilter import PrefilterSettings
from pgpcodec.testing.plugin import invoke_cli


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_load_image_gives_pixels_or_a_clear_error(name, tmp_path):
    maker, outcome = HOSTILE[name]
    path = tmp_path / name
    path.write_bytes(maker())
    if outcome == "error":
        with pytest.raises(InputError) as raised:
            load_image(path)
        assert str(path) in raised.value.message
    else:
        array, notes = load_image(path)
        assert array.dtype == np.uint8 and array.ndim == 3 and array.shape[2] == 3
        assert array.size > 0


def test_the_same_bytes_load_from_memory():
    array, _ = load_image(HOSTILE["cmyk.jpg"][0]())
    assert array.shape == (32, 48, 3)
    with pytest.raises(InputError, match="<bytes>"):
        load_image(b"not an image")


def test_exif_orientation_is_honoured():
    array, notes = load_image(exif_rotated_jpeg(6))
    # Stored 40 wide x 20 high, red left / blue right; orientation 6 rotates 90° clockwise.
    assert array.shape == (40, 20, 3)
    top, bottom = array[5, 10], array[35, 10]
    assert top[0] > 200 and top[2] < 60, top
    assert bottom[2] > 200 and bottom[0] < 60, bottom
    assert any("orientation 6" in note for note in notes)


def test_icc_profile_is_converted_to_srgb():
    """A profile with red and blue swapped: stored red pixels are really blue."""
    array, notes = load_image(red_with_swapped_profile())
    red, green, blue = (int(v) for v in array[16, 16])
    assert blue > 200 and red < 60, (red, green, blue)
    assert any("ICC" in note for note in notes)


def test_srgb_profile_is_left_alone(tmp_path):
    from PIL import Image, ImageCms

    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    path = tmp_path / "srgb.png"
    Image.fromarray(gradient(32, 16)).save(path, icc_profile=srgb)
    array, notes = load_image(path)
    assert np.array_equal(array, gradient(32, 16)) and notes == []


def test_broken_icc_profile_is_ignored_with_a_note(tmp_path):
    from PIL import Image

    path = tmp_path / "bad_icc.png"
    Image.fromarray(gradient(32, 16)).save(path, icc_profile=b"garbage" * 20)
    array, notes = load_image(path)
    assert np.array_equal(array, gradient(32, 16))
    assert any("ICC profile ignored" in note for note in notes)


def test_animation_keeps_the_first_frame_with_a_note():
    array, notes = load_image(HOSTILE["animated.gif"][0]())
    assert abs(int(array[0, 0, 0]) - 30) <= 2
    assert any("2 or more frames" in note for note in notes)  # counting GIF frames walks the file: not done


def test_alpha_is_composited_over_white():
    array, notes = load_image(HOSTILE["rgba.png"][0]())
    assert array[0, 0].tolist() == [255, 255, 255]  # alpha 0 at the first pixel
    assert any("alpha" in note for note in notes)


def test_sixteen_bit_is_scaled_not_clipped():
    gray, _ = load_image(HOSTILE["gray16.png"][0]())
    assert gray.max() == 255 and gray.min() == 0
    colour, _ = load_image(HOSTILE["rgb16.png"][0]())
    assert np.abs(colour.astype(int) - gradient(48, 32).astype(int)).max() <= 1


def test_pixel_limit_is_checked_from_the_header_before_decoding():
    with pytest.raises(InputError, match="over the limit of 1,000") as raised:
        load_image(png_header_only(100, 100), limit=1000)
    assert raised.value.parameter == "max_pixels" and "--" not in raised.value.hint  # the library names the parameter
    from pgpcodec.cli import flag_hint

    assert "--max-pixels" in flag_hint(raised.value)  # the CLI its flag
    with pytest.raises(InputError, match="decompression-bomb guard"):
        load_image(png_header_only(50_000, 50_000), limit=10**12)


def test_pixel_limit_from_the_environment(monkeypatch):
    monkeypatch.setenv("PGPCODEC_MAX_PIXELS", "500")
    with pytest.raises(InputError, match="over the limit of 500"):
        load_image(HOSTILE["png_named.jpg"][0]())


@pytest.mark.parametrize("array", [np.zeros((0, 5, 3), np.uint8), np.zeros((4, 4, 2), np.uint8), np.zeros((4, 4, 3), np.float32)])
def test_bad_arrays_are_refused(array):
    with pytest.raises(InputError):
        as_rgb_array(array)


def test_paths_that_are_not_files(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        load_image(tmp_path / "missing.png")
    with pytest.raises(InputError, match="directory"):
        load_image(tmp_path)


SHAPES = [(1, 10_000), (10_000, 1), (5, 3), (1, 1), (230, 1), (2, 300)]


@pytest.mark.parametrize(
    "size,scorer,profile",
    list(itertools.product(SHAPES, ["uniform", "regions"], ["native", "reference"])),
)
def test_extreme_shapes_through_every_scorer_and_profile(size, scorer, profile):
    width, height = size
    image = gradient(width, height)
    regions = [(0, 0, max(1, width // 2), max(1, height // 2))]
    # 225 is wider than the 56-pixel blocks small images get (slow on long images, so small ones only).
    for kernel in (11, 225) if width * height < 1000 else (11,):
        pipeline = Pipeline(scorer=scorer, codec="jpeg", prompt_processor="none", settings=PrefilterSettings(profile=profile, kernel_size=kernel))
        result = pipeline.prefilter(image, "x", regions=regions)
        assert result.image.shape == image.shape
        encoded = pipeline.encode_filtered(result, 50)
        assert pipeline.decode(encoded.data).shape == image.shape


@pytest.fixture(scope="module")
def tiny_clip_model(tmp_path_factory):
    """A tiny random-init CLIP in the tinyclip scorer's format: the prompt-guided path, without weights."""
    from pgpcodec_scorers.tinyclip.testing import build_tiny_clip

    return build_tiny_clip(tmp_path_factory.mktemp("tiny") / "model", seed=3)


@pytest.mark.parametrize("scorer", ["uniform", "tinyclip-random-init"])
def test_cli_batch_of_hostile_files_gives_one_line_each_and_no_traceback(scorer, tmp_path, capsys, request):
    expected = write_hostile(tmp_path / "in")
    files = sorted(str(p) for p in (tmp_path / "in").iterdir())
    out = tmp_path / "out"
    scoring = ["--scorer", "uniform", "--prompt-processor", "none"]
    if scorer != "uniform":
        scoring = ["--scorer", str(request.getfixturevalue("tiny_clip_model"))]
    code, stdout, stderr = invoke_cli(["encode", *files, "--prompt", "x", *scoring, "-o", str(out) + os.sep], capsys)
    assert code == 1  # some files failed
    assert "Traceback" not in stderr + stdout and "internal error" not in stderr and "Warning" not in stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    failed = sum(1 for name in expected.values() if name != "ok")
    assert lines.pop() == f"done {len(files) - failed}, failed {failed}"  # the batch's summary line
    assert len(lines) == len(files), stderr
    for path in files:
        mine = [line for line in lines if str(path) in line.split(" -> ")[0]]
        assert len(mine) == 1, (path, stderr)
        wanted = expected[Path(path).name]
        assert mine[0].startswith("error:") == (wanted == "error"), mine[0]
    assert len(list(out.iterdir())) == sum(1 for v in expected.values() if v == "ok")


def test_file_names_with_markup_and_colliding_stems(tmp_path, capsys):
    folder = tmp_path / "in"
    (folder / "a[").mkdir(parents=True)
    (folder / "a[" / "red].png").write_bytes(b"junk")  # the path reads a[/red].png: a Rich closing tag
    (folder / "pic.png").write_bytes(HOSTILE["png_named.jpg"][0]())
    (folder / "pic.jpg").write_bytes(HOSTILE["png_named.jpg"][0]())
    code, _, stderr = invoke_cli(
        ["encode", str(folder / "a[" / "red].png"), str(folder / "pic.png"), str(folder / "pic.jpg"), "--scorer", "uniform", "--prompt-processor", "none", "-o", str(tmp_path / "out")],
        capsys,
    )
    assert code == 1 and "a[/red].png" in stderr and "Traceback" not in stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["pic.jpg.jpg", "pic.png.jpg"]


class EchoScorer:
    """A prompt-guided tile scorer with deterministic fake embeddings (no model needed)."""

    @staticmethod
    def build():
        from pgpcodec.tile_scorer import TileScorer

        class Echo(TileScorer):
            name = "echo"
            seen: list[str] = []

            def embed_tiles(self, tiles):
                return tiles.reshape(len(tiles), 3, -1).mean(axis=2) + 1.0

            def embed_text(self, text):
                self.seen.append(text)
                rng = np.random.default_rng(abs(hash(text)) % 2**32)
                return rng.uniform(0.5, 1.5, 3)

        return Echo()


HOSTILE_PROMPTS = {
    "long": "what colour is the cup on the table " * 2900,  # about 100 000 characters
    "emoji": "🐱 is the 🚗 red? 🤔" * 5,
    "cjk": "这是什么颜色的杯子？",
    "arabic": "ما لون الكوب؟",
    "control": "what\x00 is\x1b[31m this\x07\r\n?",
    "command": "$(touch {canary}); `touch {canary}`; rm -rf / | cat /etc/passwd && touch {canary}",
}


@pytest.mark.parametrize("name", sorted(HOSTILE_PROMPTS))
def test_hostile_prompts_are_only_ever_data(name, tmp_path):
    canary = tmp_path / f"canary-{uuid.uuid4().hex}"
    prompt = HOSTILE_PROMPTS[name].format(canary=canary)
    scorer = EchoScorer.build()
    pipeline = Pipeline(scorer=scorer, codec="jpeg", prompt_processor="nltk")
    result = pipeline.encode(gradient(300, 200), prompt, quality=60)
    assert result.data[:2] == b"\xff\xd8"
    assert not canary.exists()
    embedded = scorer.seen[-1]
    assert not any(ord(char) < 32 for char in embedded)


@pytest.mark.parametrize("prompt", ["", "   \t\n  ", None])
def test_empty_prompts_are_refused_by_prompt_guided_scorers(prompt):
    pipeline = Pipeline(scorer=EchoScorer.build(), codec="jpeg", prompt_processor="none")
    with pytest.raises(InputError, match="prompt is empty"):
        pipeline.encode(gradient(64, 64), prompt)
    # …and accepted by prompt-free ones.
    assert Pipeline(scorer="uniform", codec="jpeg", prompt_processor="none").encode(gradient(64, 64), prompt).data


def test_prompt_that_reduces_to_nothing_still_encodes():
    """Only stop words and punctuation: the processor leaves nothing, the scorer still runs."""
    pipeline = Pipeline(scorer=EchoScorer.build(), codec="jpeg", prompt_processor="nltk")
    try:
        result = pipeline.encode(gradient(64, 64), "is the ? , .", quality=50)
    except PgpcodecError as exc:  # a clear refusal is acceptable, a crash is not
        assert "prompt" in exc.message
    else:
        assert result.data


def test_no_shell_anywhere_in_the_package():
    root = Path(__file__).resolve().parents[1]
    sources = [*root.glob("pgpcodec/**/*.py"), *root.glob("codec_plugins/**/*.py"), *root.glob("scorer_plugins/**/*.py")]
    assert sources
    for path in sources:
        text = path.read_text(encoding="utf-8")
        for pattern in ("shell=True", "os.system(", "os.popen(", "commands.getoutput"):
            assert pattern not in text, f"{path} uses {pattern}"


@pytest.mark.parametrize("codec_name", ["jpeg", "heic", "vvenc"])
def test_decoding_respects_the_pixel_limit(codec_name, monkeypatch):
    from pgpcodec.errors import PgpcodecError
    from pgpcodec.plugins import get_registry
    from pgpcodec.testing.samples import sample_image

    codec = get_registry().create("codec", codec_name)
    data = codec.encode(sample_image(64, 48), None).data
    assert codec.decode(data).shape == (48, 64, 3)
    monkeypatch.setenv("PGPCODEC_MAX_PIXELS", "1000")
    with pytest.raises(PgpcodecError, match="(over the limit|exceeds specified max pixel count)"):
        codec.decode(data)
