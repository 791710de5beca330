"""Errors that pgpcodec raises on purpose.

Every error carries a message that says what was wrong and, where there is
one, a hint that says how to fix it. The CLI prints both on one line and
exits non-zero; library users catch :class:`PgpcodecError`.
"""

from __future__ import annotations


class PgpcodecError(Exception):
    """Base class: a problem the user can fix, reported without a traceback."""

    exit_code = 1

    def __init__(self, message: str, hint: str | None = None, *, parameter: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.parameter = parameter
        """The library parameter to change (``prompt``, ``regions``, ``codec_options.timeout``), if one is;
        hints name no command-line flags, the CLI adds those (``pgpcodec.cli.flag_hint``)."""

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class UsageError(PgpcodecError):
    """A bad option value or combination."""

    exit_code = 2


class SettingError(UsageError):
    """A library setting out of its documented range, or a malformed value for it.

    ``setting`` is the library's parameter name (``sigma_max``, ``regions``);
    the message is ``"<setting> <problem>"``. A front end that spells the
    setting differently (the CLI's ``--sigma-max``) rebuilds the message with
    :meth:`for_label`.
    """

    def __init__(self, setting: str, problem: str, hint: str | None = None):
        super().__init__(f"{setting} {problem}", hint)
        self.setting = setting
        self.problem = problem

    def for_label(self, label: str) -> "SettingError":
        """The same error, naming the setting as ``label`` (e.g. a command-line flag)."""
        renamed = SettingError(self.setting, self.problem, self.hint)
        renamed.message = f"{label} {self.problem}"
        renamed.args = (renamed.message,)
        return renamed


class InputError(PgpcodecError):
    """An input file or prompt that cannot be used."""


class OutputError(PgpcodecError):
    """An output that cannot be written: read-only folder, disk full, file-size limit, name too long, …"""


class UnknownPluginError(UsageError):
    """A scorer, codec, prompt processor or sigma map name that is not registered."""


class PluginError(PgpcodecError):
    """A plugin raised, returned something malformed, or timed out."""


class ModelNotFoundError(PgpcodecError):
    """A model the scorer needs is not installed.

    ``model_name`` is the registry name when there is one, and ``fetch`` the
    plugin's way to install it, so a caller (the CLI) can offer to.
    """

    def __init__(self, message: str, hint: str | None = None, *, model_name: str | None = None, fetch=None, fetch_question: str | None = None):
        super().__init__(message, hint)
        self.model_name = model_name
        self.fetch = fetch
        """A callable that installs the model (a download the user must agree to), or None; the CLI offers it
        in a terminal with ``fetch_question``. The core does not know where models come from: the plugin does."""
        self.fetch_question = fetch_question or f"The model {model_name} is not installed. Download it now?"


class InvalidModelError(PgpcodecError):
    """A model directory exists but cannot be used: bad manifest, missing or mismatched files."""


class MissingResourceError(PgpcodecError):
    """Data that is fetched by an explicit command (NLTK data, weights) is missing."""


class CodecError(PgpcodecError):
    """An encoder or decoder failed."""


class RateTargetError(PgpcodecError):
    """Even the lowest quality does not fit the requested size."""
