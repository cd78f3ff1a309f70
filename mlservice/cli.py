"""The ``mlservice`` command: training and model checks, without starting a server."""
from __future__ import annotations

import click

from mlservice.training.command import train


@click.group()
def main() -> None:
    """mlservice: train, check and serve scikit-learn models."""


main.add_command(train)
