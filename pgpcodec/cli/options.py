"""Options shared by the commands that build a pipeline."""

from __future__ import annotations

import functools
import sys

import click

from ..defaults import (
    DEFAULT_KERNEL_SIZE,
    DEFAULT_LOGIT_SCALE,
    DEFAULT_PROFILE,
    DEFAULT_PROMPT_PROCESSOR,
    DEFAULT_SCORER,
    DEFAULT_SIGMA_MAX,
    DEFAULT_SIGMA_ONE,
    DEFAULT_TARGET_TILES,
    DEFAULT_TILING,
    KERNEL_SIZE_LIMIT,
    PROFILES,
    TILINGS,
)
from ..errors import UsageError


def parse_value(text: str):
    """A command-line option value: int, float, true/false, or the string itself."""
    lowered = text.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def parse_options(pairs: tuple[str, ...], flag: str) -> dict:
    """``KEY=VALUE`` pairs (from a repeatable option) to keyword arguments for a plugin factory."""
    options = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or not key.isidentifier():
            raise UsageError(f"{flag} {pair!r} is not KEY=VALUE", f"write it as e.g. {flag} name=value")
        if key in options:
            raise UsageError(f"{flag} {key} is given twice")
        options[key] = parse_value(value.strip())
    return options


def filter_setting_options() -> list:
    """--sigma-max, --sigma-one and --logit-scale, defaults from :mod:`pgpcodec.defaults`."""
    return [
        click.option("--sigma-max", type=float, default=DEFAULT_SIGMA_MAX, show_default=True, help="Largest blur σ (the paper's; 10 blurs harder, saves more bits, keeps less context)."),
        click.option("--sigma-one", type=float, default=None, help=f"σ at score 1 [default: {DEFAULT_SIGMA_ONE:g}; regions: 0]."),
        click.option("--logit-scale", type=float, default=DEFAULT_LOGIT_SCALE, show_default=True, help="Softmax scale α of tile scores (tile scorers; larger = sharper relevance)."),
    ]


def pipeline_options(command):
    """Scorer, prompt and filter options, shared by encode and prefilter."""
    options = [
        click.option("-p", "--prompt", default="", help="The prompt the image is sent with."),
        click.option("--scorer", default=DEFAULT_SCORER, show_default=True, help="Scorer name, A+B to combine scorers (e.g. tinyclip57+text), or a path to an exported model folder."),
        click.option("--regions", "regions", multiple=True, metavar="X0,Y0,X1,Y1", help="A region that matters (regions scorer); repeatable."),
        click.option("--prompt-processor", default=DEFAULT_PROMPT_PROCESSOR, show_default=True, help="How the prompt is reduced before scoring."),
        click.option("--profile", type=click.Choice(PROFILES), default=DEFAULT_PROFILE, show_default=True, help="Filter profile: native (seam-free, full resolution) or the paper's reference."),
        click.option("--sigma-map", default=None, help="exponential, linear, reciprocal, … (default: the scorer's preference, else exponential)."),
        *filter_setting_options(),
        click.option("--kernel-size", type=int, default=DEFAULT_KERNEL_SIZE, show_default=True, help=f"Kernel size of the reference profile (odd, at most {KERNEL_SIZE_LIMIT})."),
        click.option("--target-tiles", type=int, default=DEFAULT_TARGET_TILES, show_default=True, help="Tile count the stride aims for (tile scorers)."),
        click.option("--no-overlap", is_flag=True, help="Stride = tile size (the paper's no-overlap ablation)."),
        click.option("--tiling", type=click.Choice(TILINGS), default=DEFAULT_TILING, show_default=True, help="Tile scorers: the paper's tiling (tile count grows with the photo), or a downscaled proxy keeping the count near --target-tiles."),
        click.option("--scorer-option", "scorer_option", multiple=True, metavar="KEY=VALUE", help="Option for the scorer, e.g. precision=int8; repeatable."),
        click.option("--max-pixels", type=int, default=None, help="Refuse larger images (default 100 MP or PGPCODEC_MAX_PIXELS)."),
        click.option("--fit", "fit", default=None, metavar="TARGET", help="First downsize to what a VLM sees: claude, gpt-4o, internvl3, llava-onevision, qwen2.5-vl, max-side:N or max-pixels:N (see docs/fit.md)."),
        click.option("--plugin-timeout", type=click.FloatRange(min=0, min_open=True), default=None, metavar="SECONDS", help="Fail a plugin call (scorer, codec, …) that takes longer [default: no limit]."),
    ]
    return functools.reduce(lambda cmd, option: option(cmd), reversed(options), command)


def scorer_options(target_tiles: int, no_overlap: bool, tiling: str = DEFAULT_TILING) -> dict:
    """Tiling options for the scorer factory, passed only when the user changed them."""
    options = {}
    if target_tiles != DEFAULT_TARGET_TILES:
        options["target_tiles"] = target_tiles
    if no_overlap:
        options["overlap"] = False
    if tiling != DEFAULT_TILING:
        options["tiling"] = tiling
    return options


def fit_rule(target: str | None):
    """The ``--fit`` target as a rule (None without --fit); a bad target is a usage error."""
    from ..fit import resolve

    return resolve(target)


def size_label(result) -> str:
    """``4032x3024 -> 1148x840 (fit qwen2.5-vl)  `` for a fitted result, else nothing."""
    if result.fit is None:
        return ""
    return f"{result.original_width}x{result.original_height} -> {result.width}x{result.height} (fit {result.fit})  "


def build_pipeline(codec: str | None = None, codec_options: dict | None = None, **opts):
    """The Pipeline the options describe (``--fit`` included: its prefilter fits each input);
    a missing registry model is offered for download in a terminal."""
    from ..errors import ModelNotFoundError

    try:
        return _pipeline(codec, codec_options, **opts)
    except ModelNotFoundError as exc:
        if not offer_fetch(exc):
            raise
        return _pipeline(codec, codec_options, **opts)


def offer_fetch(error) -> bool:
    """Offer the download a missing model's plugin attached to its error (``error.fetch``); True if it ran.

    Non-interactive runs (stdin not a terminal) get False at once, so the
    caller re-raises the error, whose hint names the command to run.
    """
    if getattr(error, "fetch", None) is None or not sys.stdin.isatty():
        return False
    if not click.confirm(error.fetch_question, default=True, err=True):
        return False
    error.fetch()
    return True


def _pipeline(codec: str | None, codec_options: dict | None, **opts):
    from ..defaults import DEFAULT_CODEC
    from ..pipeline import Pipeline
    from ..prefilter import PrefilterSettings

    settings = PrefilterSettings(
        profile=opts["profile"],
        sigma_map=opts["sigma_map"],
        sigma_max=opts["sigma_max"],
        sigma_one=opts["sigma_one"],
        logit_scale=opts["logit_scale"],
        kernel_size=opts["kernel_size"],
    )
    return Pipeline(
        scorer=opts["scorer"],
        codec=codec or DEFAULT_CODEC,
        prompt_processor=opts["prompt_processor"],
        settings=settings,
        scorer_options={
            **scorer_options(opts["target_tiles"], opts["no_overlap"], opts["tiling"]),
            **parse_options(opts["scorer_option"], "--scorer-option"),
        },
        codec_options=codec_options,
        plugin_timeout=opts["plugin_timeout"],
        fit=fit_rule(opts["fit"]),
    )
