"""The cheng2020 codec. Round trips use RANDOM weights (pretrained=False + update(force=True)):
real entropy coding of real latents, meaningless rate–distortion. No pretrained weights are
obtainable here."""

import numpy as np
import pytest

from pgpcodec.errors import CodecError, InputError, MissingResourceError
from pgpcodec.testing.codec_contract import sample_image

pytest.importorskip("compressai")
from pgpcodec_codecs.cheng2020 import MAGIC, Cheng2020Codec, pack_stream, unpack_stream  # noqa: E402


@pytest.fixture(scope="module")
def codec():
    return Cheng2020Codec(pretrained=False, threads=1)


def test_container_round_trip():
    data = pack_stream(4, False, 7, (65, 3), (8, 12), [[b"abc"], [b"", b"z" * 300]])
    parsed = unpack_stream(data)
    assert data.startswith(MAGIC)
    assert parsed == {"quality": 4, "pretrained": False, "seed": 7, "size": (65, 3), "latent": (8, 12),
                      "strings": [[b"abc"], [b"", b"z" * 300]]}
    for broken in (data[:-1], data + b"\x00", b"NOTMAGIC" + data[8:], data[:10]):
        with pytest.raises(CodecError):
            unpack_stream(broken)


def test_random_weights_round_trip(codec, monkeypatch):
    image = sample_image(70, 40)
    encoded = codec.encode(image, 2)
    header = unpack_stream(encoded.data)
    assert header["size"] == (70, 40) and header["latent"] == (1, 2)  # padded to 128x64; the hyper-latent grid is /64
    decoded = codec.decode(encoded.data)
    assert decoded.shape == image.shape
    # Decoding rebuilds the model from the header, even in a fresh codec with other settings.
    assert np.array_equal(Cheng2020Codec(pretrained=True, threads=1).decode(encoded.data), decoded)
    with monkeypatch.context() as patch:  # the header's size is checked before any decoding
        patch.setenv("PGPCODEC_MAX_PIXELS", "1000")
        with pytest.raises(InputError, match="70x40 is 2,800 pixels, over the limit of 1,000"):
            codec.decode(encoded.data)


def test_offline_pretrained_gives_clear_error(monkeypatch):
    import urllib.error

    import compressai.zoo.image as zoo

    def offline(url, **kwargs):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(zoo, "load_state_dict_from_url", offline)
    with pytest.raises(MissingResourceError) as info:
        Cheng2020Codec(pretrained=True).encode(sample_image(16, 16), 1)
    assert "cheng2020-anchor-1-" in info.value.hint and "checkpoints" in info.value.hint


def test_cli_round_trip_with_random_weights(tmp_path, capsys):
    from PIL import Image

    from pgpcodec.cli import main

    source, stream, png = tmp_path / "in.png", tmp_path / "x.c2020", tmp_path / "x.png"
    Image.fromarray(sample_image(20, 12)).save(source)
    for args in (
        ["encode", str(source), "--scorer", "uniform", "--prompt-processor", "none", "--codec", "cheng2020", "-q", "1",
         "--codec-option", "pretrained=false", "--codec-option", "threads=1", "-o", str(stream)],
        ["decode", str(stream), "-o", str(png)],
    ):
        with pytest.raises(SystemExit) as info:
            main(args)
        captured = capsys.readouterr()
        assert info.value.code == 0, captured.err
        if args[0] == "encode":  # figures from random weights say so
            assert "cheng2020 has RANDOM-INIT weights" in captured.err
    assert Image.open(png).size == (20, 12)
