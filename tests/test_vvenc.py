"""The vvenc codec: padding and cropping, the size SEI, QP semantics, options and ffmpeg errors."""

import stat

import numpy as np
import pytest

from pgpcodec.errors import MissingResourceError, UsageError
from pgpcodec.testing.codec_contract import independent_decode, psnr, sample_image
from pgpcodec_codecs import vvenc
from pgpcodec_codecs.vvenc import VvencCodec, insert_size_sei, nal_units, padded_size, read_size_sei, size_sei


@pytest.fixture(scope="module")
def codec():
    return VvencCodec()


def test_padded_size():
    assert padded_size(1, 1) == (16, 16)
    assert padded_size(15, 17) == (16, 18)
    assert padded_size(4000, 3) == (4000, 16)
    assert padded_size(640, 480) == (640, 480)


def test_size_sei_survives_emulation_prevention():
    # 256 = 00 00 01 00: without escaping it would contain a start code.
    stream = b"\x00\x00\x00\x01\x00\x79" + b"\xaa" * 5 + b"\x00\x00\x01\x00\x41" + b"\xbb" * 4
    with_sei = insert_size_sei(stream, 256, 65536)
    assert read_size_sei(with_sei) == (256, 65536)
    assert len(nal_units(with_sei)) == 3
    assert b"\x00\x00\x01" not in size_sei(256, 65536)[4:]
    assert read_size_sei(stream) is None


def test_roundtrip_odd_size_and_conformance_window(codec):
    image = sample_image(21, 13)
    encoded = codec.encode(image, 22)
    assert read_size_sei(encoded.data) == (21, 13)
    decoded = codec.decode(encoded.data)
    assert decoded.shape == (13, 21, 3) and psnr(decoded, image) > 25
    # ffmpeg applies the conformance window: 22x16 padded → 22x14 (the odd leftover row/column stays).
    assert independent_decode(".266", encoded.data).shape == (14, 22, 3)


def test_qp_is_the_slice_qp(codec, tmp_path):
    # VVenC's default lowers an intra picture's QP by 3; pgpcodec's QP 32 must equal plain ffmpeg -qp 35.
    import subprocess

    from pgpcodec.colour import bytes_to_planes, planes_to_bytes, rgb_to_yuv420, yuv420_to_rgb

    image = sample_image(64, 48)
    raw, plain = tmp_path / "in.yuv", tmp_path / "plain.266"
    raw.write_bytes(planes_to_bytes(rgb_to_yuv420(image)))
    ffmpeg = vvenc.ffmpeg_executable()
    subprocess.run([ffmpeg, "-loglevel", "error", "-f", "rawvideo", "-pix_fmt", "yuv420p10le", "-s", "64x48", "-i", str(raw),
                    "-c:v", "libvvenc", "-qpa", "0", "-preset", "faster", "-qp", "35", "-f", "vvc", str(plain)], check=True)
    decoded = subprocess.run([ffmpeg, "-loglevel", "error", "-i", str(plain), "-f", "rawvideo", "-pix_fmt", "yuv420p10le", "-"],
                             check=True, capture_output=True).stdout
    assert np.array_equal(codec.decode(codec.encode(image, 32).data), yuv420_to_rgb(*bytes_to_planes(decoded, 64, 48)))
    sizes = [len(codec.encode(image, qp).data) for qp in (20, 32, 44)]
    assert sizes[0] > sizes[1] > sizes[2]


def test_qpa_and_preset_options(codec):
    image = sample_image(64, 48)
    plain = codec.encode(image, 32).data
    assert VvencCodec(qpa="1").encode(image, 32).data != plain
    assert VvencCodec(preset="fast").qpa is False
    with pytest.raises(UsageError, match="preset"):
        VvencCodec(preset="ultrafast")
    with pytest.raises(UsageError, match="qpa"):
        VvencCodec(qpa="maybe")


def test_accepts_only_vvc(codec):
    assert codec.accepts(codec.encode(sample_image(16, 16)).data)
    assert not codec.accepts(b"\x00\x00\x00\x01\x40\x01\x0c")  # HEVC VPS
    assert not codec.accepts(b"\xff\xd8\xff\xe0")


def test_ffmpeg_without_libvvenc_names_the_package(tmp_path, monkeypatch):
    fake = tmp_path / "ffmpeg"
    fake.write_text("#!/bin/sh\necho ' V....D libx264  H.264'\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv(vvenc.FFMPEG_ENV, str(fake))
    with pytest.raises(MissingResourceError, match="no libvvenc encoder") as info:
        VvencCodec().encode(sample_image(16, 16))
    assert "imageio-ffmpeg==0.8.1" in info.value.hint


def test_missing_ffmpeg(monkeypatch):
    monkeypatch.setenv(vvenc.FFMPEG_ENV, "/nonexistent/ffmpeg")
    with pytest.raises(MissingResourceError, match="cannot run ffmpeg"):
        VvencCodec().encode(sample_image(16, 16))


def test_corrupt_stream_is_a_codec_error(codec):
    from pgpcodec.errors import CodecError

    with pytest.raises(CodecError):
        codec.decode(b"\x00\x00\x00\x01\x00\xa1garbage")


@pytest.mark.parametrize("width, height", [(1, 1), (15, 17), (641, 427)])
def test_decoded_sizes_in_ffmpegs_decoder_and_in_pgpcodec_decode(codec, width, height, tmp_path, run_cli):
    from PIL import Image

    image = sample_image(width, height)
    encoded = codec.encode(image)
    # imageio-ffmpeg's own decoder applies the conformance window. VVC's 4:2:0 crops in chroma units
    # (2 luma samples) and VVenC codes 4:2:0 only, so an odd width or height keeps one padded
    # column/row there: the smallest size any standard decoder can give. pgpcodec decode drops it.
    assert independent_decode(".266", encoded.data).shape == (height + height % 2, width + width % 2, 3)
    stream = tmp_path / "image.266"
    stream.write_bytes(encoded.data)
    code, _, err = run_cli("decode", stream, "-o", tmp_path / "out.png")
    assert code == 0, err
    assert Image.open(tmp_path / "out.png").size == (width, height)


def test_a_detailed_small_picture_at_qp_0_fits_ffmpegs_access_unit_buffer(codec):
    # ffmpeg's libvvenc wrapper holds a coded picture in width x height bytes: noise at QP 0 needs more.
    noise = np.random.default_rng(0).integers(0, 256, (17, 15, 3), dtype=np.uint8)
    encoded = codec.encode(noise, 0)
    assert codec.decode(encoded.data).shape == (17, 15, 3)
    assert independent_decode(".266", encoded.data).shape == (18, 16, 3)


@pytest.mark.parametrize("size", [(0, 0), (5, 0), (400, 300)])
def test_a_size_sei_that_does_not_fit_the_picture_is_a_clear_error(codec, size, tmp_path, run_cli):
    from pgpcodec.errors import CodecError

    encoded = codec.encode(sample_image(21, 13))
    damaged = encoded.data.replace(size_sei(21, 13), size_sei(*size))
    assert damaged != encoded.data
    with pytest.raises(CodecError, match=f"size SEI says {size[0]}x{size[1]}"):
        codec.decode(damaged)
    stream = tmp_path / "damaged.266"
    stream.write_bytes(damaged)
    code, _, err = run_cli("decode", stream, "-o", tmp_path / "out.png")
    assert code != 0 and "internal error" not in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1 and f"{size[0]}x{size[1]}" in err
    assert not (tmp_path / "out.png").exists()
