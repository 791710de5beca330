"""pgpcodec's built-in scorer and prompt-processor plugins."""
