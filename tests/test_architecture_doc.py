"""docs/architecture.md is read first: every function its request path names exists where it says."""
from __future__ import annotations

import re

from deploy.processes import ROOT

DOC = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
DIAGRAM = DOC.split("```")[1]


def test_every_file_and_function_on_the_request_path_exists():
    named = re.findall(r"(\w+(?:/\w+)*\.py)\s+(\w+)(?:\.(\w+))?\(?", DIAGRAM)
    assert len(named) >= 6
    for path, name, method in named:
        source = (ROOT / "mlservice" / path).read_text(encoding="utf-8")
        assert re.search(rf"^(def|class) {name}\b", source, re.M), f"{path} has no {name}"
        if method:
            assert re.search(rf"^    def {method}\b", source, re.M), f"{path} has no {name}.{method}"


def test_every_call_on_the_request_path_is_defined_in_the_package():
    called = set(re.findall(r"(?<![\w.\"])(\w+)\(", DIAGRAM)) - {"create_app"}
    sources = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "mlservice").rglob("*.py"))
    missing = [name for name in called if not re.search(rf"(def|class) {name}\b", sources)]
    assert not missing, f"docs/architecture.md calls what the code does not define: {missing}"
