"""Where a command reads and writes: ``-`` for stdin/stdout, folder inputs, and the checks done before any work.

- ``-`` is stdin as an input and stdout as ``-o``; a file literally named
  ``-`` is written ``./-``.
- ``encode DIR --recursive`` takes the images under DIR (by extension, of the
  accepted input formats; hidden files and folders skipped, symlinked folders
  not followed); the output tree under ``-o OUT`` mirrors DIR's.
- Before any work, every output is checked against every input of the run
  (same path after resolving symlinks, or the same file through a hard link:
  same ``st_dev``/``st_ino``), against the other outputs, and for a name the
  file system can hold.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from ..errors import InputError, UsageError

DASH = "-"


STDIO = Path(DASH)
"""``-``: stdin as an input, stdout as an output. A file named ``-`` is made absolute by :func:`as_path`, so it never looks like this."""


def is_dash(path) -> bool:
    return str(path) == DASH


def as_path(text) -> Path:
    """The path a command-line argument names: :data:`STDIO` for ``-``; ``./-`` stays a file (pathlib would shorten it to ``-``)."""
    if is_dash(text):
        return STDIO
    path = Path(text)
    return path.absolute() if str(path) == DASH else path


def label(path, stream: str = "stdin") -> str:
    return f"<{stream}>" if is_dash(path) else str(path)


def read_stdin() -> bytes:
    data = sys.stdin.buffer.read()
    if not data:
        raise InputError("<stdin>: no data on standard input", "pipe an image in, e.g. cat photo.jpg | pgpcodec encode - -o out.jpg")
    return data


def write_output(target, data: bytes, *, force: bool) -> None:
    """``-`` writes to stdout; anything else goes through :func:`pgpcodec.imaging.write_atomic`."""
    from ..imaging import output_error, write_atomic

    if is_dash(target):
        try:
            sys.stdout.buffer.write(data)
            sys.stdout.buffer.flush()
        except OSError as exc:
            raise output_error(Path("<stdout>"), exc) from None
        return
    write_atomic(target, data, force=force)


def is_folder(text) -> bool:
    """``os.path.isdir`` that is False, not an error, for a name too long for the file system."""
    return os.path.isdir(text)


def image_extensions() -> set[str]:
    """File extensions of the accepted input formats (what a folder scan picks up)."""
    from PIL import Image

    from ..imaging import _register_heif, input_formats

    _register_heif()
    Image.init()
    allowed = set(input_formats())
    return {ext.lower() for ext, fmt in Image.registered_extensions().items() if fmt in allowed}


def expand_inputs(images, recursive: bool, exclude: Path | None = None) -> list[tuple[Path, Path]]:
    """(source, name relative to the output folder) for each image; folders expanded with ``recursive``."""
    items: list[tuple[Path, Path]] = []
    extensions = None
    for image in images:
        path = as_path(image)
        if is_dash(path):
            items.append((STDIO, Path("stdin.png")))
        elif is_folder(path):
            if not recursive:
                raise UsageError(f"{image} is a folder", "pass --recursive to encode the images in it (and below)")
            extensions = extensions if extensions is not None else image_extensions()
            found = list(_scan(path, extensions, exclude))
            if not found:
                raise InputError(f"{image}: no images in this folder", f"looked for {', '.join(sorted(extensions))}")
            items.extend(found)
        else:
            items.append((path, Path(path.name)))
    if sum(is_dash(source) for source, _ in items) > 1:
        raise UsageError("stdin ('-') can be read only once", "give '-' as one input; a file named '-' is ./-")
    return items


def _scan(folder: Path, extensions: set[str], exclude: Path | None):
    excluded = exclude.resolve() if exclude is not None else None
    for root, dirs, files in os.walk(folder):  # symlinked folders are not followed: no loops
        here = Path(root)
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and (excluded is None or (here / d).resolve() != excluded))
        for name in sorted(files):
            path = here / name
            if not name.startswith(".") and path.suffix.lower() in extensions and path.is_file():
                yield path, path.relative_to(folder)


def identity(path: Path) -> tuple[str, tuple[int, int] | None]:
    """What makes two spellings the same file: the resolved path, and (st_dev, st_ino) if it exists."""
    if is_dash(path):
        return ("<stdio>", None)
    try:
        info = os.stat(path)
        inode = (info.st_dev, info.st_ino)
    except OSError:
        inode = None
    return (str(Path(os.path.realpath(path))), inode)


def same(a, b) -> bool:
    return a[0] == b[0] or (a[1] is not None and a[1] == b[1])


def check_plan(inputs, outputs) -> None:
    """Refuse, before any work, an output that is an input (any spelling, symlink, hard link) or another output.

    ``outputs`` are (what, path) pairs, ``what`` naming the option in the error.
    Streams (``-``, character devices, FIFOs) are never inputs of a batch.
    """
    from ..imaging import check_output_name

    sources = [(as_path(p), identity(as_path(p))) for p in inputs if not is_dash(p)]
    seen: list[tuple[str, Path, tuple]] = []
    for what, path in outputs:
        if path is None:
            continue
        path = as_path(path)
        ident = identity(path)
        for source, source_ident in sources:
            if not is_dash(path) and same(ident, source_ident):
                where = "" if str(source) == str(path) else f" {source}"
                raise InputError(f"{path}: the output would overwrite the input{where}", f"choose another {what} path")
        for other_what, other, other_ident in seen:
            if same(ident, other_ident) and not _stream(path):
                raise UsageError(f"{what} {path} and {other_what} {other} are the same file", "give each output its own path")
        seen.append((what, path, ident))
        if not is_dash(path):
            check_output_name(path)


def _stream(path: Path) -> bool:
    """A character device such as /dev/null may take several outputs; ``-`` may not."""
    import stat

    if is_dash(path):
        return False
    try:
        return stat.S_ISCHR(os.stat(path).st_mode)
    except OSError:
        return False
