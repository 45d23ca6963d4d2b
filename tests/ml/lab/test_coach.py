"""The overfitting coach reads each run's own curves, so its verdict never contradicts the chart."""

import pytest

from ml.lab import coach


def _curves(loss, val_loss, accuracy, val_accuracy):
    return [
        {"loss": a, "val_loss": b, "accuracy": c, "val_accuracy": d}
        for a, b, c, d in zip(loss, val_loss, accuracy, val_accuracy, strict=True)
    ]


# Validation loss below training loss all along (dropout and augmentation at work); it drifts up a
# little after epoch 3 while the training loss keeps falling — the run the coach once called overfitting.
VAL_BELOW_TRAIN = _curves(
    [0.9, 0.8, 0.7, 0.65, 0.6, 0.58],
    [0.5, 0.35, 0.3, 0.36, 0.38, 0.4],
    [0.6, 0.7, 0.75, 0.78, 0.8, 0.81],
    [0.8, 0.86, 0.88, 0.87, 0.86, 0.86],
)
# Both losses jump together when fine-tuning starts (epoch 4): training did not keep falling.
BOTH_JUMP = _curves(
    [1.0, 0.6, 0.4, 0.6, 0.55, 0.5],
    [1.0, 0.65, 0.45, 0.6, 0.56, 0.52],
    [0.5, 0.75, 0.85, 0.8, 0.82, 0.84],
    [0.5, 0.72, 0.82, 0.78, 0.8, 0.82],
)
# Validation loss turns up after epoch 4 while training loss keeps falling.
TURNS_UP = _curves(
    [1.0, 0.7, 0.5, 0.35, 0.25, 0.15, 0.1, 0.05],
    [1.0, 0.8, 0.65, 0.6, 0.7, 0.85, 1.0, 1.2],
    [0.5, 0.7, 0.8, 0.88, 0.93, 0.97, 0.99, 1.0],
    [0.5, 0.62, 0.7, 0.72, 0.7, 0.68, 0.66, 0.65],
)
# Validation loss keeps falling slowly but training accuracy runs far ahead of validation accuracy.
ACCURACY_GAP = _curves(
    [0.8, 0.5, 0.3, 0.2, 0.1],
    [0.85, 0.6, 0.5, 0.45, 0.44],
    [0.6, 0.8, 0.9, 0.97, 0.99],
    [0.55, 0.65, 0.7, 0.72, 0.73],
)
# Both losses stay high and close: the network has not learned enough.
STUCK = _curves(
    [1.1, 1.05, 1.0, 0.98, 0.97, 0.96],
    [1.12, 1.07, 1.02, 1.0, 0.99, 0.98],
    [0.4, 0.45, 0.48, 0.5, 0.52, 0.53],
    [0.4, 0.44, 0.47, 0.49, 0.5, 0.51],
)
# Both fall together and validation is still falling at the last epoch.
STILL_FALLING = _curves(
    [1.0, 0.6, 0.4, 0.3, 0.25, 0.2],
    [1.0, 0.65, 0.45, 0.36, 0.31, 0.27],
    [0.5, 0.75, 0.85, 0.9, 0.92, 0.93],
    [0.5, 0.72, 0.82, 0.86, 0.88, 0.89],
)


def test_validation_loss_below_training_loss_is_not_overfitting():
    """A run whose validation loss stays below its training loss is never called overfitting."""
    reading = coach.read_curves(VAL_BELOW_TRAIN)
    assert reading["verdict"] == "fine"
    assert "val_below_train" in reading["signals"]
    assert "val_loss_rises" not in reading["signals"]
    assert "early_stopping" not in reading["advice"]


def test_a_rise_shared_by_the_training_loss_is_not_a_turn():
    """Validation loss rising together with the training loss (a new phase) is not overfitting."""
    reading = coach.read_curves(BOTH_JUMP)
    assert reading["turn_epoch"] is None
    assert reading["verdict"] != "overfitting"


def test_turn_up_while_training_loss_falls_is_overfitting_with_early_stopping():
    """The classic picture: a turn-up epoch is marked and early stopping comes first."""
    reading = coach.read_curves(TURNS_UP)
    assert reading["verdict"] == "overfitting"
    assert (reading["best_epoch"], reading["turn_epoch"]) == (4, 5)
    assert reading["advice"][0] == "early_stopping"


def test_accuracy_gap_alone_is_overfitting_without_early_stopping():
    """Memorising without a validation turn-up: the advice does not claim a best epoch to stop at."""
    reading = coach.read_curves(ACCURACY_GAP)
    assert reading["verdict"] == "overfitting"
    assert "accuracy_gap" in reading["signals"] and "val_loss_rises" not in reading["signals"]
    assert "early_stopping" not in reading["advice"]


@pytest.mark.parametrize(
    "curves,verdict,advice",
    [
        (TURNS_UP, "overfitting", "early_stopping"),
        (STUCK, "underfitting", "bigger_model"),
        (STILL_FALLING, "fine", "more_epochs"),
        (VAL_BELOW_TRAIN, "fine", "keep"),
        (STILL_FALLING[:2], "too_short", "more_epochs"),
    ],
)
def test_each_run_gets_the_verdict_and_advice_of_its_curves(curves, verdict, advice):
    """Different curves get different verdicts and advice, not one reading for every run."""
    reading = coach.read_curves(curves)
    assert reading["verdict"] == verdict
    assert advice in reading["advice"]


# The signals each run's curves hold, read off the numbers above by hand.
EXPECTED_SIGNALS = {
    "val-below-train": (VAL_BELOW_TRAIN, {"val_below_train"}),
    "both-jump": (BOTH_JUMP, set()),
    "turns-up": (TURNS_UP, {"val_loss_rises", "gap_grows", "accuracy_gap"}),
    "accuracy-gap": (ACCURACY_GAP, {"accuracy_gap", "still_improving"}),
    "stuck": (STUCK, {"train_accuracy_low"}),
    "still-falling": (STILL_FALLING, {"still_improving"}),
}


def _claim_holds(signal: str, curves: list[dict], reading: dict) -> bool:
    """Return whether the sentence a signal shows is true of the curves."""
    loss, val_loss = [row["loss"] for row in curves], [row["val_loss"] for row in curves]
    accuracy, val_accuracy = [row["accuracy"] for row in curves], [row["val_accuracy"] for row in curves]
    best = reading["best_epoch"] - 1
    if signal == "val_loss_rises":  # "went up after its best epoch while the training loss kept falling"
        turn = reading["turn_epoch"] - 1
        return turn > best and val_loss[turn] > val_loss[best] and loss[turn] < loss[best] and loss[-1] < loss[best]
    if signal == "gap_grows":  # "the gap between validation and training loss grew"
        return val_loss[-1] - loss[-1] > max(0.0, val_loss[best] - loss[best])
    if signal == "val_below_train":
        return val_loss[-1] <= loss[-1]
    if signal == "accuracy_gap":  # "training accuracy is much higher than validation accuracy"
        return sum(accuracy[-3:]) / 3 - sum(val_accuracy[-3:]) / 3 > coach.ACCURACY_GAP
    if signal == "train_accuracy_low":
        return accuracy[-1] < coach.LOW_ACCURACY
    if signal == "still_improving":  # "the validation loss was still falling at the last epoch"
        return best == len(curves) - 1 and val_loss[-1] < val_loss[-2]
    raise AssertionError(f"a signal this test does not know: {signal}")


@pytest.mark.parametrize("case", list(EXPECTED_SIGNALS))
def test_signals_only_claim_what_the_curves_show(case):
    """Each run shows exactly the signals its curves hold, and each signal's sentence is true of those curves."""
    curves, expected = EXPECTED_SIGNALS[case]
    reading = coach.read_curves(curves)
    assert set(reading["signals"]) == expected
    untrue = [signal for signal in reading["signals"] if not _claim_holds(signal, curves, reading)]
    assert not untrue, untrue
    # Advice and verdict follow from the signals: more epochs only while still improving; overfitting only
    # with the validation loss above the training loss at the end.
    assert "more_epochs" not in reading["advice"] or "still_improving" in reading["signals"]
    assert reading["verdict"] != "overfitting" or curves[-1]["val_loss"] > curves[-1]["loss"]
