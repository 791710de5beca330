"""Helpers for testing pgpcodec and its plugins (see docs/plugins.md).

- :mod:`pgpcodec.testing.codec_contract` and
  :mod:`pgpcodec.testing.scorer_contract`: the checks every codec and
  scorer must pass, as test classes to subclass in your own tests.
- :mod:`pgpcodec.testing.plugin`: a pytest plugin with fixtures; enable it
  with ``pytest_plugins = ["pgpcodec.testing.plugin"]`` in a conftest.py.
- :mod:`pgpcodec.testing.samples`: deterministic sample pictures.
- :mod:`pgpcodec_scorers.tinyclip.testing`: tiny models built on the fly.
"""
