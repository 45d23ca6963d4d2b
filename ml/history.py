"""Per-epoch learning curves, their plot, and a plain overfitting verdict."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

METRICS = ("loss", "accuracy", "val_loss", "val_accuracy")
GAP_LIMIT = 0.10  # train accuracy above validation accuracy by more than this: memorising
LOSS_RISE_LIMIT = 1.25  # final validation loss this many times its minimum: past the best epoch
WINDOW = 3  # the verdict reads the mean of the last epochs, so one noisy epoch does not decide it
VERDICT_RULE = (
    f"over the last {WINDOW} epochs (mean): underfitting if training accuracy is below halfway between "
    f"chance and 100 %; otherwise overfitting if the train-validation accuracy gap exceeds {GAP_LIMIT:.2f} "
    f"or the validation loss exceeds {LOSS_RISE_LIMIT}x its minimum; otherwise fine"
)


def merge_phases(phases: list) -> list:
    """Flatten Keras ``History.history`` dicts of consecutive phases into numbered epoch rows."""
    rows = []
    for phase, history in phases:
        epochs = len(history.get("loss", []))
        for i in range(epochs):
            row = {"epoch": len(rows) + 1, "phase": phase}
            row.update({m: float(history[m][i]) for m in METRICS if m in history})
            rows.append(row)
    return rows


def overfitting_report(rows: list, num_classes: int) -> dict:
    """Return the epoch of minimum validation loss, the final gap and a verdict with its rule."""
    if not rows or "val_loss" not in rows[0]:
        return {"verdict": "unknown", "rule": VERDICT_RULE, "min_val_loss_epoch": None,
                "final_gap": None, "reason": "no validation history"}
    val_loss = np.array([r["val_loss"] for r in rows])
    best = int(np.argmin(val_loss))
    last = rows[-1]
    gap = last["accuracy"] - last["val_accuracy"]
    recent = rows[-WINDOW:]
    train_acc = float(np.mean([r["accuracy"] for r in recent]))
    recent_gap = float(np.mean([r["accuracy"] - r["val_accuracy"] for r in recent]))
    loss_rise = float(np.mean([r["val_loss"] for r in recent]) / max(val_loss[best], 1e-12))
    chance = 1.0 / num_classes
    underfit_below = chance + (1.0 - chance) / 2
    detail = f"accuracy gap {recent_gap:.3f}, validation loss at {loss_rise:.2f}x its minimum"
    if train_acc < underfit_below:
        verdict, reason = "underfitting", f"training accuracy {train_acc:.3f} < {underfit_below:.3f}"
    elif recent_gap > GAP_LIMIT or loss_rise > LOSS_RISE_LIMIT:
        verdict, reason = "overfitting", detail
    else:
        verdict, reason = "fine", detail
    return {
        "verdict": verdict,
        "rule": VERDICT_RULE,
        "reason": reason,
        "min_val_loss_epoch": rows[best]["epoch"],
        "min_val_loss": float(val_loss[best]),
        "final_epoch": last["epoch"],
        "final_train_accuracy": last["accuracy"],
        "final_val_accuracy": last["val_accuracy"],
        "final_gap": float(gap),
        "final_loss_gap": float(last["val_loss"] - last["loss"]),
    }


def save_history(rows: list, json_path: str | Path, png_path: str | Path | None = None) -> None:
    """Write the epoch rows as JSON and, if asked, a two-panel loss/accuracy plot."""
    Path(json_path).write_text(json.dumps({"epochs": rows}, indent=2))
    if png_path is not None:
        plot_history(rows, png_path)


def plot_history(rows: list, png_path: str | Path) -> None:
    """Plot train and validation loss and accuracy per epoch, marking phases and the best epoch."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = [r["epoch"] for r in rows]
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, metric in zip(axes, ("loss", "accuracy")):
        ax.plot(epochs, [r.get(metric) for r in rows], marker="o", label=f"train {metric}")
        if rows and f"val_{metric}" in rows[0]:
            ax.plot(epochs, [r[f"val_{metric}"] for r in rows], marker="o", label=f"validation {metric}")
        for prev, row in zip(rows, rows[1:]):
            if row["phase"] != prev["phase"]:
                ax.axvline(row["epoch"] - 0.5, color="grey", linestyle=":", label=f"start of {row['phase']}")
        if rows and "val_loss" in rows[0]:
            best = min(rows, key=lambda r: r["val_loss"])["epoch"]
            ax.axvline(best, color="red", linestyle="--", alpha=0.5, label="min validation loss")
        ax.set_xlabel("epoch")
        ax.set_title(metric)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(png_path, dpi=90)
    plt.close(fig)
