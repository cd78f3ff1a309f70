"""Load one artifact, trusting nothing until it has passed every check.

Order matters: the digest is checked on the bytes in memory *before* they are
unpickled (unpickling runs code), and those same bytes are what gets unpickled,
so the file cannot change between the check and the load.
"""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timezone

from sklearn.exceptions import InconsistentVersionWarning

from mlservice.files import MODEL_MAX_BYTES
from mlservice.observability import metrics
from mlservice.registry import store
from mlservice.registry.artifact import artifact_digest, read_artifact, sha256_hex
from mlservice.registry.card import CARD_FILE, CardError, ModelCard, parse_card
from mlservice.registry.formats import UnsafeArtifact, load_bytes
from mlservice.registry.compat import incompatibilities
from mlservice.registry.model import LoadedModel
from mlservice.registry.spec import ModelSpec
from mlservice.registry.contract import IncompatibleModel, UseCase


class ModelLoadError(Exception):
    """Why a model was refused: paths, digests and versions only, never data."""


def load_model(spec: ModelSpec, use_case: UseCase, max_bytes: int = MODEL_MAX_BYTES,
               fetch_timeout: float = store.FETCH_TIMEOUT) -> LoadedModel:
    """Verify and load ``spec`` (fetched first if named by URL); raise :class:`ModelLoadError` with the reason."""
    if spec.source:
        _fetch(spec, max_bytes, fetch_timeout)
    files = _read_verified(spec, max_bytes)
    payload = files.get(spec.artifact.name)
    if payload is None:
        raise ModelLoadError(f"no model file {spec.artifact.name} in {spec.artifact_dir}")
    card = _checked_card(spec, files.get(CARD_FILE), payload)
    try:
        fields = use_case.input_fields(card)
        settings = use_case.validate_settings(spec.settings)
    except IncompatibleModel as exc:
        raise ModelLoadError(f"incompatible with use case {use_case.name}: {exc}") from None
    estimator = _unpickle(spec, payload)
    failed = _golden(use_case, card, estimator)
    if failed:
        raise ModelLoadError(f"{failed} of {len(card.golden)} golden examples differ from the card")
    return _with_runtime(use_case, LoadedModel(spec, card, estimator, fields, settings, datetime.now(timezone.utc)))


def _fetch(spec: ModelSpec, max_bytes: int, timeout: float) -> None:
    """The artifact into the host's cache, unless it is there; a failure names its kind, never a secret."""
    try:
        store.fetch(spec.source, spec.artifact, spec.sha256, max_bytes, timeout)
    except store.FetchError as exc:
        metrics.record_fetch_failure(spec.name, exc.reason)
        raise ModelLoadError(f"cannot fetch the artifact ({exc.reason}): {exc}") from None
    except OSError as exc:  # the cache folder itself
        metrics.record_fetch_failure(spec.name, "cache")
        raise ModelLoadError(f"cannot write the artifact cache: {exc.strerror or type(exc).__name__}") from None


def _read_verified(spec: ModelSpec, max_bytes: int) -> dict[str, bytes]:
    """Every file of the artifact, read once and matched against the pin before anything is parsed."""
    try:
        files = read_artifact(spec.artifact_dir, max_bytes, first=spec.artifact.name)
    except OSError as exc:
        raise ModelLoadError(f"cannot read artifact {spec.artifact}: {exc.strerror or exc}") from None
    actual = artifact_digest(files)
    if actual != spec.sha256:
        hint = ""
        if sha256_hex(files.get(spec.artifact.name, b"")) == spec.sha256:
            hint = f" (the pin covers {spec.artifact.name} alone; pin the whole artifact: mlservice models pin DIR)"
        raise ModelLoadError(f"digest mismatch for artifact {spec.artifact_dir}: config pins sha256 "
                             f"{spec.sha256[:12]}…, its files have {actual[:12]}…{hint}")
    return files


def _checked_card(spec: ModelSpec, data: bytes | None, payload: bytes) -> ModelCard:
    try:
        card = parse_card(data, spec.artifact_dir / CARD_FILE)
    except CardError as exc:
        raise ModelLoadError(str(exc)) from None
    problems = incompatibilities(card.libraries)
    if card.sha256 != sha256_hex(payload):
        problems.append(f"card describes model file {card.sha256[:12]}…, not {spec.artifact.name}")
    if card.version != spec.version:
        problems.append(f"config says version {spec.version}, card says {card.version}")
    if problems:
        raise ModelLoadError("; ".join(problems))
    return card


def _unpickle(spec: ModelSpec, payload: bytes) -> object:
    """Any failure of a corrupt, foreign or untrusted file becomes one clear refusal."""
    try:
        return load_bytes(spec.format, payload)
    except InconsistentVersionWarning as exc:
        raise ModelLoadError(f"{spec.artifact} was pickled with scikit-learn {exc.original_sklearn_version}") from None
    except UnsafeArtifact as exc:
        raise ModelLoadError(f"refused {spec.artifact} (skops): {exc}") from None
    except Exception as exc:  # noqa: BLE001 - truncated files raise anything
        raise ModelLoadError(f"cannot unpickle {spec.artifact}: {type(exc).__name__}") from None


def _with_runtime(use_case: UseCase, model: LoadedModel) -> LoadedModel:
    """The model with what its use case serves it with (explainers, range checks); refused if that fails."""
    try:
        return replace(model, runtime=use_case.build_runtime(model))
    except IncompatibleModel as exc:
        raise ModelLoadError(f"incompatible with use case {use_case.name}: {exc}") from None
    except Exception as exc:  # noqa: BLE001 - a foreign estimator may fail any way
        raise ModelLoadError(f"use case {use_case.name} could not build its runtime: {type(exc).__name__}") from None


def _golden(use_case: UseCase, card: ModelCard, estimator: object) -> int:
    try:
        return use_case.golden_mismatches(estimator, card.golden)
    except Exception as exc:  # noqa: BLE001 - a foreign object may fail any way
        raise ModelLoadError(f"golden examples could not run: {type(exc).__name__}") from None
