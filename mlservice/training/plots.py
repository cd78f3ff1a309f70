"""The model cards' figures, drawn from card entries only (matplotlib, no pyplot state).

PNG metadata is left out, so the same card gives the same bytes.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

SIZE = (4.8, 4.0)
DPI = 100


def roc(card: dict[str, Any], path: Path) -> Path:
    """ROC curve of the out-of-fold predictions, with the chance line."""
    oof = card["metrics"]["out_of_fold"]
    fig, ax = _figure()
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", label="chance (AUC 0.5)")
    ax.plot(oof["roc_curve"]["fpr"], oof["roc_curve"]["tpr"], label=f"model (AUC {oof['roc_auc']:.3f})")
    ax.set(xlabel="false positive rate", ylabel="true positive rate", title=f"{card['name']} {card['version']}: ROC, out of fold")
    return _save(fig, ax, path)


def reliability(card: dict[str, Any], path: Path) -> Path:
    """Observed frequency against mean predicted probability per bin (area ~ rows)."""
    cal = card["metrics"]["out_of_fold"]["calibration"]
    bins = cal["reliability"]
    fig, ax = _figure()
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", label="perfect calibration")
    sizes = [12 + 400 * b["count"] / max(x["count"] for x in bins) for b in bins]
    ax.plot([b["mean_predicted"] for b in bins], [b["observed"] for b in bins], marker="", label=f"model (Brier {cal['brier_score']:.3f})")
    ax.scatter([b["mean_predicted"] for b in bins], [b["observed"] for b in bins], s=sizes, alpha=0.6)
    ax.set(xlim=(0, 1), ylim=(0, 1), xlabel="mean predicted probability", ylabel="observed frequency",
           title=f"{card['name']} {card['version']}: reliability, out of fold")
    return _save(fig, ax, path)


def precision_at_k(card: dict[str, Any], path: Path) -> Path:
    """precision@k of the model and of the popularity baseline on the held-out period."""
    curve = card["metrics"]["precision_curve"]
    fig, ax = _figure()
    ax.plot(curve["k"], curve["model"], marker="o", markersize=3, label="model")
    ax.plot(curve["k"], curve["baseline"], marker="o", markersize=3, label="popularity baseline")
    ax.set(xlabel="k", ylabel="precision@k", ylim=(0, None), xticks=curve["k"][::2],
           title=f"{card['name']} {card['version']}: precision@k, test period")
    return _save(fig, ax, path)


def _figure() -> tuple[Any, Any]:
    from matplotlib.figure import Figure

    fig = Figure(figsize=SIZE, dpi=DPI)
    return fig, fig.add_subplot()


def _save(fig: Any, ax: Any, path: Path) -> Path:
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize="small")
    ax.title.set_fontsize("medium")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png", metadata={"Software": None})
    return path
