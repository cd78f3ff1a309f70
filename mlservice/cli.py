"""The ``mlservice`` command: serve, train, check models, make API keys."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from mlservice.app import USE_CASES
from mlservice.auth.keys import scopes_for
from mlservice.config import CONFIG_ENV, ROOT, Defaults, absolute_path_env
from mlservice.decisions.commands import decisions
from mlservice.replay import replay_command  # noqa: F401 - registers decisions replay
from mlservice.training.command import train


@click.group()
def main() -> None:
    """mlservice: train, check and serve scikit-learn models."""


@main.command()
@click.option("--bind", default="127.0.0.1:8000", show_default=True, help="host:port or unix:/path to listen on.")
@click.option("--workers", type=click.IntRange(min=1), help="Worker processes [default: one per core, at least 2].")
def serve(bind: str, workers: int | None) -> None:
    """Serve under gunicorn with the repository's deploy/gunicorn.conf.py (what `make run` does).

    The settings come from MLSERVICE_CONFIG (default configs/service.toml) and
    MLSERVICE_* variables, as for any other start; see docs/deployment.md.
    """
    env = absolute_path_env({**os.environ, "MLSERVICE_BIND": bind})  # gunicorn starts in the repository
    if env.get(CONFIG_ENV) and not Path(env[CONFIG_ENV]).is_file():
        raise click.ClickException(f"{CONFIG_ENV} names no file: {env[CONFIG_ENV]}")
    if workers:
        env["MLSERVICE_WORKERS"] = str(workers)
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    os.chdir(ROOT)
    os.execve(gunicorn, [gunicorn, "--config", str(ROOT / "deploy" / "gunicorn.conf.py"), "wsgi:app"], env)


@main.group()
def models() -> None:
    """Inspect and check model configs."""


@models.command("check")
@click.argument("config", type=click.Path(dir_okay=False, path_type=Path), default=Defaults.MODELS_CONFIG)
@click.option("--only", multiple=True, type=click.Choice([u.name for u in USE_CASES]),
              help="Check only these use cases (default: all).")
def check(config: Path, only: tuple[str, ...]) -> None:
    """Validate CONFIG offline: digests, loads, versions, schemas, golden examples."""
    from mlservice.registry.check import check_config

    use_cases = [u for u in USE_CASES if not only or u.name in only]
    results = check_config(config, use_cases, known=[u.name for u in USE_CASES])
    for result in results:
        click.echo(f"{'OK  ' if result.ok else 'FAIL'} {result.name}: {result.detail}")
    if not all(r.ok for r in results):
        raise SystemExit(1)


@models.command("pin")
@click.argument("artifacts", nargs=-1, required=True,
                type=click.Path(exists=True, file_okay=True, path_type=Path))
def pin(artifacts: tuple[Path, ...]) -> None:
    """Print the sha256 to pin for each artifact folder (or a model file in one): it covers every file."""
    from mlservice.registry.artifact import folder_digest

    for artifact in artifacts:
        folder = artifact if artifact.is_dir() else artifact.parent
        try:
            click.echo(f'{folder}: sha256 = "{folder_digest(folder)}"')
        except OSError as exc:
            raise click.ClickException(f"cannot read {folder}: {exc.strerror or exc}") from None


@models.command("convert")
@click.argument("source", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.argument("target", type=click.Path(exists=False, path_type=Path))
def convert(source: Path, target: Path) -> None:
    """Write the joblib artifact in SOURCE as a skops artifact in TARGET (loading it then runs no code)."""
    from mlservice.registry.artifact import folder_digest
    from mlservice.training.convert import to_skops

    try:
        model = to_skops(source, target)
    except (OSError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f'artifact = "{model}"\nformat = "skops"\nsha256 = "{folder_digest(target)}"')


@main.group()
def keys() -> None:
    """Manage API keys."""


@keys.command("new")
@click.option("--id", "key_id", required=True, help="Who the key is for (shown in logs as the caller).")
@click.option("--rate", type=click.IntRange(1, 100_000),
              help="This key's own rate limit in nginx, requests per second [default: the site's].")
@click.option("--scope", "scopes", multiple=True, required=True,
              type=click.Choice(scopes_for(u.name for u in USE_CASES)),
              help="predict (every use case), predict:<use case> (one), admin (metadata, metrics).")
def new_key(key_id: str, scopes: tuple[str, ...], rate: int | None) -> None:
    """Print a new key once, and the keys-file entry that stores only its digest."""
    from mlservice.auth.keys import digest, new_key as make

    key = make()
    click.echo(f"key (give it to the client; it is not stored): {key}\n")
    click.echo(f'[[keys]]\nid = "{key_id}"\nsha256 = "{digest(key)}"\nscopes = {list(scopes)!r}'.replace("'", '"'))
    if rate is not None:
        click.echo(f"rate_per_second = {rate}")


main.add_command(train)
main.add_command(decisions)


if __name__ == "__main__":  # ``python -m mlservice.cli``: how ``train`` re-executes itself (training/kernels.py)
    main()
