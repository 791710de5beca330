"""``pgpcodec setup-nltk``."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("setup-nltk")
@click.option("--from", "source", type=click.Path(file_okay=False), default=None, help="Copy from a local nltk_data folder instead of downloading.")
@click.option("--target", type=click.Path(file_okay=False), default=None, help="Where to install (default: <environment>/share/nltk_data).")
def setup_nltk(source, target):
    """Install the NLTK data (stop words, WordNet, POS tagger) for the nltk prompt processor.

    Without --from this downloads with nltk.download; offline, point --from at
    a copied nltk_data folder.
    """
    from .. import nltk_resources

    if source is None and target is None and not nltk_resources.missing():
        click.echo("NLTK data already installed", err=True)
        return 0
    where = nltk_resources.install(Path(source) if source else None, Path(target) if target else None)
    click.echo(f"NLTK data installed in {where}", err=True)
    return 0
