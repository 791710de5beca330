"""The built-in Pillow codecs pass the same contract as third-party codecs."""

from pgpcodec.testing.codec_contract import CodecContract


class TestJpeg(CodecContract):
    codec_name = "jpeg"


class TestWebp(CodecContract):
    codec_name = "webp"


class TestAvif(CodecContract):
    codec_name = "avif"
    huge_size = (2000, 1500)  # libaom takes many seconds on 12 MP; 3 MP shows large images work


class TestHeic(CodecContract):
    codec_name = "heic"
    huge_size = (2000, 1500)  # likewise for x265
