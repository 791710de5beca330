"""``pgpcodec decode``."""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import InputError, UsageError
from .progress import PROGRESS_OPTION, progress_bars


def detect_codec(data: bytes, path: Path, registry):
    """The codec that recognises the bytes (its ``accepts``: magic numbers), else the one whose extension matches ``path``.

    The content decides: a JPEG named ``.heic`` is decoded as JPEG. The
    extension is used only when no codec recognises the bytes.
    """
    from ..errors import PgpcodecError

    codecs = []
    for name in registry.names("codec"):
        try:
            codecs.append(registry.codec(name))
        except PgpcodecError:
            continue  # a codec that cannot start cannot have written this file
    for codec in codecs:
        if codec.accepts(data):
            return codec
    suffix = path.suffix.lower()
    for codec in codecs:
        if codec.extension == suffix:
            return codec
    raise UsageError(f"{path}: cannot tell which codec wrote this file", "pass --codec NAME")


@click.command()
@click.argument("bitstream", type=click.Path(exists=True, dir_okay=False, allow_dash=True))
@click.option("-o", "--output", default=None, type=click.Path(dir_okay=False), help="PNG to write (default BITSTREAM-stem.png next to it; - for stdout).")
@click.option("-c", "--codec", default=None, help="Codec name (default: read from the content, its magic numbers; the extension only if no codec recognises them).")
@click.option("--force", is_flag=True, help="Overwrite an existing output.")
@PROGRESS_OPTION
def decode(bitstream, output, codec, force, show_progress):
    """Decode BITSTREAM (made by pgpcodec or any standard encoder; - for stdin) to a PNG.

    The codec is read from the content (magic numbers), not the extension.
    """
    from ..imaging import png_bytes
    from ..plugins import get_registry
    from .paths import as_path, check_plan, is_dash, label, read_stdin, write_output

    source = as_path(bitstream)
    if output is None:
        if is_dash(bitstream):
            raise UsageError("reading stdin ('-') needs -o", "give -o FILE.png, or -o - for stdout")
        output = str(source.with_name(source.stem + (".decoded.png" if source.suffix.lower() == ".png" else ".png")))
    check_plan([bitstream], [("-o", output)])
    data = read_stdin() if is_dash(bitstream) else source.read_bytes()
    if not data:
        raise InputError(f"{source}: file is empty")
    registry = get_registry()
    chosen = registry.codec(codec) if codec else detect_codec(data, source, registry)  # guarded: failures name the plugin
    with progress_bars(show_progress) as progress:
        chosen.progress = progress
        pixels = chosen.decode(data)
    write_output(as_path(output), png_bytes(pixels), force=force)
    click.echo(f"{label(bitstream)} -> {label(output, 'stdout')}  ({chosen.name}, {pixels.shape[1]}x{pixels.shape[0]})", err=True)
    return 0
