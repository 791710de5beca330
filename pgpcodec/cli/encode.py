"""``pgpcodec encode`` and ``pgpcodec prefilter``."""

from __future__ import annotations

import json
import os
from pathlib import Path

import click

from ..defaults import DEFAULT_CODEC
from ..errors import InputError, PgpcodecError, UsageError
from .options import build_pipeline, fit_rule, pipeline_options, size_label
from .paths import as_path, check_plan, expand_inputs, is_dash, is_folder, label, read_stdin, write_output
from .progress import PROGRESS_OPTION


def distinct_names(inputs: list[Path], folder: Path, extension: str) -> list[Path]:
    """``folder/stem + extension`` for each input; inputs whose stems collide keep their own suffix too.

    ``a.png`` and ``a.jpg`` become ``a.png.jpg`` and ``a.jpg.jpg`` (then ``-2``,
    ``-3`` … if even that collides), so one odd name never stops a batch.
    """
    stems = [p.stem for p in inputs]
    names = [p.stem if stems.count(p.stem) == 1 else p.name for p in inputs]
    taken: set[str] = set()
    targets = []
    for name in names:
        candidate, n = name, 1
        while candidate in taken:
            n += 1
            candidate = f"{name}-{n}"
        taken.add(candidate)
        targets.append(folder / (candidate + extension))
    return targets


def output_paths(images: tuple[str, ...], output: str | None, extension: str, *, recursive: bool = False) -> list[tuple[Path, Path]]:
    """(input, output) pairs: ``-o FILE`` (or ``-``) for one image, ``-o FOLDER`` for several or for folder inputs.

    A folder's images keep their place in the tree: ``DIR/sub/a.png`` goes to
    ``FOLDER/sub/a.jpg``. Nothing is checked or created here; see :func:`check_plan`.
    """
    exclude = Path(output) if output and not is_dash(output) else None
    items = expand_inputs(images, recursive, exclude)
    from_folder = any(not is_dash(i) and is_folder(i) for i in images)
    inputs = [source for source, _ in items]
    if output is None:
        if any(is_dash(p) for p in inputs):
            raise UsageError("reading stdin ('-') needs -o", "give -o FILE, or -o - for stdout")
        if from_folder:
            raise UsageError("a folder input needs -o FOLDER", "the output tree under FOLDER mirrors the input tree")
        targets = [p.with_name(p.stem + ".pgp" + extension) for p in inputs]
    elif len(items) == 1 and not from_folder and (is_dash(output) or (not is_folder(output) and not output.endswith(os.sep))):
        targets = [as_path(output)]
    else:
        if is_dash(output):
            raise UsageError("-o - (stdout) takes one image", "give -o FOLDER for several")
        folder = as_path(output)
        if folder.exists() and not folder.is_dir():
            raise UsageError(f"-o {output}: several images need an output folder, and this is a file")
        groups: dict[Path, list[int]] = {}
        for index, (_, relative) in enumerate(items):
            groups.setdefault(relative.parent, []).append(index)
        targets = [Path()] * len(items)
        for parent, indices in groups.items():
            for index, target in zip(indices, distinct_names([items[i][1] for i in indices], folder / parent, extension)):
                targets[index] = target
    return list(zip(inputs, targets))


def check_extension(output: str | None, codec, force_extension: bool) -> None:
    """Refuse ``-o out.heic`` for a JPEG: an extension of another codec or image format, unless ``--force-extension``."""
    if output is None or is_dash(output) or force_extension or is_folder(output) or output.endswith(os.sep):
        return
    from PIL import Image

    from ..imaging import _register_heif
    from ..plugins import get_registry

    suffix = Path(output).suffix.lower()
    if not suffix or suffix == codec.extension:
        return
    _register_heif()
    Image.init()
    pillow = {ext.lower(): fmt for ext, fmt in Image.registered_extensions().items()}
    if suffix in pillow and pillow[suffix] == pillow.get(codec.extension):
        return  # another spelling of the same format: .jpeg for .jpg, .heif for .heic
    registry = get_registry()
    owners = [name for name in registry.names("codec") if getattr(registry.registration("codec", name).factory, "extension", None) == suffix]
    if owners or suffix in pillow:
        what = f"codec {owners[0]!r}" if owners else f"{pillow[suffix]} images"
        raise UsageError(
            f"-o {output}: {suffix} is the extension of {what}, but the codec is {codec.name!r} ({codec.extension})",
            f"name it {Path(output).with_suffix(codec.extension)}, choose that codec with -c, or pass --force-extension",
        )


def make_folder(target: Path) -> None:
    """Create the folder an output goes into (``-o FOLDER``, or a subfolder of a mirrored tree)."""
    from ..imaging import output_error

    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise output_error(target, exc) from None


class Batch:
    """Runs one job per image; a failure is reported and the rest carry on.

    With ``as_json`` a failure is a JSON object on stdout too
    (``{"input", "error", "hint"}``). A batch of several images ends with a
    summary: ``{"summary": {"done", "failed"}}`` on stdout with ``as_json``,
    else a ``done N, failed M`` line on stderr.
    """

    def __init__(self, count: int, show_progress: bool | None = None, as_json: bool = False):
        self.count = count
        self.failed = 0
        self.show_progress = show_progress
        self.as_json = as_json
        self.bars = None
        """While running: a progress(task, done, total) callback drawing bars under the batch's (None: no bars)."""

    def _failed(self, console, source, message: str, hint: str | None) -> None:
        from rich.markup import escape

        self.failed += 1
        message = " ".join(message.split())  # one line per file, whatever the exception text holds
        console.print(f"[red]error[/red]: {escape(message)}" + (f" ({escape(hint)})" if hint else ""), markup=True)
        if self.as_json:
            click.echo(json.dumps({"input": label(source), "error": message, "hint": hint}))

    def run(self, items, job):
        from rich.console import Console
        from rich.progress import Progress

        from . import describe
        from .progress import Bars, columns, wanted

        console = Console(stderr=True, highlight=False, soft_wrap=True, force_terminal=True if self.show_progress else None)
        show_bar = wanted(self.show_progress, console)
        with Progress(*columns(), console=console, transient=True, disable=not show_bar) as progress:
            self.bars = Bars(progress) if show_bar else None
            task = progress.add_task("encoding", total=self.count) if self.count > 1 else None
            for source, target in items:
                name = label(source)
                try:
                    job(Path(source), target, console)
                except PgpcodecError as exc:
                    message, hint = describe(exc)
                    self._failed(console, source, message if exc.where == name else f"{name}: {message}", hint)
                except Exception as exc:  # a batch never dies on one file
                    if os.environ.get("PGPCODEC_DEBUG"):
                        raise
                    self._failed(console, source, f"{name}: internal error: {type(exc).__name__}: {exc}", None)
                if task is not None:
                    progress.advance(task)
        done = self.count - self.failed
        if self.count > 1 and self.as_json:
            click.echo(json.dumps({"summary": {"done": done, "failed": self.failed}}))
        elif self.count > 1:
            console.print(f"done {done}, failed {self.failed}", markup=False)
        return 1 if self.failed else 0


def codec_factory_options(codec: str, items: tuple[str, ...], preset: str | None) -> dict[str, str]:
    """``--codec-option`` pairs plus ``--preset``, checked against what the codec factory takes."""
    from ..codec_options import check_options_accepted
    from ..plugins import get_registry
    from .options import parse_options

    options = parse_options(items, "--codec-option")
    if preset is not None:
        if "preset" in options:
            raise UsageError("--preset and --codec-option preset=... both given; keep one")
        options["preset"] = preset
    if options:
        check_options_accepted(get_registry().registration("codec", codec).factory, options, codec)
    return options


RATE_FLAGS = {"quality": "-q/--qp", "target_bytes": "--target-bytes", "target_bpp": "--target-bpp"}
"""How the rate parameters are spelled on the command line."""


def choose_quality(codec, quality: float | None, qp: int | None) -> float | None:
    """``--qp`` is ``-q`` for codecs whose setting is a quantiser."""
    if qp is None:
        return quality
    if quality is not None:
        raise UsageError("-q and --qp both given; keep one")
    if codec.higher_is_better:
        raise UsageError(
            f"--qp is for quantiser codecs (such as vvenc); {codec.name!r} takes a {codec.quality_label}",
            f"use -q with a value from {codec.quality_range[0]} to {codec.quality_range[1]}",
        )
    return qp


def _boxes(regions: tuple[str, ...]) -> list[tuple[int, int, int, int]]:
    from ..regions import parse_box

    return [parse_box(text) for text in regions]


@click.command()
@click.argument("images", nargs=-1, required=True, type=click.Path(dir_okay=True))
@click.option("-c", "--codec", default=DEFAULT_CODEC, show_default=True, help="Codec name (see 'pgpcodec plugins').")
@click.option("-q", "--quality", type=float, default=None, help="Codec quality setting (codec's default if omitted).")
@click.option("--qp", type=int, default=None, help="Quantiser for QP codecs such as vvenc (same as -q there; lower is better).")
@click.option("--preset", default=None, help="Encoder speed preset (vvenc: faster, fast, medium, slow, slower).")
@click.option("--codec-option", "codec_option", multiple=True, metavar="KEY=VALUE", help="An option for the codec factory, e.g. qpa=1 or timeout=60; repeatable.")
@click.option("--target-bytes", type=int, default=None, help="Best quality whose file is at most N bytes (instead of -q).")
@click.option("--target-bpp", type=float, default=None, help="Best quality at most X bits per pixel (instead of -q).")
@click.option("-o", "--output", default=None, help="Output file (one image; - for stdout) or folder (several, or folder inputs).")
@click.option("-r", "--recursive", is_flag=True, help="Folder inputs: encode the images in them and below; -o FOLDER mirrors the tree.")
@click.option("--force-extension", is_flag=True, help="Allow an -o extension that belongs to another codec or image format.")
@click.option("--no-prefilter", is_flag=True, help="Encode the image as is (the plain-codec anchor).")
@click.option("--save-filtered", type=click.Path(dir_okay=False), default=None, help="Also write the prefiltered image as PNG.")
@click.option("--explain", type=click.Path(dir_okay=False), default=None, help="Write a PNG: image, score heatmap and σ map side by side.")
@click.option("--force", is_flag=True, help="Overwrite existing outputs.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per image on stdout.")
@PROGRESS_OPTION
@pipeline_options
def encode(
    images, codec, quality, qp, preset, codec_option, target_bytes, target_bpp,
    output, no_prefilter, save_filtered, explain, force, as_json, show_progress, recursive=False, force_extension=False, **opts,
):
    """Prefilter IMAGES for the prompt and encode them with a standard codec.

    IMAGES are files, folders (with --recursive) or - for stdin.
    """
    from ..imaging import load_image, output_exists, png_bytes
    from ..pipeline import Pipeline
    from ..ratecontrol import check_rate_target

    opts["fit"] = fit_rule(opts["fit"])  # a bad target is reported before anything is built
    factory_options = codec_factory_options(codec, codec_option, preset)
    if no_prefilter:
        from ..plugins import get_registry

        codec_ = get_registry().codec(codec, plugin_timeout=opts["plugin_timeout"], **factory_options)
        pipeline = Pipeline(None, codec_, fit=opts["fit"])
    else:
        pipeline = build_pipeline(codec=codec, codec_options=factory_options, **opts)
        codec_ = pipeline.codec
    quality = choose_quality(codec_, quality, qp)
    rate = {"target_bytes": target_bytes, "target_bpp": target_bpp}
    check_rate_target(quality, target_bytes, target_bpp, labels=RATE_FLAGS)
    codec_.validate_quality(quality)
    boxes = _boxes(opts["regions"])
    if (save_filtered or explain) and len(images) > 1:
        raise UsageError("--save-filtered and --explain take one image at a time")
    if no_prefilter and (save_filtered or explain):
        raise UsageError("--save-filtered and --explain need the prefilter; drop --no-prefilter")
    plan = output_paths(images, output, codec_.extension, recursive=recursive)
    if as_json and any(is_dash(p) for p in (output, save_filtered, explain)):
        raise UsageError("--json prints on stdout, and so does -o -", "write the output to a file, or drop --json")
    # Before any work: no output is an input of this run (any spelling, symlink or hard link), nor another output.
    check_plan([source for source, _ in plan], [*(("-o", target) for _, target in plan), ("--save-filtered", save_filtered), ("--explain", explain)])
    check_extension(output if len(plan) == 1 else None, codec_, force_extension)

    def job(source: Path, target: Path, console) -> None:
        if output_exists(target) and not force:
            raise InputError(f"{target}: already exists", "pass --force to overwrite it")
        array, notes = load_image(read_stdin() if is_dash(source) else source, limit=opts["max_pixels"])
        codec_.progress = batch.bars  # cheng2020 and rate searches report; fast codecs ignore it
        if no_prefilter:
            result = pipeline.encode_plain(array, quality, **rate)
        else:
            filtered = pipeline.prefilter(array, opts["prompt"], regions=boxes)  # fitted to --fit there
            result = pipeline.encode_filtered(filtered, quality, **rate)
            if save_filtered:
                write_output(as_path(save_filtered), png_bytes(filtered.image), force=force)
            if explain:
                from ..explain import explain_png

                write_output(as_path(explain), explain_png(filtered.scored_image, filtered), force=force)
        notes += result.notes  # the fit's, the scorer's and the codec's
        if not is_dash(target):
            make_folder(target)
        write_output(target, result.data, force=force)
        info = {"input": label(source), "output": label(target, "stdout"), **result.to_dict(), "notes": notes}
        if as_json:
            click.echo(json.dumps(info))
        else:
            timings = ", ".join(f"{k} {v:.3f} s" for k, v in result.timings.items())
            note = f"  [{'; '.join(notes)}]" if notes else ""
            console.print(
                f"{label(source)} -> {label(target, 'stdout')}  {size_label(result)}{result.codec} {codec_.quality_label} {result.quality:g}  {len(result.data):,} bytes  "
                f"{result.bpp:.4f} bpp  ({timings}){note}",
                markup=False,
            )

    batch = Batch(len(plan), show_progress, as_json)
    return batch.run(plan, job)


@click.command()
@click.argument("image", type=click.Path())
@click.option("-o", "--output", default=None, type=click.Path(dir_okay=False), help="Where to write the filtered PNG (default IMAGE-stem.filtered.png next to it; - for stdout).")
@click.option("--explain", type=click.Path(dir_okay=False), default=None, help="Also write the explain picture.")
@click.option("--force", is_flag=True, help="Overwrite existing outputs.")
@pipeline_options
def prefilter(image, output, explain, force, **opts):
    """Write the prefiltered IMAGE (a file, or - for stdin) as a lossless PNG, without encoding it."""
    from ..imaging import load_image, png_bytes

    if output is None:
        if is_dash(image):
            raise UsageError("reading stdin ('-') needs -o", "give -o FILE.png, or -o - for stdout")
        output = str(Path(image).with_name(Path(image).stem + ".filtered.png"))
    check_plan([image], [("-o", output), ("--explain", explain)])
    image = as_path(image)
    opts["fit"] = fit_rule(opts["fit"])
    pipeline = build_pipeline(**opts)
    array, notes = load_image(read_stdin() if is_dash(image) else image, limit=opts["max_pixels"])
    result = pipeline.prefilter(array, opts["prompt"], regions=_boxes(opts["regions"]))  # fitted to --fit there
    write_output(as_path(output), png_bytes(result.image), force=force)
    if explain:
        from ..explain import explain_png

        write_output(as_path(explain), explain_png(result.scored_image, result), force=force)
    height, width = result.image.shape[:2]
    size = f"{width}x{height}" if result.fit is None else f"{result.original_size[0]}x{result.original_size[1]} -> {width}x{height} (fit {result.fit})"
    note = f"  [{'; '.join(notes + list(result.notes))}]" if notes or result.notes else ""
    click.echo(f"{label(image)} -> {label(output, 'stdout')}  {size}  (prefilter {result.seconds:.3f} s, prompt used: {result.prompt_used!r}){note}", err=True)
    return 0
