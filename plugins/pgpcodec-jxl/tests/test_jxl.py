import numpy as np
import pytest

from pgpcodec.errors import CodecError, UsageError
from pgpcodec.testing.codec_contract import CodecContractTests
from pgpcodec_jxl import JpegXlCodec


class TestJpegXlContract(CodecContractTests):
    codec_name = "jxl"
    codec_options = {"effort": 3}  # libjxl's default effort 7 takes several seconds on a 12 MP image
    expect_all_to_work = True


def test_quality_100_is_lossless(pgpcodec_image):
    image = pgpcodec_image(40, 30)
    codec = JpegXlCodec(effort=1)
    np.testing.assert_array_equal(codec.decode(codec.encode(image, 100).data), image)


def test_higher_quality_is_closer(pgpcodec_image):
    image = pgpcodec_image(64, 48)
    codec = JpegXlCodec(effort=3)
    errors = [np.abs(codec.decode(codec.encode(image, q).data).astype(int) - image).mean() for q in (10, 50, 90)]
    assert errors[0] > errors[1] > errors[2]


def test_output_is_a_jpeg_xl_codestream(pgpcodec_image):
    data = JpegXlCodec().encode(pgpcodec_image(16, 16), 50).data
    assert data[:2] == b"\xff\x0a"


@pytest.mark.parametrize("effort", [0, 10, 2.5, True])
def test_bad_effort_is_refused(effort):
    with pytest.raises(UsageError):
        JpegXlCodec(effort=effort)


def test_truncated_bitstream_is_a_codec_error(pgpcodec_image):
    data = JpegXlCodec().encode(pgpcodec_image(64, 48), 90).data
    with pytest.raises(CodecError):
        JpegXlCodec().decode(data[: len(data) // 2])


def test_encode_and_decode_from_the_command_line(pgpcodec_cli, tmp_path):
    from pgpcodec.testing.samples import sample_file

    source = sample_file(tmp_path / "photo.png", 80, 60)
    out = tmp_path / "photo.jxl"
    result = pgpcodec_cli("encode", source, "--codec", "jxl", "--scorer", "uniform", "--prompt-processor", "none", "-q", "60", "-o", out)
    assert result.exit_code == 0, result.stderr
    assert out.read_bytes()[:2] == b"\xff\x0a"
    back = tmp_path / "back.png"
    result = pgpcodec_cli("decode", out, "-o", back)
    assert result.exit_code == 0, result.stderr
    from PIL import Image

    assert Image.open(back).size == (80, 60)
