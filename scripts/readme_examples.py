"""The README's example requests and the responses the committed models give them.

    .venv/bin/python scripts/readme_examples.py            # exit 1 and show the difference if the README is stale
    .venv/bin/python scripts/readme_examples.py --update   # rewrite the README's examples from real responses

Each block between ``<!-- examples NAME -->`` and ``<!-- /examples -->`` in README.md
is rendered from ``EXAMPLES[NAME]``: the curl command, then the body exactly as the
service sends it (the app on the repository's configs, in process: the same bytes
gunicorn sends). Run ``--update`` after changing a model, an artifact or a response;
tests/test_readme.py fails until the README matches. Values that change on every
start (``loaded_at``) or would fill pages (a whole card) are shown as ``…``.
"""
from __future__ import annotations

import difflib
import json
import re
import sys
import tempfile
from pathlib import Path
from typing import Any, NamedTuple

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
ELIDED = "\u2026elided\u2026"
_BLOCK = re.compile(r"(<!-- examples (\w+) -->\n)(.*?)(<!-- /examples -->)", re.S)

RISK_APPLICANT = {"seniority": 9, "home": "rent", "time": 60, "age": 30, "marital": "married", "records": "no",
                  "job": "freelance", "expenses": 73, "income": 100, "assets": 0, "debt": 0, "amount": 800,
                  "price": 846}
PATIENT = {"pregnancies": 6, "glucose": 148, "blood_pressure": 72, "skin_thickness": 35, "bmi": 33.6,
           "pedigree": 0.627, "age": 50}


class Example(NamedTuple):
    method: str
    path: str
    body: Any = None
    elide: tuple[tuple[Any, ...], ...] = ()  # paths of values shown as …
    comment: str = ""


EXAMPLES = {
    "risk": [
        Example("POST", "/risk", RISK_APPLICANT),
        Example("POST", "/risk/batch", {"rows": [
            {"seniority": 9, "time": 60, "age": 30, "records": "no", "expenses": 73, "amount": 800, "price": 846},
            {"seniority": 20, "home": "owner", "time": 36, "age": 45, "marital": "married", "records": "no",
             "job": "fixed", "expenses": 60, "income": 1500, "assets": 5000, "debt": 0, "amount": 1000,
             "price": 1500}]}),
    ],
    "diagnose": [
        Example("POST", "/diagnose", PATIENT),
        Example("POST", "/diagnose/batch", {"rows": [
            {"pregnancies": 1, "glucose": 85, "blood_pressure": 66, "skin_thickness": 29, "bmi": 26.6,
             "pedigree": 0.351, "age": 31}, {**PATIENT, "glucose": 260}]}),
    ],
    "recommend": [
        Example("POST", "/recommend", {"user_id": 15, "k": 2}),
        Example("POST", "/recommend", {"liked_items": [1, 260], "k": 1}),
        Example("POST", "/recommend", {"user_id": 15, "k": 2, "genres": ["Comedy"], "exclude_items": [1080]}),
        Example("POST", "/recommend", {"user_id": 99999, "k": 1}),
    ],
    "other": [
        Example("POST", "/diagnose", {**PATIENT, "pregnancies": 2.5, "glucose": "high", "name": "x"}),
        Example("GET", "/readyz", elide=(("decisions", "recorder"),),
                comment="recorder: true under gunicorn (the host's recorder process writes the records)"),
        Example("GET", "/healthz"),
        Example("GET", "/models", elide=(("models", "*", "loaded_at"),)),
        Example("GET", "/models/risk", elide=(("loaded_at",), ("card",)),
                comment="the same, plus the settings and the whole card"),
    ],
}


def command(example: Example, width: int = 100) -> str:
    """The curl command, its body wrapped between items (JSON whitespace, the same request)."""
    line = f"$ curl -s localhost:8000{example.path}"
    if example.body is not None:
        line = wrapped(f"{line} -H 'Content-Type: application/json' -d '{json.dumps(example.body)}'", width)
        assert json.loads(line.split(" -d '", 1)[1][:-1]) == example.body
    return f"{line}      # {example.comment}" if example.comment else line


def wrapped(text: str, width: int) -> str:
    lines = [""]
    for part in text.split(", "):
        if lines[-1] and len(lines[-1]) + len(part) + 2 > width:
            lines[-1] += ","
            lines.append("    " + part)
        else:
            lines[-1] += (", " if lines[-1] else "") + part
    return "\n".join(lines)


def elide(document: Any, path: tuple[Any, ...]) -> None:
    """Replace the value at ``path`` (``*``: every list item) with the marker."""
    key, rest = path[0], path[1:]
    for holder, name in ([(document, i) for i in range(len(document))] if key == "*" else [(document, key)]):
        if rest:
            elide(holder[name], rest)
        else:
            holder[name] = ELIDED


def response_text(client: Any, example: Example) -> str:
    response = client.open(example.path, method=example.method, json=example.body)
    text = response.get_data(as_text=True).rstrip("\n")
    if not example.elide:
        return text
    document = json.loads(text)
    for path in example.elide:
        elide(document, path)
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).replace(f'"{ELIDED}"', "…")


def render_block(client: Any, name: str) -> str:
    lines = ["```"]
    for example in EXAMPLES[name]:
        lines += [command(example), response_text(client, example), ""]
    return "\n".join(lines[:-1] + ["```", ""])


def rendered_readme(client: Any, readme: str) -> str:
    """``readme`` with every examples block rendered anew; an unknown block name is an error."""
    return _BLOCK.sub(lambda m: m.group(1) + render_block(client, m.group(2)) + m.group(4), readme)


def app_client() -> Any:
    sys.path.insert(0, str(ROOT))
    from mlservice import create_app

    state = tempfile.mkdtemp(prefix="mlservice-readme-")
    return create_app({"MODELS_STATE_DIR": state, "MODELS_POLL_SECONDS": 0}).test_client()


def main(argv: list[str]) -> int:
    current = README.read_text(encoding="utf-8")
    fresh = rendered_readme(app_client(), current)
    if "--update" in argv:
        README.write_text(fresh, encoding="utf-8")
        return 0
    if fresh == current:
        return 0
    sys.stdout.writelines(difflib.unified_diff(current.splitlines(True), fresh.splitlines(True), "README.md", "real"))
    print("\nREADME examples differ from real responses: run scripts/readme_examples.py --update", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
