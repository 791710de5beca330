"""Plugin loading and the name → factory registries.

Built-in plugins are entry points of the ``pgpcodec`` distribution in the
``pgpcodec`` group, exactly like third-party ones. A plugin that fails to
import, or whose hook raises, is recorded as broken, reported with a
warning, and skipped: it never takes the tool down.
"""

from __future__ import annotations

import difflib
import functools
import importlib
import os
import threading
import traceback
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint, entry_points

import pluggy

from . import hookspecs
from .errors import PgpcodecError, PluginError, UnknownPluginError

ENTRY_POINT_GROUP = "pgpcodec"
LOAD_PLUGINS_ENV = "PGPCODEC_LOAD_PLUGINS"
"""Comma-separated entry-point or distribution names of the third-party plugins to load.

Unset: load every installed plugin. Set (even empty): built-ins plus only
the listed third-party plugins.
"""
BUILTIN_DISTRIBUTION = "pgpcodec"

HOOKS = {
    "codec": "register_codecs",
    "scorer": "register_scorers",
    "prompt_processor": "register_prompt_processors",
    "sigma_map": "register_sigma_maps",
    "evaluator": "register_evaluators",
    "fit_target": "register_fit_targets",
}
COMMANDS_HOOK = "register_commands"
"""The hook through which plugins add subcommands to the ``pgpcodec`` command line (not a name → factory kind)."""
KIND_LABELS = {
    "codec": "codec",
    "scorer": "scorer",
    "prompt_processor": "prompt processor",
    "sigma_map": "sigma map",
    "evaluator": "evaluator",
    "fit_target": "fit target",
    "command": "command",
}


class PluginLoadWarning(UserWarning):
    """A plugin could not be loaded and was skipped."""


@dataclass
class PluginInfo:
    """What ``pgpcodec plugins`` shows for one plugin."""

    name: str
    module: str
    distribution: str | None
    version: str | None
    provides: dict[str, list[str]] = field(default_factory=dict)
    error: str | None = None
    disabled: bool = False
    """Installed but not loaded, because PGPCODEC_LOAD_PLUGINS does not name it."""
    conflicts: list[str] = field(default_factory=list)
    """Names this plugin registered that an earlier plugin already had (the earlier one is used)."""

    @property
    def builtin(self) -> bool:
        return self.distribution == BUILTIN_DISTRIBUTION

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "module": self.module,
            "distribution": self.distribution,
            "version": self.version,
            "builtin": self.builtin,
            "kinds": sorted(kind for kind, names in self.provides.items() if names),
            "provides": {kind: sorted(names) for kind, names in self.provides.items() if names},
            "broken": self.error is not None,
            "error": self.error,
            "disabled": self.disabled,
            "conflicts": list(self.conflicts),
        }


@dataclass(frozen=True)
class Registration:
    """One registered name. ``target`` is the factory, or ``"module:attribute"`` naming it.

    A name given as text is imported only when the factory is first needed,
    so a plugin's entry-point module can stay light: ``pgpcodec --help`` and
    ``pgpcodec plugins`` load every plugin, and pay for none of their
    numpy, Pillow or model runtimes.
    """

    name: str
    kind: str
    target: Callable | str
    plugin: str

    @functools.cached_property
    def factory(self) -> Callable:
        if callable(self.target):
            return self.target
        module_name, _, attribute = self.target.partition(":")
        try:
            factory = getattr(importlib.import_module(module_name), attribute)
        except PgpcodecError as exc:  # a deliberate, clear error (a missing extra): kept, with the plugin named
            raise exc.add_context(plugin=self.plugin)
        except Exception as exc:  # a broken or half-installed plugin names itself
            raise PluginError(
                f"{KIND_LABELS[self.kind]} {self.name!r} from plugin {self.plugin!r} cannot be loaded: {_one_line(exc)}",
                "reinstall the plugin, with the extra its documentation names if it has one",
                plugin=self.plugin,
            ) from exc
        if not callable(factory):
            raise PluginError(f"plugin {self.plugin!r} registered {self.target!r} for {self.name!r}, which is not callable", plugin=self.plugin)
        return factory


def normalise_name(name: str) -> str:
    """Distribution-name normalisation (PEP 503), so pgpcodec_jxl, pgpcodec-jxl and PGPCODEC.JXL match."""
    return "-".join(name.strip().replace("_", "-").replace(".", "-").lower().split("-"))


def _one_line(exc: BaseException) -> str:
    return "".join(traceback.format_exception_only(type(exc), exc)).strip().splitlines()[-1]


class PluginRegistry:
    """Loads plugins once and creates codecs, scorers, prompt processors and sigma maps by name."""

    def __init__(self, entry_points_: Iterable[EntryPoint] | None = None, modules: Iterable[object] = ()):
        self._pm = pluggy.PluginManager("pgpcodec")
        self._pm.add_hookspecs(hookspecs)
        self._infos: dict[str, PluginInfo] = {}
        self._registry: dict[str, dict[str, Registration]] = {kind: {} for kind in HOOKS}
        self._commands: dict[str, tuple[object, str]] | None = None
        self.unknown_requested: list[str] = []
        """Names in PGPCODEC_LOAD_PLUGINS that match no installed plugin."""
        eps = entry_points(group=ENTRY_POINT_GROUP) if entry_points_ is None else entry_points_
        selected, disabled = self._selected(eps)
        for ep in selected:
            self._load_entry_point(ep)
        for ep in disabled:
            info = self._new_info(ep)
            info.disabled = True
        for module in modules:
            name = getattr(module, "__name__", repr(module))
            self._infos[name] = PluginInfo(name, name, None, None)
            self._pm.register(module, name=name)
        self._collect()

    def _selected(self, eps: Iterable[EntryPoint]) -> tuple[list[EntryPoint], list[EntryPoint]]:
        """(entry points to load, installed ones that PGPCODEC_LOAD_PLUGINS leaves out).

        Built-ins load first, so on a name conflict the built-in wins.
        """
        wanted = os.environ.get(LOAD_PLUGINS_ENV)
        eps = sorted(eps, key=lambda ep: (ep.dist.name != BUILTIN_DISTRIBUTION if ep.dist else True, ep.name))
        if wanted is None:
            return eps, []
        allowed = {normalise_name(item) for item in wanted.split(",") if item.strip()}

        def named(ep: EntryPoint) -> set[str]:
            return {normalise_name(ep.name)} | ({normalise_name(ep.dist.name)} if ep.dist else set())

        builtin = [ep for ep in eps if ep.dist and ep.dist.name == BUILTIN_DISTRIBUTION]
        others = [ep for ep in eps if ep not in builtin]
        self.unknown_requested = sorted(allowed - set().union(*(named(ep) for ep in others)))
        if self.unknown_requested:
            warnings.warn(
                f"{LOAD_PLUGINS_ENV} names {', '.join(self.unknown_requested)}, which no installed plugin provides",
                PluginLoadWarning,
                stacklevel=3,
            )
        chosen = [ep for ep in others if named(ep) & allowed]
        return builtin + chosen, [ep for ep in others if ep not in chosen]

    def _new_info(self, ep: EntryPoint) -> PluginInfo:
        """Record an entry point under its name, or ``name (distribution)`` if two share a name."""
        dist = ep.dist.name if ep.dist else None
        key = ep.name if ep.name not in self._infos else f"{ep.name} ({dist})"
        info = PluginInfo(key, ep.value, dist, ep.dist.version if ep.dist else None)
        self._infos[key] = info
        return info

    def _load_entry_point(self, ep: EntryPoint) -> None:
        info = self._new_info(ep)
        try:
            module = ep.load()
        except Exception as exc:  # a broken plugin must never crash the tool
            self._mark_broken(info, f"import failed: {_one_line(exc)}")
            return
        try:
            self._pm.register(module, name=info.name)
        except Exception as exc:  # pluggy.PluginValidationError: a hook with the wrong arguments
            self._mark_broken(info, f"invalid hook implementation: {_one_line(exc)}")
            return
        unknown = [caller.name for caller in self._pm.get_hookcallers(module) or [] if not caller.has_spec()]
        if unknown:
            self._pm.unregister(module)
            hooks = [*HOOKS.values(), COMMANDS_HOOK]
            close = difflib.get_close_matches(unknown[0], hooks, n=1)
            suggestion = f" (did you mean {close[0]!r}?)" if close else f" (hooks are: {', '.join(hooks)})"
            self._mark_broken(info, f"unknown hook {unknown[0]!r}{suggestion}")

    def _mark_broken(self, info: PluginInfo, error: str) -> None:
        info.error = error
        warnings.warn(f"pgpcodec plugin {info.name!r} skipped: {error}", PluginLoadWarning, stacklevel=3)

    def _collect(self) -> None:
        for kind, hook_name in HOOKS.items():
            for impl in getattr(self._pm.hook, hook_name).get_hookimpls():
                info = self._infos[impl.plugin_name]
                if info.error:
                    continue
                found: list[Registration] = []

                def register(name: str, factory: Callable | str, *, _kind=kind, _found=found, _plugin=impl.plugin_name):
                    lazy = isinstance(factory, str) and factory.count(":") == 1 and all(factory.split(":"))
                    if not isinstance(name, str) or not name or not (callable(factory) or lazy):
                        raise TypeError(
                            f"register() needs a name and a factory (a callable, or 'module:attribute'), got {name!r}, {factory!r}"
                        )
                    _found.append(Registration(name, _kind, factory, _plugin))

                try:
                    impl.function(register=register)
                except Exception as exc:
                    self._mark_broken(info, f"{hook_name} raised: {_one_line(exc)}")
                    continue
                for reg in found:
                    earlier = self._registry[kind].get(reg.name)
                    if earlier is not None:
                        note = f"{KIND_LABELS[kind]} {reg.name!r} is already provided by {earlier.plugin!r}, which is used"
                        info.conflicts.append(note)
                        warnings.warn(f"pgpcodec plugin {info.name!r}: {note}", PluginLoadWarning, stacklevel=3)
                        continue
                    self._registry[kind][reg.name] = reg
                    info.provides.setdefault(kind, []).append(reg.name)

    def commands(self, new_group: Callable[[], object], taken: Iterable[str] = ()) -> dict[str, tuple[object, str]]:
        """The subcommands plugins add: name → (command, plugin), loaded once.

        Each plugin's ``register_commands(cli)`` gets its own ``new_group()``
        (a click group) to add to; a hook that raises marks its plugin broken,
        and a name already ``taken`` (a core command) or added by an earlier
        plugin is skipped with a warning, as a clashing codec name is.
        """
        if self._commands is not None:
            return self._commands
        found: dict[str, tuple[object, str]] = {}
        for impl in getattr(self._pm.hook, COMMANDS_HOOK).get_hookimpls():
            info = self._infos[impl.plugin_name]
            if info.error:
                continue
            group = new_group()
            try:
                impl.function(cli=group)
            except Exception as exc:
                self._mark_broken(info, f"{COMMANDS_HOOK} raised: {_one_line(exc)}")
                continue
            for name, command in group.commands.items():
                owner = "pgpcodec" if name in taken else found.get(name, (None, None))[1]
                if owner is not None:
                    note = f"command {name!r} is already provided by {owner!r}, which is used"
                    info.conflicts.append(note)
                    warnings.warn(f"pgpcodec plugin {info.name!r}: {note}", PluginLoadWarning, stacklevel=3)
                    continue
                found[name] = (command, impl.plugin_name)
                info.provides.setdefault("command", []).append(name)
        self._commands = found
        return found

    # -- queries ---------------------------------------------------------
    def plugins(self) -> list[PluginInfo]:
        return list(self._infos.values())

    def broken(self) -> list[PluginInfo]:
        return [info for info in self._infos.values() if info.error]

    def names(self, kind: str) -> list[str]:
        return sorted(self._registry[kind])

    def registration(self, kind: str, name: str) -> Registration:
        try:
            return self._registry[kind][name]
        except KeyError:
            hint = f"valid names: {', '.join(self.names(kind)) or 'none installed'}"
            disabled = [info.name for info in self._infos.values() if info.disabled]
            if disabled:
                hint += f"; {LOAD_PLUGINS_ENV} leaves out the installed plugins {', '.join(disabled)}"
            raise UnknownPluginError(f"unknown {KIND_LABELS[kind]} {name!r}", hint) from None

    def create(self, kind: str, name: str, **options):
        """Instantiate ``name``; errors from the plugin name the plugin.

        A scorer name ``A+B`` that is not registered itself combines the
        scorers A and B (:mod:`pgpcodec.combine`). Options the factory does
        not take are the caller's :class:`UsageError`, listing the ones it does.
        """
        if kind == "scorer" and name not in self._registry[kind] and "+" in name:
            from .combine import build_combined

            return build_combined(self, name, options)
        from .codec_options import check_options_accepted

        reg = self.registration(kind, name)
        if options:
            check_options_accepted(reg.factory, options, name, KIND_LABELS[kind])
        try:
            return reg.factory(**options)
        except PgpcodecError as exc:
            raise exc.add_context(plugin=reg.plugin)
        except Exception as exc:
            raise PluginError(
                f"{KIND_LABELS[kind]} {name!r} from plugin {reg.plugin!r} failed to start: {_one_line(exc)}", plugin=reg.plugin
            ) from exc

    def codec(self, name: str, *, plugin_timeout: float | None = None, **options):
        """The codec ``name`` made with ``options``, guarded: its encode and decode calls name the
        plugin on any failure and give up after ``plugin_timeout`` seconds (:mod:`pgpcodec.codec_guard`)."""
        from .codec_guard import GuardedCodec
        from .guard import PluginRef

        codec = self.create("codec", name, **options)
        return GuardedCodec(codec, PluginRef("codec", name, self.registration("codec", name).plugin), plugin_timeout)


_default: PluginRegistry | None = None
_default_lock = threading.Lock()


def get_registry() -> PluginRegistry:
    """The process-wide registry, loaded on first use."""
    global _default
    with _default_lock:
        if _default is None:
            with warnings.catch_warnings():
                warnings.simplefilter("always", PluginLoadWarning)
                _default = PluginRegistry()
        return _default


def reset_registry() -> None:
    """Forget the loaded plugins (tests, and after installing a plugin)."""
    global _default
    with _default_lock:
        _default = None
