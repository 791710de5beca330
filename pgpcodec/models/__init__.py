"""Models for the ONNX scorers: where they are cached, how they are fetched, exported and verified.

Nothing in this package touches the network at import time; downloading
happens only in ``pgpcodec models pull`` (or when ``pgpcodec encode`` asks
first, interactively).
"""
