"""The README's examples are the bytes the committed models answer (scripts/readme_examples.py)."""
from __future__ import annotations

import importlib.util

from deploy.processes import ROOT

_spec = importlib.util.spec_from_file_location("readme_examples", ROOT / "scripts" / "readme_examples.py")
examples = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(examples)


def test_every_readme_example_is_the_real_response(client):
    readme = examples.README.read_text(encoding="utf-8")
    assert readme.count("<!-- examples ") == len(examples.EXAMPLES) == 4
    fresh = examples.rendered_readme(client, readme)
    assert fresh == readme, "README examples are stale: run .venv/bin/python scripts/readme_examples.py --update"


def test_a_stale_example_is_caught(client):
    readme = examples.README.read_text(encoding="utf-8")
    stale = readme.replace('"decision":"review"', '"decision":"approve"', 1)
    assert stale != readme and examples.rendered_readme(client, stale) == readme
