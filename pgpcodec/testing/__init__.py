"""Test kit for pgpcodec and its plugins.

- :mod:`pgpcodec.testing.plugin`: a pytest plugin with fixtures (enable it
  with ``pytest_plugins = ["pgpcodec.testing.plugin"]`` in a conftest.py).
- :mod:`pgpcodec.testing.scorer_contract` and
  :mod:`pgpcodec.testing.codec_contract`: test classes that every scorer and
  codec must pass; subclass them in your own tests.
- :mod:`pgpcodec.testing.samples`: deterministic sample images.

See docs/plugins.md.
"""
