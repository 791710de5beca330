"""Helpers for testing pgpcodec and its plugins (tiny models built on the fly)."""
