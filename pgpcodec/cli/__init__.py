"""The ``pgpcodec`` command line.

Core subcommands live in their own modules and are imported only when
invoked, so ``pgpcodec --help`` stays fast. Plugins add theirs through the
``register_commands(cli)`` hook (``models`` comes with the tinyclip scorer,
``setup-nltk`` with the nltk prompt processor); plugin entry-point modules
are light, so listing them costs no numpy. Errors that a user can fix print one
line and exit non-zero; ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import importlib
import os
import sys
import warnings

import click

from .. import __version__
from ..errors import PgpcodecError, SettingError

COMMANDS = {
    # name: (module, attribute, one-line help shown by --help without importing the module)
    "encode": ("pgpcodec.cli.encode", "encode", "Prefilter images for a prompt and encode them."),
    "prefilter": ("pgpcodec.cli.encode", "prefilter", "Write the prefiltered image as PNG, without encoding."),
    "decode": ("pgpcodec.cli.decode", "decode", "Decode a bitstream to PNG."),
    "plugins": ("pgpcodec.cli.plugins", "plugins", "List installed plugins and what they provide."),
    "serve": ("pgpcodec.cli.serve", "serve", "Run the HTTP sidecar (POST /v1/encode)."),
    "bench": ("pgpcodec.cli.bench", "bench", "Rate–accuracy sweeps, BD-rate tables and plots over a dataset."),
    "bdrate": ("pgpcodec.cli.bdrate", "bdrate", "BD-rates of rate–score points from a CSV or JSONL file (paper, VLMEvalKit, …)."),
    "install": ("pgpcodec.cli.install", "install", "Install plugins with pip into pgpcodec's own environment."),
    "uninstall": ("pgpcodec.cli.install", "uninstall", "Uninstall plugins from pgpcodec's own environment."),
}


def plugin_commands() -> dict[str, tuple[click.Command, str]]:
    """Subcommands that plugins add: name → (command, plugin)."""
    from ..plugins import get_registry

    return get_registry().commands(click.Group, taken=COMMANDS)


class LazyGroup(click.Group):
    """A click group whose core subcommands are imported on first use, and whose plugins add theirs."""

    def list_commands(self, ctx):
        return sorted({*COMMANDS, *plugin_commands()})

    def get_command(self, ctx, name):
        if name in COMMANDS:
            module, attribute, _ = COMMANDS[name]
            return getattr(importlib.import_module(module), attribute)
        found = plugin_commands().get(name)
        return found[0] if found else None

    def format_commands(self, ctx, formatter):
        extra = plugin_commands()
        rows = [
            (name, COMMANDS[name][2] if name in COMMANDS else extra[name][0].get_short_help_str(limit=formatter.width or 80))
            for name in self.list_commands(ctx)
        ]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="pgpcodec")
@click.option("--debug", is_flag=True, help="Show full tracebacks on errors.")
def cli(debug: bool) -> None:
    """Prompt-guided prefiltering in front of standard image codecs.

    Smooths what a prompt does not need, then encodes with an unmodified
    JPEG, HEIC, AVIF, WebP, VVC or learned codec.
    """


def _debug_requested(args: list[str]) -> bool:
    return "--debug" in args or bool(os.environ.get("PGPCODEC_DEBUG"))


FLAGS = {
    # library parameter (PgpcodecError.parameter) -> how it is given on the command line
    "prompt": "-p/--prompt TEXT",
    "regions": "--regions x0,y0,x1,y1, repeatable",
    "codec_options.timeout": "--codec-option timeout=SECONDS",
    "codec_options.pretrained": "--codec-option pretrained=false",
    "logit_scale": "--logit-scale",
    "max_pixels": "--max-pixels N",
    "force": "--force",
    "config": "--config NAME",
    "revision": "--revision",
    "model": "--model NAME",
    "endpoint": "--endpoint URL",
    "evaluator": "--evaluator NAME",
    "dataset": "--dataset",
    "out": "--out DIR",
}

SETTING_FLAGS = {
    # a SettingError's setting -> the flag its message starts with on the command line (same name, dashed);
    # a setting no command takes (truncate, max_prompt_chars) keeps its library name
    name: "--" + name.replace("_", "-")
    for name in ("profile", "sigma_max", "sigma_one", "logit_scale", "kernel_size", "regions",  # encode, prefilter, bench
                 "max_bytes", "max_pixels", "max_concurrency", "max_queue", "timeout", "max_regions",  # serve
                 "target_bytes", "target_bpp", "fit", "executor", "pairs", "qualities")  # encode, bench, bdrate
}


def flag_hint(exc: PgpcodecError) -> str | None:
    """The error's hint, with the command-line flag of the parameter it names."""
    if _setting_flag(exc):
        return exc.hint  # the message names the flag already
    flag = FLAGS.get(exc.parameter or "")
    if flag is None:
        return exc.hint
    return f"{exc.hint}: {flag}" if exc.hint else flag


def _setting_flag(exc: PgpcodecError) -> str | None:
    """The flag a SettingError's message starts with here; None if it is not one, or it names a place first."""
    if isinstance(exc, SettingError) and exc.where is None:
        return SETTING_FLAGS.get(exc.setting)
    return None


def describe(exc: PgpcodecError) -> tuple[str, str | None]:
    """(message, hint) as the command line says them: a setting named by its flag, a parameter's flag in the hint."""
    flag = _setting_flag(exc)
    return (f"{flag} {exc.problem}" if flag else exc.message), flag_hint(exc)


def report_error(exc: BaseException) -> None:
    """One line on stderr: what was wrong and how to fix it."""
    if isinstance(exc, PgpcodecError):
        message, hint = describe(exc)
        text = f"pgpcodec: error: {message}" + (f" ({hint})" if hint else "")
    else:
        text = f"pgpcodec: internal error: {type(exc).__name__}: {exc} (rerun with --debug for the traceback)"
    click.echo(" ".join(text.split("\n")), err=True)


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    click.echo(f"pgpcodec: warning: {message}", err=True)


def main(argv: list[str] | None = None) -> None:
    from .signals import Terminated, handle_termination, received

    args = sys.argv[1:] if argv is None else list(argv)
    try:
        with handle_termination(), warnings.catch_warnings():
            if not _debug_requested(args):
                warnings.showwarning = _show_warning  # one line, like errors; --debug keeps file:line
            code = cli.main(args=args, prog_name="pgpcodec", standalone_mode=False)
    except (click.exceptions.Abort, Terminated):
        if received:  # SIGTERM / SIGHUP: everything was cleaned up on the way out, as for Ctrl-C
            click.echo(f"pgpcodec: {Terminated(received[0])}", err=True)
            code = 128 + received[0]
        else:
            click.echo("pgpcodec: aborted", err=True)
            code = 130
    except click.ClickException as exc:
        exc.show()
        code = exc.exit_code
    except Exception as exc:
        if _debug_requested(args):
            raise
        report_error(exc)
        code = exc.exit_code if isinstance(exc, PgpcodecError) else 1
    finally:
        _stop_plugin_work()
    sys.exit(code or 0)


def _stop_plugin_work() -> None:
    """Nothing outlives the command: programs still run by plugin threads (a signal, or a call abandoned
    after --plugin-timeout) are killed, and their threads get a moment to remove their temporary folders."""
    codecs = sys.modules.get("pgpcodec.subprocess_codec")  # never imported: no program was started
    if codecs is not None and codecs.kill_running_programs():
        from ..guard import wait_for_plugin_threads

        wait_for_plugin_threads(5.0)
