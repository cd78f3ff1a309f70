"""The pre-deploy gate: every check the running service would make, offline."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from mlservice.registry.deployment import load_deployment
from mlservice.registry.formats import can_execute_code
from mlservice.registry.loader import ModelLoadError
from mlservice.registry.spec import ConfigError, missing_entry, read_models_config, stray_names, unknown_name
from mlservice.registry.contract import UseCase


@dataclass(frozen=True)
class CheckResult:
    name: str
    ok: bool
    detail: str


def check_config(path: Path, use_cases: Iterable[UseCase], known: Iterable[str] = ()) -> list[CheckResult]:
    """One result per use case in ``use_cases``, and per name in the file that no use case in
    ``known`` (the project's, ``USE_CASES``) has; entries of known use cases not checked are skipped."""
    by_name = {u.name: u for u in use_cases}
    known = set(known) | by_name.keys()
    try:
        specs = read_models_config(path)
    except ConfigError as exc:
        return [CheckResult("config", False, str(exc))]
    results = [CheckResult(n, False, unknown_name(n, known)) for n in stray_names(specs, known)]
    for name, use_case in sorted(by_name.items()):
        if name not in specs:
            results.append(CheckResult(name, False, missing_entry(name, path)))
            continue
        try:
            deployment = load_deployment(specs[name], use_case, lambda _: None)
        except ModelLoadError as exc:
            results.append(CheckResult(name, False, str(exc)))
            continue
        parts = [f"{m.spec.version} sha256 {m.spec.sha256[:12]}, {m.spec.format}"
                 f"{' (loading runs code)' if can_execute_code(m.spec.format) else ' (loading runs no code)'}, "
                 f"{len(m.card.golden)} golden examples" for m in deployment.models()]
        results.append(CheckResult(name, True, "; ".join(parts)))
    return results
