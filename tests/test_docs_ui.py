"""Swagger UI, served through nginx from the service's own files, rendered by headless Chromium."""
from __future__ import annotations

import re
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
import requests

from tests.stacks import running_stack

pytestmark = pytest.mark.integration
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--virtual-time-budget=10000"]


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    with running_stack(tmp_path_factory.mktemp("docs"), replicas=1, workers=1) as running:
        yield running


class Operations(HTMLParser):
    """(method, path) of every rendered operation block, in page order."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, str]] = []
        self._method: str | None = None
        self._in_method = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        classes = (attributes.get("class") or "").split()
        self._in_method = "opblock-summary-method" in classes
        if "opblock-summary-path" in classes and self._method:
            self.found.append((self._method, attributes["data-path"] or ""))
            self._method = None

    def handle_data(self, data: str) -> None:
        if self._in_method and data.strip():
            self._method, self._in_method = data.strip().lower(), False


def test_the_docs_page_loads_its_assets_from_the_service(stack):
    page = requests.get(f"{stack.url}/docs", timeout=5)
    assert page.status_code == 200
    assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert assets and all(a.startswith("/docs/assets/") for a in assets), assets
    for asset in assets:
        response = requests.get(stack.url + asset, timeout=5)
        assert response.status_code == 200 and len(response.content) > 10_000, asset
        assert response.headers["Content-Type"].split(";")[0] in ("text/css", "text/javascript", "application/javascript")
    assert requests.get(f"{stack.url}/docs/assets/index.html", timeout=5).status_code == 404  # only what /docs uses


def test_swagger_ui_lists_every_operation_when_rendered(stack, tmp_path):
    spec = requests.get(f"{stack.url}/openapi.json", timeout=5).json()
    documented = {(m, p) for p, item in spec["paths"].items() for m in item if m != "parameters"}
    dom = subprocess.run(
        [CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom", f"{stack.url}/docs"],
        capture_output=True, text=True, timeout=60, check=True,
    ).stdout
    parser = Operations()
    parser.feed(dom)
    assert set(parser.found) == documented and len(parser.found) == len(documented)
    served = Path(stack.nginx.access_log).read_text()
    assert '"route":"/docs/assets/<string:filename>","status":200' in served  # the browser fetched it through nginx
