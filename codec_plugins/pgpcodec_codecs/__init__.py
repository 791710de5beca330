"""pgpcodec's built-in codec plugins (JPEG, WebP, AVIF, HEIC; more in sibling modules)."""
