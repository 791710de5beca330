"""Hook specifications. A plugin is a module with ``@hookimpl`` functions.

Each hook receives a ``register`` callback (the style of ``llm``)::

    from pgpcodec import hookimpl

    @hookimpl
    def register_codecs(register):
        register("mycodec", MyCodec)   # name, factory(**options) -> Codec

Factories are called only when the named thing is used, so heavy imports
belong inside them, not at module level. Hookspecs are versioned with the
package: see docs/plugins.md for the compatibility promise.
"""

from __future__ import annotations

import pluggy

hookspec = pluggy.HookspecMarker("pgpcodec")
hookimpl = pluggy.HookimplMarker("pgpcodec")


@hookspec
def register_codecs(register):
    """Register codecs: ``register(name, factory)``; factory(**options) returns a Codec."""


@hookspec
def register_scorers(register):
    """Register scorers: ``register(name, factory)``; factory(**options) returns a Scorer."""


@hookspec
def register_prompt_processors(register):
    """Register prompt processors: ``register(name, factory)`` returning a PromptProcessor."""


@hookspec
def register_sigma_maps(register):
    """Register sigma maps: ``register(name, factory)`` returning a SigmaMap."""


@hookspec
def register_evaluators(register):
    """Register benchmark evaluators: ``register(name, factory)`` returning a ``pgpcodec.bench.Evaluator``."""


@hookspec
def register_fit_targets(register):
    """Register fit targets: ``register(name, factory)``; factory() returns a ``pgpcodec.fit.FitRule``."""


@hookspec
def register_commands(cli):
    """Add subcommands to the ``pgpcodec`` command line: ``cli`` is a click group (``@cli.command()``,
    ``cli.add_command(group)``), as in ``llm``. Import what the commands need inside them, not here."""
