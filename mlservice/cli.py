"""The ``mlservice`` command: training and model checks, without starting a server."""
from __future__ import annotations

from pathlib import Path

import click

from mlservice.config import Defaults
from mlservice.training.command import train


@click.group()
def main() -> None:
    """mlservice: train, check and serve scikit-learn models."""


@main.group()
def models() -> None:
    """Inspect and check model configs."""


@models.command("check")
@click.argument("config", type=click.Path(dir_okay=False, path_type=Path), default=Defaults.MODELS_CONFIG)
@click.option("--only", multiple=True, help="Check only these use cases (default: all).")
def check(config: Path, only: tuple[str, ...]) -> None:
    """Validate CONFIG offline: digests, loads, versions, schemas, golden examples."""
    from mlservice.app import USE_CASES
    from mlservice.registry.check import check_config

    use_cases = [u for u in USE_CASES if not only or u.name in only]
    results = check_config(config, use_cases, known=[u.name for u in USE_CASES])
    for result in results:
        click.echo(f"{'OK  ' if result.ok else 'FAIL'} {result.name}: {result.detail}")
    if not all(r.ok for r in results):
        raise SystemExit(1)


@main.group()
def keys() -> None:
    """Manage API keys."""


@keys.command("new")
@click.option("--id", "key_id", required=True, help="Who the key is for (shown in logs as the caller).")
@click.option("--scope", "scopes", multiple=True, required=True, type=click.Choice(["predict", "admin"]))
def new_key(key_id: str, scopes: tuple[str, ...]) -> None:
    """Print a new key once, and the keys-file entry that stores only its digest."""
    from mlservice.auth.keys import digest, new_key as make

    key = make()
    click.echo(f"key (give it to the client; it is not stored): {key}\n")
    click.echo(f'[[keys]]\nid = "{key_id}"\nsha256 = "{digest(key)}"\nscopes = {list(scopes)!r}'.replace("'", '"'))


main.add_command(train)
