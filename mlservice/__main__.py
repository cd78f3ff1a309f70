"""``python -m mlservice``: the ``mlservice`` command, for processes started by path-less parents."""
from mlservice.cli import main

main()
