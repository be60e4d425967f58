"""Small informational commands."""

from __future__ import annotations

import typer


def recipes(show: str = typer.Argument(None, help="Print this recipe fully resolved (YAML).")) -> None:
    """List the bundled recipes, or print one resolved."""
    import yaml

    from trm.config import load_recipe, recipe_names

    if show:
        typer.echo(yaml.safe_dump(load_recipe(show).model_dump(mode="json"), sort_keys=False))
        return
    for name in recipe_names():
        typer.echo(name)


def version() -> None:
    """Print the library version."""
    from trm import __version__

    typer.echo(__version__)
