"""Read a run's train/validation curves the way a teacher would: what happened and what to try.

Every verdict is read from the curves themselves, so it never contradicts the chart drawn next to it:
overfitting needs the validation loss above the training loss at the end *and* either a validation
loss that rose while the training loss kept falling, or a clear accuracy gap.
"""

from __future__ import annotations

import math

MIN_EPOCHS = 3  # fewer points than this cannot show a trend
RISE_TOLERANCE = 0.10  # validation loss 10% above its best counts as having turned up
ACCURACY_GAP = 0.15  # train accuracy this far above validation accuracy is memorisation
LOW_ACCURACY = 0.70  # a network below this on its own training images has not learned enough
IMPROVING = 0.02  # validation loss still falling by 2% per epoch at the end: stopped too soon
WINDOW = 3  # the accuracy gap is the mean of the last epochs, so one noisy epoch does not decide it


def _series(curves: list[dict], key: str) -> list[float] | None:
    values = [row.get(key) for row in curves]
    if any(v is None or not math.isfinite(float(v)) for v in values):
        return None
    return [float(v) for v in values]


def _turn_epoch(loss: list[float], val_loss: list[float], best: int) -> int | None:
    """Return the first epoch (1-based) after the best where validation loss rose while training loss fell."""
    limit = val_loss[best] * (1 + RISE_TOLERANCE)
    for epoch in range(best + 1, len(val_loss)):
        if val_loss[epoch] > limit and loss[epoch] < loss[best]:
            return epoch + 1
    return None


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
    final_gap = val_loss[-1] - loss[-1]
    reading["final_gap"] = final_gap
    reading["turn_epoch"] = _turn_epoch(loss, val_loss, best)
    if accuracy is not None and val_accuracy is not None:
        recent = range(max(0, len(curves) - WINDOW), len(curves))
        reading["final_accuracy"] = accuracy[-1]
        reading["final_val_accuracy"] = val_accuracy[-1]
        reading["accuracy_gap"] = sum(accuracy[i] - val_accuracy[i] for i in recent) / len(recent)

    signals = reading["signals"]
    # Still up at the last epoch, with training loss below its value at the best epoch (not a one-epoch
    # blip) and above the training loss: a rise that stays below the training loss is not memorising.
    rose = (
        final_gap > 0
        and reading["turn_epoch"] is not None
        and val_loss[-1] > val_loss[best] * (1 + RISE_TOLERANCE)
        and loss[-1] < loss[best]
    )
    if rose:
        signals.append("val_loss_rises")
    early_gap = val_loss[best] - loss[best]
    if final_gap > 0 and final_gap > max(0.1, 2 * abs(early_gap)):
        signals.append("gap_grows")
    if final_gap <= 0:
        # Dropout and augmentation make the training photos harder than the validation ones.
        signals.append("val_below_train")
    elif reading["accuracy_gap"] is not None and reading["accuracy_gap"] > ACCURACY_GAP:
        signals.append("accuracy_gap")
    low = reading["final_accuracy"] is not None and reading["final_accuracy"] < LOW_ACCURACY
    if low:
        signals.append("train_accuracy_low")
    if best == len(val_loss) - 1 and val_loss[-1] < val_loss[-2] * (1 - IMPROVING):
        signals.append("still_improving")

    if final_gap > 0 and ("val_loss_rises" in signals or "accuracy_gap" in signals):
        reading["verdict"] = "overfitting"
        advice = ["early_stopping"] if "val_loss_rises" in signals else []
        reading["advice"] = advice + ["augmentation", "dropout", "more_data"]
    elif low:
        reading["verdict"] = "underfitting"
        reading["advice"] = (["more_epochs"] if "still_improving" in signals else []) + ["bigger_model", "check_labels"]
    else:
        reading["verdict"] = "fine"
        reading["advice"] = ["more_epochs"] if "still_improving" in signals else ["keep"]
    return reading
