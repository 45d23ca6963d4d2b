"""Read a run's train/validation curves the way a teacher would: what happened and what to try."""

from __future__ import annotations

import math

MIN_EPOCHS = 3  # fewer points than this cannot show a trend
RISE_TOLERANCE = 0.10  # validation loss 10% above its best counts as having turned up
ACCURACY_GAP = 0.15  # train accuracy this far above validation accuracy is memorisation
LOW_ACCURACY = 0.70  # a network below this on its own training images has not learned enough
IMPROVING = 0.02  # validation loss still falling by 2% per epoch at the end: stopped too soon


def _series(curves: list[dict], key: str) -> list[float] | None:
    values = [row.get(key) for row in curves]
    if any(v is None or not math.isfinite(float(v)) for v in values):
        return None
    return [float(v) for v in values]


def read_curves(curves: list[dict]) -> dict:
    """Return the verdict, the annotations (best epoch, turn-up epoch, gaps) and advice codes for one run."""
    reading = {
        "verdict": "unknown",
        "epochs": len(curves),
        "best_epoch": None,
        "turn_epoch": None,
        "final_gap": None,
        "accuracy_gap": None,
        "final_accuracy": None,
        "final_val_accuracy": None,
        "signals": [],
        "advice": [],
    }
    loss, val_loss = _series(curves, "loss"), _series(curves, "val_loss")
    accuracy, val_accuracy = _series(curves, "accuracy"), _series(curves, "val_accuracy")
    if len(curves) < MIN_EPOCHS:
        reading["verdict"] = "too_short"
        reading["advice"] = ["more_epochs"]
        return reading
    if loss is None or val_loss is None:
        return reading
    best = min(range(len(val_loss)), key=val_loss.__getitem__)
    reading["best_epoch"] = best + 1
    reading["final_gap"] = val_loss[-1] - loss[-1]
    for epoch in range(best + 1, len(val_loss)):
        if val_loss[epoch] > val_loss[best] * (1 + RISE_TOLERANCE):
            reading["turn_epoch"] = epoch + 1
            break
    if accuracy is not None and val_accuracy is not None:
        reading["final_accuracy"] = accuracy[-1]
        reading["final_val_accuracy"] = val_accuracy[-1]
        reading["accuracy_gap"] = accuracy[-1] - val_accuracy[-1]

    signals = reading["signals"]
    if reading["turn_epoch"] is not None:
        signals.append("val_loss_rises")
    early_gap = val_loss[best] - loss[best]
    if reading["final_gap"] > max(0.1, 2 * abs(early_gap)) and reading["final_gap"] > 0:
        signals.append("gap_grows")
    if reading["accuracy_gap"] is not None and reading["accuracy_gap"] > ACCURACY_GAP:
        signals.append("accuracy_gap")
    low = reading["final_accuracy"] is not None and reading["final_accuracy"] < LOW_ACCURACY
    if low:
        signals.append("train_accuracy_low")
    if val_loss[-1] < val_loss[-2] * (1 - IMPROVING) and best == len(val_loss) - 1:
        signals.append("still_improving")

    if "val_loss_rises" in signals or "accuracy_gap" in signals:
        reading["verdict"] = "overfitting"
        reading["advice"] = ["early_stopping", "augmentation", "dropout", "more_data"]
    elif low:
        reading["verdict"] = "underfitting"
        reading["advice"] = ["more_epochs", "bigger_model", "check_labels"]
    else:
        reading["verdict"] = "fine"
        reading["advice"] = ["more_epochs"] if "still_improving" in signals else ["keep"]
    return reading
