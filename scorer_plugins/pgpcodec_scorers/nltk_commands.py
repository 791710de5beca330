"""``pgpcodec setup-nltk``, the command the nltk prompt processor adds (:func:`.prompts.register_commands`)."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("setup-nltk")
@click.option("--from", "source", type=click.Path(file_okay=False), default=None, help="Copy from a local nltk_data folder instead of downloading.")
@click.option("--target", type=click.Path(file_okay=False), default=None, help="Where to install (default: <environment>/share/nltk_data).")
def setup_nltk(source, target):
    """Install the NLTK data (stop words, WordNet, POS tagger) for the nltk prompt processor.

    Without --from this downloads with nltk.download; offline, point --from at
    a copied nltk_data folder. Either way it then writes the compact prompt
    table (stop words and WordNet lemmas) that makes the processor start fast.
    """
    from . import nltk_resources

    nltk_resources.require_nltk()
    if source is None and target is None and not nltk_resources.missing():
        if nltk_resources.find_table() is not None:
            click.echo("NLTK data already installed", err=True)
            return 0
        import nltk

        roots = [Path(p) for p in nltk.data.path if all((Path(p) / r).is_dir() for r in ("corpora/wordnet", "corpora/stopwords"))]
        try:
            if not roots:
                raise OSError("the NLTK data found is zipped or split over several folders")
            click.echo(f"NLTK data already installed; prompt table written to {nltk_resources.write_table(roots[0])}", err=True)
        except OSError as exc:
            click.echo(f"NLTK data already installed; no prompt table written ({exc}): the nltk processor reads NLTK's data, slower", err=True)
        return 0
    where = nltk_resources.install(Path(source) if source else None, Path(target) if target else None)
    click.echo(f"NLTK data installed in {where}", err=True)
    return 0
