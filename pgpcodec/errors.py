"""Errors that pgpcodec raises on purpose.

Every error carries a message that says what was wrong and, where there is
one, a hint that says how to fix it. The CLI prints both on one line and
exits non-zero; library users catch :class:`PgpcodecError`.

Errors also carry their context as fields, so that no caller has to read
it back out of the message: ``parameter`` (the library parameter to
change), ``plugin`` (the plugin that raised or is concerned), ``row`` (a
benchmark row id) and ``where`` (the input the message starts with).
Hints name library parameters, never command-line flags: the CLI maps
``parameter`` to its flag, the sidecar to its form field.
"""

from __future__ import annotations

def _restore(cls, args, state):
    """Unpickle an error without calling its ``__init__`` (whose signature differs between subclasses)."""
    error = cls.__new__(cls)
    Exception.__init__(error, *args)
    error.__dict__.update(state)
    return error


class PgpcodecError(Exception):
    """Base class: a problem the user can fix, reported without a traceback."""

    exit_code = 1

    def __init__(self, message: str, hint: str | None = None, *, parameter: str | None = None, plugin: str | None = None,
                 row: str | None = None):
        super().__init__(message)
        self.message = message
        """The whole line: :attr:`where` (when set) and :attr:`problem`."""
        self.problem = message
        """What was wrong, as raised, without :attr:`where`."""
        self.hint = hint
        self.parameter = parameter
        """The library parameter to change (``prompt``, ``regions``, ``codec_options.timeout``), if one is;
        hints name no command-line flags, the CLI adds those (``pgpcodec.cli.flag_hint``)."""
        self.plugin = plugin
        """The plugin (distribution) that raised or is concerned, if one is."""
        self.row = row
        """The benchmark row id the error came from, if one did."""
        self.where = None
        """The input the message starts with (a file, a manifest row), set by :meth:`locate`."""

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message

    def __reduce__(self):
        # Exception's own pickling calls cls(*args): that drops the hint and every field, and
        # fails for SettingError. Dask workers send errors back pickled, so every field travels.
        return _restore, (type(self), self.args, dict(self.__dict__))

    def add_context(self, **fields) -> "PgpcodecError":
        """Set the fields that are not set yet (the innermost raiser knows best); returns this error, for ``raise``.

        Only existing fields can be set (``hint``, ``parameter``, ``plugin``,
        ``row`` and a subclass's own); an unknown name is a ``TypeError``.
        """
        for name, value in fields.items():
            if name.startswith("_") or name in ("message", "problem", "where") or not hasattr(self, name):
                raise TypeError(f"{type(self).__name__} has no context field {name!r}")
            if getattr(self, name) is None:
                setattr(self, name, value)
        return self

    def locate(self, where: str) -> "PgpcodecError":
        """Start the message with ``where`` (``"photo.png"``, ``"dev.jsonl, row 3 (q1)"``) unless it already names a place.

        Returns this error, for ``raise``; :attr:`problem` keeps the text without it.
        """
        if self.where is None:
            self.where = where
            self.message = f"{where}: {self.message}"
            self.args = (self.message,)
        return self

    def extend(self, detail: str) -> "PgpcodecError":
        """Add ``detail`` to the end of the problem (and so of the message); returns this error."""
        self.problem += detail
        self.message += detail
        self.args = (self.message,)
        return self

    def to_dict(self) -> dict:
        """The error as JSON-ready fields: ``type``, ``message`` and every field that is set (callables left out)."""
        fields = {"type": type(self).__name__}
        for name, value in self.__dict__.items():
            if not name.startswith("_") and value is not None and isinstance(value, (str, int, float, bool, list, tuple, dict)):
                fields[name] = list(value) if isinstance(value, tuple) else value
        return fields


class UsageError(PgpcodecError):
    """A bad option value or combination."""

    exit_code = 2


class SettingError(UsageError):
    """A library setting out of its documented range, or a malformed value for it.

    ``setting`` is the library's parameter name (``sigma_max``, ``regions``),
    also set as ``parameter``; the message is ``"<setting> <problem>"``. A
    front end that spells the setting differently renders it from the fields
    (the CLI prints ``"<flag> <problem>"``, ``pgpcodec.cli.describe``).
    """

    def __init__(self, setting: str, problem: str, hint: str | None = None, **context):
        super().__init__(f"{setting} {problem}", hint, parameter=setting, **context)
        self.setting = setting
        self.problem = problem


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

    def __init__(self, message: str, hint: str | None = None, *, model_name: str | None = None, fetch=None,
                 fetch_question: str | None = None, **context):
        super().__init__(message, hint, **context)
        self.model_name = model_name
        self.fetch = fetch
        """A callable that installs the model (a download the user must agree to), or None; the CLI offers it
        in a terminal with ``fetch_question``. The core does not know where models come from: the plugin does.
        It must pickle (a module-level function or a ``functools.partial`` of one) for the error to cross processes."""
        self.fetch_question = fetch_question or f"The model {model_name} is not installed. Download it now?"


class InvalidModelError(PgpcodecError):
    """A model directory exists but cannot be used: bad manifest, missing or mismatched files."""


class MissingResourceError(PgpcodecError):
    """Data that is fetched by an explicit command (NLTK data, weights) is missing."""


class CodecError(PgpcodecError):
    """An encoder or decoder failed.

    ``output`` is what the codec's program wrote on stderr, when one ran and
    failed, so a codec can tell a known failure it works around from others.
    """

    def __init__(self, message: str, hint: str | None = None, *, output: str | None = None, **context):
        super().__init__(message, hint, **context)
        self.output = output


class RateTargetError(PgpcodecError):
    """Even the lowest quality does not fit the requested size."""
