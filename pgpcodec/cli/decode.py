"""``pgpcodec decode``."""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import InputError, UsageError
from .progress import PROGRESS_OPTION, progress_bars


def detect_codec(data: bytes, path: Path, registry):
    """The codec whose extension matches ``path``, else the first whose ``accepts`` recognises the bytes."""
    from ..errors import PgpcodecError

    codecs = []
    for name in registry.names("codec"):
        try:
            codecs.append(registry.create("codec", name))
        except PgpcodecError:
            continue  # a codec that cannot start cannot have written this file
    suffix = path.suffix.lower()
    for codec in codecs:
        if codec.extension == suffix:
            return codec
    for codec in codecs:
        if codec.accepts(data):
            return codec
    raise UsageError(f"{path}: cannot tell which codec wrote this file", "pass --codec NAME")


@click.command()
@click.argument("bitstream", type=click.Path(exists=True, dir_okay=False))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="PNG to write.")
@click.option("-c", "--codec", default=None, help="Codec name (default: guessed from the extension or the bytes).")
@click.option("--force", is_flag=True, help="Overwrite an existing output.")
@PROGRESS_OPTION
def decode(bitstream, output, codec, force, show_progress):
    """Decode BITSTREAM (made by pgpcodec or any standard encoder) to a PNG."""
    from ..guard import PluginRef, call_plugin
    from ..imaging import png_bytes, write_atomic
    from ..plugins import get_registry

    source = Path(bitstream)
    if Path(output).resolve() == source.resolve():
        raise InputError(f"{output}: the output would overwrite the input", "choose another -o path")
    data = source.read_bytes()
    if not data:
        raise InputError(f"{source}: file is empty")
    registry = get_registry()
    chosen = registry.create("codec", codec) if codec else detect_codec(data, source, registry)
    ref = PluginRef("codec", chosen.name, registry.registration("codec", chosen.name).plugin)
    with progress_bars(show_progress) as progress:
        chosen.progress = progress
        pixels = call_plugin(ref, chosen.decode, data)
    write_atomic(output, png_bytes(pixels), force=force)
    click.echo(f"{source} -> {output}  ({chosen.name}, {pixels.shape[1]}x{pixels.shape[0]})", err=True)
    return 0
