"""Model files: where they are installed and how their manifests are read.

See :mod:`pgpcodec.models.cache` and docs/scorers.md for the model
directory format. Importing this package is cheap (no onnxruntime).
"""
