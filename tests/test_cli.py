import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

REGION = "100,60,180,140"


def one_line_error(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


def test_encode_regions_smaller_than_plain_with_region_untouched(run_cli, photo_path, photo, tmp_path):
    out, plain, filtered = tmp_path / "out.jpg", tmp_path / "plain.jpg", tmp_path / "filtered.png"
    code, _, err = run_cli(
        "encode", photo_path, "--prompt", "What colour is the cup?", "--scorer", "regions", "--regions", REGION,
        "--codec", "jpeg", "-q", "50", "-o", out, "--save-filtered", filtered,
    )
    assert code == 0, err
    assert "bpp" in err
    code, _, err = run_cli("encode", photo_path, "--no-prefilter", "--codec", "jpeg", "-q", "50", "-o", plain)
    assert code == 0, err
    assert Image.open(out).format == "JPEG"
    assert out.stat().st_size < plain.stat().st_size
    pixels = np.asarray(Image.open(filtered))
    assert np.array_equal(pixels[60:140, 100:180], photo[60:140, 100:180])


def test_encode_json_and_explain(run_cli, photo_path, tmp_path):
    import json

    explain = tmp_path / "explain.png"
    code, out, err = run_cli(
        "encode", photo_path, "--scorer", "regions", "--regions", REGION, "--codec", "webp", "-q", "40",
        "-o", tmp_path / "o.webp", "--json", "--explain", explain,
    )
    assert code == 0, err
    info = json.loads(out)
    assert info["codec"] == "webp" and info["bytes"] == (tmp_path / "o.webp").stat().st_size
    assert info["bpp"] == pytest.approx(8 * info["bytes"] / (320 * 240))
    with Image.open(explain) as picture:
        assert picture.format == "PNG" and picture.width > 3 * picture.height


def test_decode_round_trip(run_cli, photo_path, tmp_path):
    encoded, decoded = tmp_path / "a.heic", tmp_path / "a.png"
    assert run_cli("encode", photo_path, "--no-prefilter", "--codec", "heic", "-q", "60", "-o", encoded)[0] == 0
    code, _, err = run_cli("decode", encoded, "-o", decoded)
    assert code == 0, err
    assert Image.open(decoded).size == (320, 240)
    renamed = tmp_path / "mystery.bin"
    renamed.write_bytes(encoded.read_bytes())
    assert run_cli("decode", renamed, "-o", tmp_path / "b.png")[0] == 0  # recognised from its bytes


def test_prefilter_command(run_cli, photo_path, tmp_path):
    code, _, err = run_cli("prefilter", photo_path, "--scorer", "uniform", "--prompt", "x", "-o", tmp_path / "f.png")
    assert code == 0, err
    assert Image.open(tmp_path / "f.png").size == (320, 240)


@pytest.fixture
def bad_files(tmp_path, photo_path):
    truncated = tmp_path / "truncated.png"
    truncated.write_bytes(photo_path.read_bytes()[:400])
    text = tmp_path / "notes.jpg"
    text.write_text("this is not an image")
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    return {"truncated": truncated, "text": text, "empty": empty, "missing": tmp_path / "nope.png"}


REGIONS = ["--scorer", "regions", "--regions", REGION]


@pytest.mark.parametrize(
    "case, args, expected",
    [
        ("truncated", REGIONS, "truncated or corrupt"),
        ("text", REGIONS, "not a readable image"),
        ("empty", REGIONS, "file is empty"),
        ("missing", REGIONS, "no such file"),
        ("good", ["--scorer", "nope"], "unknown scorer 'nope' (valid names: "),
        ("good", [*REGIONS, "--codec", "nope"], "unknown codec 'nope' (valid names: avif"),
        ("good", [*REGIONS, "-q", "101"], "quality 101 is out of range for codec 'jpeg' (use a whole number from 1 to 100)"),
        ("good", ["--scorer", "regions", "--regions", "1,2,3"], "is not four numbers"),
        ("good", ["--scorer", "regions", "--regions", "0,0,9999,10"], "outside the 320x240 image"),
        ("good", ["--scorer", "regions"], "needs at least one region"),
        ("good", [*REGIONS, "--logit-scale", "0"], "--logit-scale must be > 0, got 0"),
        ("good", [*REGIONS, "--scorer-option", "logit_scale=50"], "logit_scale is a filter setting, not a scorer option (give it as the logit_scale setting: --logit-scale)"),
    ],
)
def test_bad_input_is_one_line_and_non_zero(run_cli, bad_files, photo_path, tmp_path, case, args, expected):
    source = photo_path if case == "good" else bad_files[case]
    code, _, err = run_cli("encode", source, *args, "-o", tmp_path / "out.jpg")
    assert code != 0
    assert expected in one_line_error(err)
    assert not (tmp_path / "out.jpg").exists()


def test_output_equal_to_input_is_refused(run_cli, photo_path):
    before = photo_path.read_bytes()
    code, _, err = run_cli("encode", photo_path, "--scorer", "uniform", "-p", "x", "--codec", "jpeg", "-o", photo_path)
    assert code != 0 and "would overwrite the input" in one_line_error(err)
    assert photo_path.read_bytes() == before


def test_existing_output_needs_force(run_cli, photo_path, tmp_path):
    out = tmp_path / "out.jpg"
    out.write_bytes(b"keep me")
    code, _, err = run_cli("encode", photo_path, "--scorer", "uniform", "-p", "x", "-o", out)
    assert code != 0 and "--force" in one_line_error(err)
    assert out.read_bytes() == b"keep me"
    assert run_cli("encode", photo_path, "--scorer", "uniform", "-p", "x", "-o", out, "--force")[0] == 0
    assert out.read_bytes()[:3] == b"\xff\xd8\xff"
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".") or p.suffix == ".tmp"]  # no temp files left


def test_batch_reports_failures_and_carries_on(run_cli, photo_path, bad_files, tmp_path):
    out = tmp_path / "out"
    code, _, err = run_cli("encode", photo_path, bad_files["text"], bad_files["truncated"], "--scorer", "uniform", "-p", "x", "-o", out)
    assert code == 1
    assert "Traceback" not in err
    assert len([line for line in err.splitlines() if "error" in line]) == 2
    assert [p.name for p in out.iterdir()] == ["photo.jpg"]


def test_debug_shows_the_traceback(photo_path, tmp_path):
    from pgpcodec.cli import main
    from pgpcodec.errors import UnknownPluginError

    with pytest.raises(UnknownPluginError):
        main(["--debug", "encode", str(photo_path), "--codec", "nope", "-o", str(tmp_path / "x.jpg")])


def test_help_and_import_stay_light():
    code = (
        "import sys\nfrom pgpcodec.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = ('numpy', 'PIL', 'scipy', 'onnxruntime', 'torch', 'matplotlib', 'nltk', 'rich')\n"
        "print(sorted(m for m in heavy if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip().splitlines()[-1] == "[]"


def test_version(run_cli):
    import pgpcodec

    code, out, _ = run_cli("--version")
    assert code == 0 and pgpcodec.__version__ in out


def test_outputs_get_normal_permissions(run_cli, photo_path, tmp_path):
    import os

    out = tmp_path / "perm.jpg"
    assert run_cli("encode", photo_path, "--scorer", "uniform", "-p", "x", "-o", out)[0] == 0
    mask = os.umask(0)
    os.umask(mask)
    assert out.stat().st_mode & 0o777 == 0o666 & ~mask
