"""Helpers for testing pgpcodec plugins: the codec contract (codec_contract)."""
