"""The process's one cache of loaded plugins: prefilters and codecs, each model loaded once.

The API's :func:`pgpcodec.encode`, the sidecar and the bench take their
prefilters and codecs from :data:`LOADED`. A scorer (its model) is made
once per registry, name and options and shared by every prefilter built on
it, whatever their settings, prompt processor or fit; a prompt processor
is made once per name, and only for scorers that read the prompt.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from .defaults import DEFAULT_PROMPT_PROCESSOR, DEFAULT_SCORER
from .prefilter import Prefilter, PrefilterSettings, make_scorer

MODELS = 8
"""Loaded scorers kept (the least recently used one is dropped beyond)."""
PREFILTERS = 64
"""Prefilters kept: cheap (they share the scorers), but each holds its settings and sigma map."""


def _frozen(options: dict | None) -> tuple:
    return tuple(sorted((options or {}).items()))


class Loaded:
    """Loaded scorers, prompt processors, codecs and the prefilters built on them (thread-safe)."""

    def __init__(self, models: int = MODELS, prefilters: int = PREFILTERS):
        self._lock = threading.RLock()
        self._models, self._limits = OrderedDict(), {"models": models, "prefilters": prefilters}
        self._processors: dict = {}
        self._codecs: dict = {}
        self._prefilters: OrderedDict = OrderedDict()

    def _kept(self, store: OrderedDict, key, make, limit: str):
        with self._lock:
            if key in store:
                store.move_to_end(key)
                return store[key]
        value = make()  # outside the lock: loading a model takes seconds, other keys need not wait
        with self._lock:
            value = store.setdefault(key, value)
            while len(store) > self._limits[limit]:
                store.popitem(last=False)
        return value

    def scorer(self, registry, name: str, options: dict | None = None):
        return self._kept(self._models, (registry, name, _frozen(options)), lambda: make_scorer(registry, name, options), "models")

    def prompt_processor(self, registry, name: str):
        key = (registry, name)
        with self._lock:
            if key not in self._processors:
                self._processors[key] = registry.create("prompt_processor", name)
            return self._processors[key]

    def codec(self, name: str, *, registry=None, options: dict | None = None):
        """The guarded codec ``name`` with factory ``options`` (:meth:`pgpcodec.plugins.PluginRegistry.codec`)."""
        from . import plugins

        registry = registry or plugins.get_registry()
        key = (registry, name, _frozen(options))
        with self._lock:
            if key not in self._codecs:
                self._codecs[key] = registry.codec(name, **(options or {}))
            return self._codecs[key]

    def prefilter(
        self,
        scorer: str = DEFAULT_SCORER,
        *,
        prompt_processor: str = DEFAULT_PROMPT_PROCESSOR,
        scorer_options: dict | None = None,
        settings: PrefilterSettings | None = None,
        fit=None,
        registry=None,
        plugin_timeout: float | None = None,
    ) -> Prefilter:
        """The prefilter of this set-up, built on the loaded scorer (loaded now if it is not yet)."""
        from . import plugins

        registry = registry or plugins.get_registry()
        settings = settings or PrefilterSettings()
        # A target name keys itself; a FitRule (unhashable: it holds a dict) by what describes it, so the rule a
        # request resolves anew ("max-side:64" each time) finds its entry, and two rules sharing a name do not.
        fit_key = fit if fit is None or isinstance(fit, str) else (fit.name, fit.description, fit.source, _frozen(fit.settings))
        key = (registry, scorer, prompt_processor, _frozen(scorer_options), settings, fit_key, plugin_timeout)

        def build() -> Prefilter:
            loaded = self.scorer(registry, scorer, scorer_options)
            # Only a scorer that reads the prompt needs its processor loaded (NLTK takes seconds).
            processor = self.prompt_processor(registry, prompt_processor) if loaded.prompt_guided else prompt_processor
            return Prefilter(loaded, prompt_processor=processor, settings=settings, registry=registry,
                             plugin_timeout=plugin_timeout, fit=fit)

        return self._kept(self._prefilters, key, build, "prefilters")

    def prefilters(self, registry=None) -> list[Prefilter]:
        """The prefilters kept (those built with ``registry`` when given)."""
        with self._lock:
            return [p for p in self._prefilters.values() if registry is None or p.registry is registry]


LOADED = Loaded()
"""The one cache of the process."""
