"""Model cards as documents: ``docs/models/<name>.md`` and its figures, from ``card.json``.

Rendered by ``mlservice train`` after each artifact is written, from the card
alone, so the document says exactly what the served card says. Creation times
are left out: the same card renders the same files.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mlservice.registry.card import CARD_FILE
from mlservice.training import fold_compare, plots

TITLES = {"risk": "credit scorecard", "diagnose": "diabetes risk", "recommend": "item-based movie recommendations"}


def render(artifact_dir: Path, docs_dir: Path) -> Path:
    """Write ``<docs_dir>/<name>.md`` (and its PNG figures) for the card in ``artifact_dir``."""
    card = json.loads((artifact_dir / CARD_FILE).read_text(encoding="utf-8"))
    name = card["name"]
    if card["kind"] == "recommender":
        figures = {"precision": plots.precision_at_k(card, docs_dir / f"{name}-precision-at-k.png")}
        body = _recommender(card, figures)
    else:
        figures = {
            "roc": plots.roc(card, docs_dir / f"{name}-roc.png"),
            "reliability": plots.reliability(card, docs_dir / f"{name}-reliability.png"),
        }
        body = _classifier(card, figures)
    path = docs_dir / f"{name}.md"
    path.write_text("\n\n".join([_header(card), *body, _footer(card)]) + "\n", encoding="utf-8")
    return path


def _header(card: dict[str, Any]) -> str:
    libraries = ", ".join(f"{k} {v}" for k, v in card["libraries"].items())
    return (
        f"# {card['name']} {card['version']}: {TITLES.get(card['name'], card['kind'])}\n\n"
        f"Model card rendered by `mlservice train` from `artifacts/{card['name']}/{card['version']}/card.json` "
        f"(served as `GET /models/{card['name']}`).\n\n"
        f"- **Artifact**: `model.joblib`, sha256 `{card['artifact']['sha256']}`\n"
        f"- **Estimator**: {card['estimator']}\n"
        f"- **Parameters**: `{json.dumps(card['params'])}`\n"
        f"- **Libraries**: {libraries}\n\n"
        f"## Intended use\n\n{card['intended_use']}"
    )


def _footer(card: dict[str, Any]) -> str:
    data = card["data"]
    return (
        f"## Data provenance and licence\n\n- **Source**: {data['source']} ({data['rows']:,} rows)\n"
        f"- **Provenance**: {data['provenance']}\n- **Licence**: {data['license']}\n"
        f"- **Citation**: {data['citation']}\n- **Training**: {card['training']['split']}\n\n"
        f"## Known limits\n\n{card['limitations']}"
    )


def _classifier(card: dict[str, Any], figures: dict[str, Path]) -> list[str]:
    metrics, oof = card["metrics"], card["metrics"]["out_of_fold"]
    parts = [
        f"## Metrics against baselines\n\n{_metric_table(metrics)}",
        f"## ROC\n\nROC AUC {oof['roc_auc']:.3f} on {oof['description']}.\n\n"
        f"![ROC curve]({figures['roc'].name})",
        _calibration(card, figures["reliability"].name),
    ]
    if "by_age_band" in metrics:
        parts.append(_bands(metrics["by_age_band"]))
    if "comparison" in metrics:
        parts.append(_fold_comparison(metrics["comparison"]))
    return parts + [_features(card["features"]), _explanation(card.get("explanation") or {})]


def _metric_table(metrics: dict[str, Any]) -> str:
    kinds = metrics["baseline_kind"]
    rows = ["| metric | model | baseline |", "|---|---|---|"]
    for name, score in metrics["model"].items():
        base = metrics["baseline"][name]
        rows.append(f"| {name} | {score['mean']:.3f} ± {score['std']:.3f} | {base['mean']:.3f} ({kinds[name]}) |")
    return (
        "Mean ± std over the stratified cross-validation folds; labels at probability "
        f"{metrics['threshold']}; prevalence {metrics['prevalence']:.3f}.\n\n" + "\n".join(rows)
    )


def _fold_comparison(found: dict[str, Any]) -> str:
    """Each model's fold mean ± std, and this model's paired differences (with folds won)."""
    names = list(next(iter(found["metrics"].values())))
    rows = ["| model | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    rows += [f"| {model} | " + " | ".join(f"{m[n]['mean']:.4f} ± {m[n]['std']:.4f}" for n in names) + " |"
             for model, m in found["metrics"].items()]
    rows += ["", "| this model minus (paired) | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    rows += [f"| {model} | " + " | ".join(f"{_interval(d[n], signed=True)}, better on "
                                          f"{d[n]['units_better'] if n != 'brier_score' else d[n]['units'] - d[n]['units_better']}"
                                          f"/{d[n]['units']}" for n in names) + " |"
             for model, d in fold_compare.differences(found).items()]
    return (f"## Against the other models compared\n\n{found['folds']} folds (5-fold CV with seeds "
            f"{found['seeds'][0]} to {found['seeds'][-1]}), everything refitted inside each training fold; "
            "differences with a 95% paired bootstrap interval over folds (folds of one seed share rows, so "
            "it is optimistic). Lower Brier is better.\n\n" + "\n".join(rows))


def _calibration(card: dict[str, Any], figure: str) -> str:
    cal = card["metrics"]["out_of_fold"]["calibration"]
    rows = ["| predicted | rows | mean predicted | observed |", "|---|---|---|---|"]
    rows += [f"| {b['from']:.1f}–{b['to']:.1f} | {b['count']} | {b['mean_predicted']:.3f} | {b['observed']:.3f} |"
             for b in cal["reliability"]]
    note = (card.get("explanation") or {}).get("calibration")
    return (
        f"## Calibration\n\nOut of fold: Brier score {cal['brier_score']:.3f}, calibration slope "
        f"{cal['slope']:.2f} and intercept {cal['intercept']:+.2f} ({cal['reading']}). The service returns "
        f"this model's own `predict_proba`.{' ' + note[0].upper() + note[1:] + '.' if note else ''}\n\n"
        f"![Reliability curve]({figure})\n\n" + "\n".join(rows)
    )


def _bands(bands: list[dict[str, Any]]) -> str:
    rows = ["| age | rows | prevalence | ROC AUC | Brier |", "|---|---|---|---|---|"]
    for b in bands:
        auc = "n/a" if b["roc_auc"] is None else f"{b['roc_auc']:.3f}"
        prevalence = "n/a" if b["prevalence"] is None else f"{b['prevalence']:.3f}"
        brier = "n/a" if b["brier_score"] is None else f"{b['brier_score']:.3f}"
        rows.append(f"| {b['band']} | {b['count']} | {prevalence} | {auc} | {brier} |")
    return "## Metrics by age band\n\nOut-of-fold predictions, grouped by the applicant's age.\n\n" + "\n".join(rows)


def _features(features: list[dict[str, Any]]) -> str:
    rows = ["| feature | type | training values | median | std | missing seen | unit | meaning |",
            "|---|---|---|---|---|---|---|---|"]
    for f in features:
        values = ", ".join(f["categories"]) if f["type"] == "categorical" else f"{f['min']} to {f['max']}"
        median = "" if f.get("median") is None else f"{f['median']:g}"
        std = "" if f.get("std") is None else f"{f['std']:.3g}"
        missing = "yes" if f["nullable"] else "no"
        rows.append(f"| {f['name']} | {f['type']} | {values} | {median} | {std} | {missing} | {f['unit'] or ''} | {f['description']} |")
    return (
        "## Features\n\nOutside these training values the service answers with a warning per field "
        "(`warnings`); see docs/api.md.\n\n" + "\n".join(rows)
    )


def _explanation(explanation: dict[str, Any]) -> str:
    return (
        f"## Explanations\n\nMethod: {explanation.get('method', 'none')}. Reference: {explanation.get('reference', 'none')}. "
        "Checked at every load against the model's own log-odds (within 1e-9) on the golden examples and "
        "random probes; a model that fails is refused."
    )


def _below_baseline(curve: dict[str, list]) -> str:
    """Say plainly where popularity does better."""
    worse = [k for k, m, b in zip(curve["k"], curve["model"], curve["baseline"]) if m < b]
    if not worse:
        return "The model is at or above the baseline at every k."
    return f"The popularity baseline does better at k = {', '.join(map(str, worse))}."


def _holdout(found: dict[str, Any] | None) -> list[str]:
    """The per-user comparison: each metric with its interval, each difference with its paired one."""
    if not found:
        return []
    names = list(next(iter(found["metrics"].values())))
    rows = ["| recommender | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    rows += [f"| {model} | " + " | ".join(_interval(scores[n]) for n in names) + " |"
             for model, scores in found["metrics"].items()]
    key = next(k for k in found if k.startswith("difference_from_"))
    rows += ["", f"| {key.replace('_', ' ')} (paired) | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    rows += [f"| {model} | " + " | ".join(_interval(diff[n], signed=True) for n in names) + " |"
             for model, diff in found[key].items()]
    return [f"## Comparison on {found['users']} users\n\n{found['protocol']}.\n\n" + "\n".join(rows)
            + "\n\nA difference is shown by this test only where its interval excludes 0."]


def _interval(entry: dict[str, Any], signed: bool = False) -> str:
    low, high = entry["ci95"]
    form = "+.4f" if signed else ".4f"
    return f"{entry['mean']:{form}} [{low:{form}}, {high:{form}}]"


def _recommender(card: dict[str, Any], figures: dict[str, Path]) -> list[str]:
    metrics = card["metrics"]
    rows = ["| metric | model | popularity |", "|---|---|---|"]
    rows += [f"| {n} | {v:.3f} | {metrics['baseline'][n]:.3f} |" for n, v in metrics["model"].items()]
    val = metrics["validation"]
    catalog = card["catalog"]
    return [
        f"## Later-in-time test\n\n{metrics['test_users']} test users, too few to separate the "
        "models (see the comparison on every user below) "
        f"({card['training']['split']}). Baseline: {metrics['baseline_kind']}.\n\n" + "\n".join(rows)
        + f"\n\nOn {val['user_cutoffs']} user-cutoffs inside the training period: "
        + ", ".join(f"{n} {v:.3f} vs {val['baseline'][n]:.3f}" for n, v in val["model"].items()) + ".",
        *_holdout(metrics.get("per_user_holdout")),
        f"## precision@k\n\nk = 1 to {metrics['precision_curve']['k'][-1]} on the same test users. "
        f"{_below_baseline(metrics['precision_curve'])}\n\n![precision@k]({figures['precision'].name})",
        f"## Catalog\n\n{catalog['items']:,} movies, {catalog['users']:,} users, {catalog['ratings']:,} ratings; "
        f"genres: {', '.join(catalog['genres'])}.",
        "## Explanations\n\nEach recommended item returns its score split into the similarity votes of the "
        "user's liked (or highly rated) movies and the popularity part, and names the movie with the largest "
        "vote; the reason is whichever part is larger.",
    ]
